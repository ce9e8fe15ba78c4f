package coord

import (
	"bytes"
	"context"
	"errors"

	"github.com/kvtool/kv/pkg/kv"
)

// Condition is what Wait waits for: by default that the key has a live
// value; with Value set, that its value is exactly Value; with Absent,
// that it has none (never written, deleted or expired).
type Condition struct {
	Absent bool
	Value  []byte // compared when not nil
}

// Holds reports whether the condition holds for a key whose value is
// value (found is false when it has none).
func (c Condition) Holds(value []byte, found bool) bool {
	switch {
	case c.Absent:
		return !found
	case c.Value != nil:
		return found && bytes.Equal(value, c.Value)
	}
	return found
}

// Wait returns when cond holds for key, with the key's entry (the zero
// Entry when the condition is its absence), or ctx's error when ctx ends
// first. The store is read at every change of the data directory, at
// every poll interval, and when the key's value expires; no lock is held
// between reads.
func Wait(ctx context.Context, src Source, key []byte, cond Condition) (kv.Entry, error) {
	wk := newWaker(src.Dir, src.Poll, src.pollOnly)
	defer wk.close()
	for {
		e, found, err := readKey(src, key)
		if err != nil && !errors.Is(err, kv.ErrLocked) {
			return kv.Entry{}, err
		}
		if err == nil && cond.Holds(e.Value, found) {
			if !found {
				return kv.Entry{}, nil
			}
			return e, nil
		}
		if err := wk.wait(ctx, e.ExpiresAt); err != nil {
			return kv.Entry{}, err
		}
	}
}

func readKey(src Source, key []byte) (kv.Entry, bool, error) {
	db, err := src.open()
	if err != nil {
		return kv.Entry{}, false, err
	}
	defer db.Close()
	e, err := db.GetEntry(key)
	if errors.Is(err, kv.ErrNotFound) {
		return kv.Entry{}, false, nil
	}
	return e, err == nil, err
}
