package sstable

import "sync/atomic"

// IndexBudget bounds the memory that the lookup indexes of a set of
// readers take together (the prefix index and key index a long-lived
// reader builds after prefixIndexAfter lookups). A reader whose index
// does not fit searches its blocks as a short-lived reader does: the
// answers are the same, only slower. Safe for concurrent use.
type IndexBudget struct {
	left atomic.Int64
	used atomic.Int64
}

// NewIndexBudget returns a budget of n bytes; n ≤ 0 allows no index.
func NewIndexBudget(n int64) *IndexBudget {
	b := &IndexBudget{}
	b.left.Store(max(n, 0))
	return b
}

// Used reports the bytes the indexes charged to b take now.
func (b *IndexBudget) Used() int64 { return b.used.Load() }

// take charges n bytes to b, or reports false when they do not fit.
func (b *IndexBudget) take(n int64) bool {
	for {
		left := b.left.Load()
		if n > left {
			return false
		}
		if b.left.CompareAndSwap(left, left-n) {
			b.used.Add(n)
			return true
		}
	}
}

// give returns n bytes taken before.
func (b *IndexBudget) give(n int64) {
	b.left.Add(n)
	b.used.Add(-n)
}

// SetIndexBudget charges the lookup indexes this reader builds to b; an
// index that does not fit is not built. Call it before the reader's first
// lookup. Close gives the bytes back. Without a budget a reader builds its
// indexes whatever their size, up to the per-table bound of the key index.
func (r *Reader) SetIndexBudget(b *IndexBudget) { r.budget = b }
