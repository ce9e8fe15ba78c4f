package cmd

import (
	"fmt"

	"github.com/kvtool/kv/pkg/kv"
)

// checkKeys refuses, as usage errors (exit 2), KEY arguments that no store
// can hold: empty, or above the size limit. Commands check their KEY
// arguments before they open the store, so that a usage error never
// creates a data directory, and so that kv get "" is refused like
// kv set "" rather than reported as a missing key.
func checkKeys(keys ...string) error {
	for _, k := range keys {
		switch {
		case k == "":
			return usageError{kv.ErrEmptyKey}
		case len(k) > kv.MaxKeySize:
			return usageError{fmt.Errorf("%w: %d bytes, the limit is %d", kv.ErrKeyTooLarge, len(k), kv.MaxKeySize)}
		}
	}
	return nil
}
