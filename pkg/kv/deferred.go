package kv

import (
	"fmt"
	"sync"

	"github.com/kvtool/kv/pkg/wal"
)

// applyDeferred is Apply for an unsynced handle. The caller holds both
// locks (lockWriter); applyDeferred releases them, either at once or, when
// a table must be written, from a goroutine that writes it (Go's mutexes
// may be unlocked by another goroutine than the one that locked them). A
// bulk loader thus prepares, copies and sorts its next batch while this
// one is written, and the two share the cores. Every other call takes
// db.mu, so it waits for the table and sees it, and the filesystem
// operations happen in the same order, with the same bytes, as a
// synchronous Apply's. Only unsynced handles defer: their Apply promises
// visibility, not durability.
//
// sorted is the batch sorted and in memory of its own (ownBatch) when the
// batch becomes a table, else nil.
func (db *DB) applyDeferred(ops []wal.Op, sorted *ownedBatch) error {
	var work func() error
	what, holdsBatch := "flush after an accepted write", false
	if sorted != nil {
		work = func() error {
			if err := db.ingestSorted(sorted.ops); err != nil {
				return err
			}
			db.putSpare(sorted)
			return nil
		}
		what, holdsBatch = "write of an accepted batch", true
	} else {
		if err := db.appendLocked(ops); err != nil || db.walEnd <= db.opts.FlushThreshold {
			db.unlockWriter()
			return err
		}
		work = func() error { return db.putOffFlush(db.flushLocked()) }
	}
	go func() {
		defer db.unlockWriter()
		defer func() {
			// A panic here could not reach the caller, whose Apply has
			// returned: it breaks the handle instead of the process.
			if r := recover(); r != nil {
				db.deferredErr, db.lost = fmt.Errorf("%s: panic: %v", what, r), holdsBatch
				_ = db.fail(db.deferredErr)
			}
		}()
		if err := work(); err != nil {
			db.deferredErr, db.lost = fmt.Errorf("%s: %w", what, err), holdsBatch
		}
	}()
	return nil
}

// ownedBatch is an ingest-sized batch sorted (sortBatch) and copied into
// memory of its own.
type ownedBatch struct {
	ops []wal.Op
	// arena holds the keys and values that ops point into.
	arena []byte
}

// ownBatch sorts ops and copies them, in key order, into memory of their
// own: spare's where it is large enough. Copied in key order, the table
// writer then reads the copy from start to end instead of all over it.
func ownBatch(ops []wal.Op, spare *ownedBatch) *ownedBatch {
	if spare == nil {
		spare = &ownedBatch{}
	}
	dst := spare.ops[:0]
	if cap(dst)/4 > len(ops) {
		dst = nil // see arena below
	}
	sorted := sortBatchInto(dst, ops)
	// n bytes in all; the first half of the operations take off of them.
	half, n, off := len(sorted)/2, 0, 0
	for i, op := range sorted {
		if i == half {
			off = n
		}
		n += len(op.Key) + len(op.Value)
	}
	arena := spare.arena[:0]
	if cap(arena) < n || cap(arena)/4 > n {
		// Too small, or far larger than needed: a handle that once
		// took a huge batch does not keep its memory for small ones.
		arena = make([]byte, 0, n)
	}
	arena = arena[:n]
	if n < parallelCopyMin {
		copyInto(arena, sorted)
	} else {
		// The reads are all over the caller's memory, cache misses most
		// of them: two goroutines wait for them side by side, while the
		// table of the batch before may be using the other core.
		var wg sync.WaitGroup
		wg.Go(func() { copyInto(arena[off:], sorted[half:]) })
		copyInto(arena[:off], sorted[:half])
		wg.Wait()
	}
	spare.ops, spare.arena = sorted, arena
	return spare
}

// parallelCopyMin is the batch size in bytes from which ownBatch copies
// in two goroutines.
const parallelCopyMin = 1 << 20

// copyInto copies the keys and values of ops into arena, which is exactly
// large enough, one after the other, and points ops at the copies.
func copyInto(arena []byte, ops []wal.Op) {
	off := 0
	for i, op := range ops {
		k := copy(arena[off:], op.Key)
		ops[i].Key = arena[off : off+k : off+k]
		off += k
		if op.Value != nil {
			v := copy(arena[off:], op.Value)
			ops[i].Value = arena[off : off+v : off+v]
			off += v
		}
	}
}

// takeSpare returns the memory of the last batch an unsynced Apply wrote
// as a table, or nil. A bulk load thus copies each batch into memory it
// has used before instead of fresh memory and its page faults (the sort's
// own scratch memory is still fresh each time). Sync and Close drop it.
func (db *DB) takeSpare() *ownedBatch {
	db.spareMu.Lock()
	defer db.spareMu.Unlock()
	b := db.spare
	db.spare = nil
	return b
}

// putSpare keeps b, whose table is written, for the next batch.
func (db *DB) putSpare(b *ownedBatch) {
	// Entries past the next batch's end must not keep an arena that
	// batch replaces alive.
	clear(b.ops)
	db.spareMu.Lock()
	defer db.spareMu.Unlock()
	db.spare = b
}
