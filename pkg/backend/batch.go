package backend

import "time"

// Op is one write of a Batch: a set (expiring at ExpiresAt when Expires)
// or, with Delete, a removal.
type Op struct {
	Delete    bool
	Key       []byte
	Value     []byte
	Expires   bool
	ExpiresAt time.Time
}

// Batch is a list of writes applied all or nothing. Keys and values are
// the caller's, not copied: leave them unchanged until Apply returns.
type Batch struct {
	ops  []Op
	size int
}

// Set adds a write of value under key, with no expiry.
func (b *Batch) Set(key, value []byte) { b.add(Op{Key: key, Value: value}) }

// SetExpiring adds a write of value under key that expires at expiresAt
// (see Txn.SetExpiring).
func (b *Batch) SetExpiring(key, value []byte, expiresAt time.Time) {
	b.add(Op{Key: key, Value: value, Expires: true, ExpiresAt: expiresAt})
}

// Delete adds a removal of key.
func (b *Batch) Delete(key []byte) { b.add(Op{Delete: true, Key: key}) }

func (b *Batch) add(op Op) {
	b.ops = append(b.ops, op)
	b.size += len(op.Key) + len(op.Value) + 16
}

// Len is the number of writes.
func (b *Batch) Len() int { return len(b.ops) }

// Size estimates the batch's size in bytes.
func (b *Batch) Size() int { return b.size }

// Ops returns the writes, in the order added.
func (b *Batch) Ops() []Op { return b.ops }

// Reset empties the batch for reuse.
func (b *Batch) Reset() { b.ops, b.size = b.ops[:0], 0 }

// Grow makes room for n more writes.
func (b *Batch) Grow(n int) {
	if n > cap(b.ops)-len(b.ops) {
		ops := make([]Op, len(b.ops), len(b.ops)+n)
		copy(ops, b.ops)
		b.ops = ops
	}
}
