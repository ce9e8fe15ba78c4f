package kv

import (
	"github.com/kvtool/kv/pkg/wal"
)

// Change is one committed batch as DB.Changes replays it: its revision
// and its operations, in the batch's order. Op.Rev is Rev; keys and
// values are valid only during the call.
type Change struct {
	Rev uint64
	Ops []wal.Op
}

// Changes calls fn with every batch committed at revision from or later,
// oldest first, as far as the handle has read or written them. Only the
// log keeps every batch: once a flush or compaction moved the batches
// from revision from on into tables (which keep the last change of each
// key), Changes returns a *CompactedError naming the oldest revision the
// log holds, and calls fn for none. A large batch written as a table of
// its own (Options.FlushThreshold) is never in the log: a reader that
// asks for its revision is told it is compacted.
func (db *DB) Changes(from uint64, fn func(Change) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.checkOpen(); err != nil {
		return err
	}
	if from >= db.nextSeq {
		return nil
	}
	if from < db.walFirst {
		return &CompactedError{Rev: from, Oldest: db.walFirst}
	}
	var ops []wal.Op
	for i, payload := range db.mem.records {
		seq := db.mem.seqs[i]
		if seq < from {
			continue
		}
		ops = ops[:0]
		for op := range wal.PayloadOps(payload) {
			op.Rev = seq
			ops = append(ops, op)
		}
		if err := fn(Change{Rev: seq, Ops: ops}); err != nil {
			return err
		}
	}
	return nil
}
