package sstable

import (
	"bytes"
	"encoding/binary"

	"github.com/kvtool/kv/pkg/entry"
)

// A sequential iterator over a mapped table hands the reader's dropPages
// what it has passed in pieces of at least dropChunk bytes, starting at
// multiples of minPage (the smallest page size; DropPages keeps to the
// real one).
const (
	dropChunk = 1 << 20
	minPage   = 4096
)

// Iterator walks a table's entries in key order.
type Iterator struct {
	r     *Reader
	block int
	body  []byte
	pos   int
	base  int64
	blen  uint64 // the current block's length, its checksum included
	// dropFrom is where the bytes this iterator has passed and not yet
	// handed to the reader's dropPages start (see load).
	dropFrom uint64
	// index drops the index pages the scan has passed.
	index indexDropper
	// hold, when set, is handed each drop instead of running it
	// (DeferDrops).
	hold    func(drop func())
	started bool
	op      entry.Op
	err     error
}

// NewIterator returns an iterator positioned before the first entry.
func (r *Reader) NewIterator() *Iterator {
	return &Iterator{r: r, block: -1}
}

// DeferDrops makes the iterator hand hold each drop of the pages it has
// passed, as a function to call later, instead of dropping them at once:
// the entries it returned point into those pages, and a consumer that
// uses them after the iterator moved on (another goroutine, a few
// entries behind) would fault the pages back in, to stay. hold calls
// the function once no entry it returned before the drop is in use.
// Without a reader's dropPages (see SetDropPages), hold is never called.
func (it *Iterator) DeferDrops(hold func(drop func())) { it.hold = hold }

// SeekGE positions the iterator so that the next call to Next yields the
// first entry whose key is >= key.
func (it *Iterator) SeekGE(key []byte) {
	i, err := it.r.seekBlock(key)
	if err != nil {
		it.err = err
		return
	}
	if !it.load(i) {
		return
	}
	for {
		save := it.pos
		if !it.decode() {
			return
		}
		if bytes.Compare(it.op.Key, key) >= 0 {
			it.pos = save
			return
		}
	}
}

func (it *Iterator) load(i int) bool {
	if it.r.dropPages != nil && it.body != nil && i == it.block+1 {
		// A scan moving on: the blocks it has left need not stay
		// resident. They go a megabyte at a time, from a page boundary
		// (the mapping starts on one), so that whole pages go. The
		// block being left stays: its last entry is still in use by a
		// caller that looks one entry ahead (a merge), and touching a
		// dropped page maps it, and its neighbours, back for good.
		if dropRun(it.r.data, &it.dropFrom, uint64(it.base), 0, dropChunk, it.dropData) {
			it.index.passed(it.r, i, it.r.dropPages)
		}
	}
	it.block = i
	it.body, it.pos = nil, 0
	if i >= int(it.r.f.blocks) {
		return false
	}
	body, h, err := it.r.block(i)
	if err != nil {
		it.err = err
		return false
	}
	it.body, it.base, it.blen = body, int64(h.offset), h.len
	if !it.started {
		it.started = true
		it.dropFrom = h.offset - h.offset%minPage
	}
	return true
}

// dropData drops passed, the data blocks a scan has left, or hands the
// drop to hold (DeferDrops).
func (it *Iterator) dropData(passed []byte) {
	drop := it.r.dropPages
	if it.hold != nil {
		it.hold(func() { drop(passed) })
		return
	}
	drop(passed)
}

// decode reads the entry at pos within the current block.
func (it *Iterator) decode() bool {
	if it.pos >= len(it.body) {
		if !it.load(it.block + 1) {
			return false
		}
		if len(it.body) == 0 {
			it.err = corrupt(it.base, "empty data block")
			return false
		}
	}
	op, rest, err := entry.DecodeOp(it.body[it.pos:])
	if err != nil {
		it.err = corrupt(it.base+int64(it.pos), "entry: %v", err)
		return false
	}
	it.op = op
	it.pos = len(it.body) - len(rest)
	return true
}

// Next advances to the next entry and reports whether there is one.
func (it *Iterator) Next() bool {
	if it.err != nil {
		return false
	}
	return it.decode()
}

// Op returns the current entry; its slices alias the table's bytes.
func (it *Iterator) Op() entry.Op { return it.op }

// Err returns the first error met (a *CorruptError for damage).
func (it *Iterator) Err() error { return it.err }

// indexDropper drops the pages of a mapped table's index that a walk of
// its blocks in order has passed: each block's index entry and its
// offset, in two regions that grow with the table (a large table's index
// is some megabytes), as the blocks themselves are dropped. Entries a
// scan returned never point into the index, so these drops need no
// deferring.
type indexDropper struct {
	started          bool
	entries, offsets uint64 // where the bytes not yet dropped start
}

// passed drops what comes before block i's index entry and offset, each
// from the start of its region; drop is the reader's dropPages.
func (d *indexDropper) passed(r *Reader, i int, drop func([]byte)) {
	if r.data == nil || i >= int(r.f.blocks) {
		return
	}
	b, err := r.peekMeta(r.ixLen+uint64(i)*4, 4)
	if err != nil {
		return
	}
	entriesStart, offsetsStart := uint64(r.metaOff), uint64(r.metaOff)+r.ixLen
	if !d.started {
		d.started, d.entries, d.offsets = true, entriesStart, offsetsStart
	}
	// Unchecked: a damaged offset only moves what is dropped, and the
	// block's own read checks it.
	entryAt := entriesStart + min(uint64(binary.LittleEndian.Uint32(b)), r.ixLen)
	offsetAt := offsetsStart + uint64(i)*4
	dropRun(r.data, &d.entries, entryAt, entriesStart, minPage, drop)
	dropRun(r.data, &d.offsets, offsetAt, offsetsStart, minPage, drop)
}

// dropRun drops data[*from:to], the bytes a walk has passed, once they
// span least bytes, and reports whether it did. It then moves *from to
// the page that to ends in, which holds bytes not yet passed (only
// whole pages are dropped), but never before the region's start.
func dropRun(data []byte, from *uint64, to, regionStart, least uint64, drop func([]byte)) bool {
	if to < *from+least {
		return false
	}
	drop(data[*from:to])
	*from = max(to-to%minPage, regionStart)
	return true
}
