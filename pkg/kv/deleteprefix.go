package kv

import (
	"bytes"

	"github.com/kvtool/kv/pkg/wal"
)

// DeletePrefix deletes every live key that starts with prefix (every key,
// for an empty prefix) as one atomic batch, and returns how many it
// deleted. Memory stays bounded whatever their number: a batch up to
// about Options.FlushThreshold goes to the log like any other; a larger
// one is written as a table of its deletions while the keys are read,
// made live by one manifest write, as a large batch is (DB.Changes then
// reports its revision as compacted).
func (db *DB) DeletePrefix(prefix []byte) (int, error) {
	db.lockWriter()
	defer db.unlockWriter()
	if err := db.writable(); err != nil {
		return 0, err
	}
	var ops []wal.Op
	var size int64
	n, large := 0, false
	err := db.scanLocked(prefix, func(e Entry) error {
		n++
		size += int64(len(e.Key)) + 8
		if !large {
			ops = append(ops, wal.Op{Kind: wal.KindDelete, Key: bytes.Clone(e.Key)})
			if size > db.opts.FlushThreshold {
				large, ops = true, nil
			}
		}
		return nil
	})
	if err != nil || n == 0 {
		return 0, err
	}
	if !large {
		return n, db.applyLocked(ops)
	}
	// The deletions stream from the view into the new table: newer than
	// everything, they take the next revision, as an ingested batch does.
	rev := db.nextSeq
	db.nextSeq++
	mem := db.mem.sortAll()
	srcs := []iterator{&deletions{src: db.newIter(prefix), prefix: prefix, rev: rev, db: db}, &sliceIter{ops: mem}}
	return n, db.writeNewest(srcs, size)
}

// deletions yields a deletion, at revision rev, of every live key under
// prefix that src yields.
type deletions struct {
	src    *mergeIter
	prefix []byte
	rev    uint64
	db     *DB
	op     wal.Op
}

func (d *deletions) Next() bool {
	for d.src.Next() {
		op := d.src.Op()
		if !bytes.HasPrefix(op.Key, d.prefix) {
			return false
		}
		if d.db.live(op) {
			d.op = wal.Op{Kind: wal.KindDelete, Key: op.Key, Rev: d.rev}
			return true
		}
	}
	return false
}

func (d *deletions) Op() wal.Op { return d.op }

func (d *deletions) Err() error { return d.src.Err() }

// SeekGE is not used: a rewrite reads its sources from the start.
func (d *deletions) SeekGE(key []byte) { d.src.SeekGE(key) }
