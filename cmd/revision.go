package cmd

import (
	"errors"
	"fmt"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
)

// checkRev is the --if-rev condition of set and del: KEY's modification
// revision must be want, or, with want 0, KEY must have no live value.
// A failed condition is kv.ErrConditionFailed (exit 1).
func checkRev(tx backend.Txn, key []byte, want uint64) error {
	e, err := tx.GetEntry(key)
	switch {
	case errors.Is(err, kv.ErrNotFound):
		if want != 0 {
			return fmt.Errorf("%w: %q has no value (--if-rev %d)", kv.ErrConditionFailed, key, want)
		}
		return nil
	case err != nil:
		return err
	case want == 0:
		return fmt.Errorf("%w: %q has a value, at revision %d (--if-rev 0)", kv.ErrConditionFailed, key, e.Rev)
	case e.Rev != want:
		return fmt.Errorf("%w: %q is at revision %d, not %d", kv.ErrConditionFailed, key, e.Rev, want)
	}
	return nil
}
