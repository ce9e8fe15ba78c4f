package kv

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kvtool/kv/pkg/wal"
)

// Batch is a group of writes applied atomically: after any crash, all of
// them are present or none. Later operations on a key win over earlier
// ones. The batch copies nothing: keys and values must not be modified
// until Apply returns.
type Batch struct {
	ops  []wal.Op
	size int
}

// Set adds a write of value under key.
func (b *Batch) Set(key, value []byte) {
	b.add(wal.Op{Kind: wal.KindSet, Key: key, Value: value})
}

// SetExpiring adds a write of value under key that stops being visible at
// expiresAt. An expiry at or before the reader's clock (the zero time
// included) stores a value that has already expired: the key reads as
// absent, as after a delete. An expiry after MaxExpiry is recorded as
// MaxExpiry.
func (b *Batch) SetExpiring(key, value []byte, expiresAt time.Time) {
	b.add(wal.Op{Kind: wal.KindSetExpiring, Key: key, Value: value, ExpiresAt: expiryNanos(expiresAt)})
}

// MaxExpiry is the latest expiry a store records, 2262-04-11T23:47:16.854775807Z:
// the log and the tables keep expiries as Unix nanoseconds in a signed
// 64-bit integer (docs/FORMAT.md). A later expiry, such as the common
// "never" of 9999-12-31, is recorded as MaxExpiry and reads back as it.
var MaxExpiry = time.Unix(0, math.MaxInt64).UTC()

// minExpiry is the earliest expiry a store records; an earlier one (the
// zero time, year 1) is recorded as minExpiry, long expired either way.
var minExpiry = time.Unix(0, math.MinInt64)

// expiryNanos is t as Unix nanoseconds, saturated to the recorded range:
// time.Time.UnixNano wraps beyond it (9999-12-31 would land in 1816 and
// expire the value at once).
func expiryNanos(t time.Time) int64 {
	switch {
	case t.After(MaxExpiry):
		return math.MaxInt64
	case t.Before(minExpiry):
		return math.MinInt64
	}
	return t.UnixNano()
}

// Delete adds a removal of key.
func (b *Batch) Delete(key []byte) {
	b.add(wal.Op{Kind: wal.KindDelete, Key: key})
}

func (b *Batch) add(op wal.Op) {
	b.ops = append(b.ops, op)
	b.size += len(op.Key) + len(op.Value) + 16
}

// Grow makes room for n more operations, so that a caller who knows a
// batch's size saves the copies of growing it one operation at a time.
func (b *Batch) Grow(n int) { b.ops = slices.Grow(b.ops, n) }

// Len is the number of operations in the batch.
func (b *Batch) Len() int { return len(b.ops) }

// Size is an estimate of the batch's encoded size in bytes.
func (b *Batch) Size() int { return b.size }

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.ops, b.size = b.ops[:0], 0 }

func validate(op wal.Op) error {
	switch {
	case len(op.Key) == 0:
		return ErrEmptyKey
	case len(op.Key) > MaxKeySize:
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrKeyTooLarge, len(op.Key), MaxKeySize)
	case len(op.Value) > MaxValueSize:
		return fmt.Errorf("%w: %d bytes, the limit is %d", ErrValueTooLarge, len(op.Value), MaxValueSize)
	}
	return nil
}
