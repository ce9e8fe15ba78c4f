package kv

import (
	"github.com/kvtool/kv/pkg/sstable"
)

// flushLocked writes the memtable out as the newest table, starts a fresh
// log, then merges tables if they have piled up.
func (db *DB) flushLocked() error {
	ops := db.mem.sortAll()
	return db.writeNewest([]iterator{&sliceIter{ops: ops}}, sstable.Size(ops))
}

// writeNewest writes srcs as the newest table, of about size bytes (the
// table's exact size when srcs is one sorted batch: sstable.Size). When the
// merge policy would merge that table with the newest ones straight away,
// they are merged into it in the same rewrite, so the new data is written
// once instead of twice; further merges follow as usual.
func (db *DB) writeNewest(srcs []iterator, size int64) error {
	n := max(mergeRun(append([]int64{size}, db.tableSizes()...))-1, 0)
	for _, t := range db.tables[:n] {
		srcs = append(srcs, tableIter{Iterator: t.mapped().NewIterator(), db: db, num: t.num})
	}
	if err := db.rewrite(srcs, n, true, n == len(db.tables)); err != nil {
		return err
	}
	return db.maybeMerge()
}

// maybeMerge keeps the tables' sizes growing geometrically from newest to
// oldest: it merges the newest run of tables whose combined size is at
// least about mergeWidth-1 times the next one's (mergeRun). Afterwards
// each table is larger than 1/(mergeWidth-1) of all the newer ones
// together, so the sizes summed from the newest grow by more than a third
// at every table: a store of n bytes has at most log(n/s)/log(4/3)+1
// tables (s the newest one's size), and every byte is rewritten O(log n)
// times.
//
// A merged table can come out a few hundred bytes larger than its
// sources (the offsets in its index take wider varints), so one
// merge may call for another; the loop ends, as each merge leaves one
// table fewer.
func (db *DB) maybeMerge() error {
	for {
		n := mergeRun(db.tableSizes())
		if n < 2 {
			return nil
		}
		var its []iterator
		for _, t := range db.tables[:n] {
			its = append(its, tableIter{Iterator: t.mapped().NewIterator(), db: db, num: t.num})
		}
		if err := db.rewrite(its, n, false, n == len(db.tables)); err != nil {
			return err
		}
	}
}

// tableSizes lists the tables' sizes, newest first.
func (db *DB) tableSizes() []int64 {
	sizes := make([]int64, len(db.man.Tables))
	for i, t := range db.man.Tables {
		sizes[i] = t.Size
	}
	return sizes
}

// mergeWidth is how many tables of one size the merge policy lets pile up
// before it merges them: tables of equal batches merge as a counter in
// base mergeWidth does.
const mergeWidth = 4

// mergeRun is how many of the newest tables (sizes, newest first) the
// merge policy merges: the longest newest run whose combined size is at
// least mergeWidth-1 times the size of the table after it, less 1/65;
// 0 or 1 means none. The slack lets equal batches, whose tables differ by
// a few bytes of rounding, merge as equals: two tables of a batch each
// come to 352 bytes less than the one table of both.
//
// Merging four equal tables at a time rather than two rewrites each byte
// less often, for at most twice the tables between compactions, each of
// which a lookup passes with one filter probe (the simulated write
// amplification is in docs/FIGURES.md).
func mergeRun(sizes []int64) int {
	n := 0
	var sum int64
	for i := 0; i+1 < len(sizes); i++ {
		sum += sizes[i]
		if sum+sum/64 >= (mergeWidth-1)*sizes[i+1] {
			n = i + 2
		}
	}
	return n
}
