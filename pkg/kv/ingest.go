package kv

import (
	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/wal"
)

// ingest writes a large batch as a table of its own together with the
// memtable, atomically. The caller holds db.mu.
//
// The sorted batch goes into the memory of the last one (sorted), not
// fresh memory: written while the collector runs, a fresh page is first
// read by the write barrier, which maps the shared zero page, and then
// written, a copy-on-write fault that flushes the TLB of every other
// processor (docs/FIGURES.md).
func (db *DB) ingest(ops []wal.Op) error {
	dst := db.sorted
	if cap(dst)/4 > len(ops) {
		dst = nil // far larger than needed: let it go
	}
	sorted := sortBatchInto(dst, ops)
	defer func() {
		// The batch's keys and values are the caller's: not kept alive.
		clear(sorted)
		db.sorted = sorted[:0]
	}()
	return db.ingestSorted(sorted)
}

// ingestSorted is ingest for a batch that sortBatch has sorted.
func (db *DB) ingestSorted(sorted []wal.Op) error {
	// The batch takes a revision as a record would, though no log holds
	// it: the table does, and the next log starts above it.
	for i := range sorted {
		sorted[i].Rev = db.nextSeq
	}
	db.nextSeq++
	mem := db.mem.sortAll()
	size := sstable.Size(sorted)
	if len(mem) > 0 {
		// An estimate: keys in both are written once, and the one
		// table's offsets may take wider varints than the two tables'
		// would; mergeRun's slack is larger than either.
		size += sstable.Size(mem)
	}
	srcs := []iterator{&sliceIter{ops: sorted}, &sliceIter{ops: mem}}
	return db.writeNewest(srcs, size)
}
