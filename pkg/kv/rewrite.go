package kv

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

func tableName(num uint64) string { return manifest.TableName(num) }
func walName(num uint64) string   { return manifest.WALName(num) }

// rewrite is the one way the set of live files changes. It merges srcs
// (newest first) into at most one new table, which replaces the newest
// `replaced` tables; when newLog is set the memtable is among srcs and a
// fresh log replaces the current one. bottom says the output will be the
// oldest table, so tombstones and expired values can be dropped.
//
// Crash safety: the new table and log are written and synced under names
// no manifest mentions, so until the manifest is replaced they are
// leftovers; manifest.Write makes the switch atomic and durable; only then
// are the replaced files deleted. A crash at any step leaves either the old
// manifest with all its files, or the new one with all of its.
func (db *DB) rewrite(srcs []iterator, replaced int, newLog, bottom bool) error {
	db.openedAs = nil
	next := db.man.NextFile
	need := uint64(1) // the table, and the log if newLog
	if newLog {
		need++
	}
	if next-1 > manifest.MaxFileNum-need {
		// Not a failure of the device: the handle stays usable for reads.
		return fmt.Errorf("%s: %w; kv repair renumbers the store's files", db.path(manifest.FileName), manifest.ErrFileNumbersExhausted)
	}
	var newTables []manifest.Table
	var opened *table
	tnum := next
	next++
	size, written, err := db.writeTable(tnum, newMergeIter(srcs), bottom, db.rewriteCover(replaced, newLog, bottom))
	if err != nil {
		return db.fail(err)
	}
	if written {
		newTables = append(newTables, manifest.Table{Num: tnum, Size: size})
		if opened, err = db.openTable(tnum, size); err != nil {
			return db.fail(err)
		}
	}
	walNum := db.man.WAL
	if newLog {
		walNum = next
		next++
		if err := db.createWAL(walNum, db.nextSeq); err != nil {
			if opened != nil {
				opened.release()
			}
			return db.fail(err)
		}
	}
	newTables = append(newTables, db.man.Tables[replaced:]...)
	// Make the new files' directory entries durable before the manifest
	// names them, rather than rely on the filesystem ordering the
	// manifest's rename after their creation.
	if err := db.fs.SyncDir(db.dir); err != nil {
		if opened != nil {
			opened.release()
		}
		return db.fail(err)
	}
	man := &manifest.Manifest{WAL: walNum, NextFile: next, Tables: newTables}
	if err := manifest.Write(db.fs, db.dir, man); err != nil {
		if opened != nil {
			opened.release()
		}
		return db.fail(fmt.Errorf("write manifest: %w", err))
	}
	// The new state is durable; switch the handle over to it.
	oldLog := db.man.WAL
	old := db.tables[:replaced]
	rest := slices.Clone(db.tables[replaced:])
	db.tables = rest
	if opened != nil {
		db.tables = append([]*table{opened}, rest...)
	}
	db.man = man
	db.dirDurable = true // manifest.Write synced the directory
	// The replaced tables are released first: no longer among db.tables,
	// they would stay open if a step below failed. From here on the new
	// state is durable and the handle uses it, so nothing below fails the
	// rewrite: a file that could not be closed or removed is a leftover
	// the next writer removes (removeLeftovers), and the store is
	// consistent either way.
	for _, t := range old {
		_ = t.release()
		_ = db.removeFile(tableName(t.num))
	}
	if newLog {
		f, err := db.fs.OpenRW(db.path(walName(walNum)))
		if err != nil {
			return db.fail(err)
		}
		_ = db.walFile.Close()
		db.walFile, db.walEnd, db.walFirst = f, wal.HeaderSize, db.nextSeq
		db.mem = newMemtable()
		db.walOps = 0
		db.walSynced = true
		_ = db.removeFile(walName(oldLog))
	}
	// The removals are made durable: a replaced table that a power loss
	// kept would be taken for a live one by a Repair that has no manifest
	// to go by (docs/FORMAT.md §12.6). A failed sync is a failing device,
	// as any failed sync is: the handle stops, and the next writer's
	// removeLeftovers removes and syncs again.
	if len(old) > 0 || newLog {
		if err := db.fs.SyncDir(db.dir); err != nil {
			return db.fail(withPath("sync (after removing replaced files)", db.dir, err))
		}
	}
	return nil
}

func (db *DB) removeFile(name string) error {
	err := db.fs.Remove(db.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// fileWriter adapts a vfs.File to io.Writer. Every writebackEvery bytes
// it asks the system to start writing them to the device: a table is
// synced once complete, and without the hint the device would only then
// receive the whole file, while the writer waits. In a bulk load of 1M
// records the table syncs waited 205-250 ms without it, and 75-100 ms
// with it (the hints included).
type fileWriter struct {
	f   vfs.File
	off int64
	// hinted is where the bytes not yet handed to StartWriteback begin.
	hinted int64
}

const writebackEvery = 1 << 20

// writePiece is the largest single write of a table. The page cache keeps
// what one write brings in as one folio, and a memory-mapped read maps
// the whole folio it touches: written in one piece, a 10M-key table's
// index and filter became folios of up to 2 MiB, and a one-shot lookup's
// six touches mapped 4.3 MB of it (RSS). In 64 KiB pieces, the size the
// kernel maps around a fault anyway, the same lookup maps 0.45 MB.
const writePiece = 64 << 10

func (w *fileWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		piece := p[:min(len(p), writePiece)]
		n, err := w.f.WriteAt(piece, w.off)
		w.off += int64(n)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	if w.off-w.hinted >= writebackEvery {
		vfs.StartWriteback(w.f, w.hinted, w.off-w.hinted)
		w.hinted = w.off
	}
	return written, nil
}

// writeTable writes the merged stream as table num, recording cover c,
// and syncs it. It reports whether it wrote the table: with no entries
// and no cover there is nothing to record, and no file is left behind.
func (db *DB) writeTable(num uint64, it iterator, bottom bool, c cover) (int64, bool, error) {
	name := db.path(tableName(num))
	f, err := db.fs.Create(name)
	if err != nil {
		return 0, false, err
	}
	bw := bufio.NewWriterSize(&fileWriter{f: f}, 256<<10)
	tw := sstable.NewWriter(bw)
	err = tw.SetCover(c.lo, c.hi)
	var entries uint64
	ops := db.mergeAhead(it, bottom)
	for chunk := range ops.chunks {
		for _, op := range chunk {
			if err != nil {
				break
			}
			if err = tw.Add(op); err == nil {
				entries++
			}
		}
		ops.done(chunk, err != nil)
	}
	if err == nil {
		err = ops.err
	}
	var size int64
	write := entries > 0 || !c.none()
	if err == nil && write {
		size, err = tw.Finish()
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			err = f.Sync()
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil || !write {
		_ = db.fs.Remove(name)
	}
	if err != nil {
		return 0, false, withPath("write", name, err)
	}
	return size, write, nil
}

// aheadChunk is how many operations the merge hands over at a time.
const aheadChunk = 512

// mergeAhead runs the merge of a rewrite's sources in a goroutine of its
// own, a few chunks ahead of the table writer: merging (decoding and
// comparing the sources) and writing (encoding, hashing, checksumming)
// each take about half of a rewrite's CPU time, and here they share two
// cores. Only the writer touches the file, so the filesystem operations
// and the bytes written are the same as a single loop's.
type mergeAhead struct {
	chunks chan []wal.Op
	free   chan []wal.Op
	stop   chan struct{}
	// err is the iterator's error, readable once chunks is closed.
	err     error
	stopped bool
}

func (db *DB) mergeAhead(it iterator, bottom bool) *mergeAhead {
	const inFlight = 4
	m := &mergeAhead{
		chunks: make(chan []wal.Op, inFlight),
		free:   make(chan []wal.Op, inFlight+2),
		stop:   make(chan struct{}),
	}
	for range inFlight + 2 {
		m.free <- make([]wal.Op, 0, aheadChunk)
	}
	go func() {
		defer close(m.chunks)
		buf := <-m.free
		send := func() bool {
			select {
			case m.chunks <- buf:
			case <-m.stop:
				return false
			}
			select {
			case buf = <-m.free:
				return true
			case <-m.stop:
				return false
			}
		}
		for it.Next() {
			op := it.Op()
			if bottom && !db.live(op) {
				continue
			}
			if buf = append(buf, op); len(buf) == aheadChunk && !send() {
				return
			}
		}
		m.err = it.Err()
		if len(buf) > 0 {
			send()
		}
	}()
	return m
}

// done returns a chunk the writer has used; failed stops the merge, whose
// remaining chunks the writer then drains unused.
func (m *mergeAhead) done(chunk []wal.Op, failed bool) {
	m.free <- chunk[:0]
	if failed && !m.stopped {
		m.stopped = true
		close(m.stop)
	}
}

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
// Merging four equal tables at a time instead of two (the rule before:
// the first run at least half the next table's size) rewrites a byte a
// third to a half less often, for at most twice the tables between
// compactions, each of which a lookup passes with one filter probe.
// Simulated with exact sizes, a byte is written 1.6, 3.0 and 3.8 times
// over 10, 100 and 1000 equal flushes (with at most 4, 9 and 14 tables),
// and 4.7 times over 1000 flushes of random sizes (14 tables); two at a
// time, it was 2.3, 3.8, 5.1 and 6.0 (3, 6, 9 and 9 tables).
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

// ingest writes a large batch as a table of its own together with the
// memtable, atomically. The caller holds db.mu.
//
// The sorted batch goes into the memory of the last one (sorted), not
// fresh memory: written while the collector runs, a fresh page is first
// read by the write barrier, which maps the shared zero page, and then
// written, a copy-on-write fault that flushes the TLB of every other
// processor. A kv load of 1M records took about 5% of its time there.
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

// CompactStats describes a compaction.
type CompactStats struct {
	BytesBefore, BytesAfter int64
	TablesBefore            int
}

// Compact merges the log and every table into one table holding only live
// values: tombstones, overwritten and expired values are dropped. The
// resulting table's bytes depend only on the live contents.
func (db *DB) Compact() (CompactStats, error) {
	db.lockWriter()
	defer db.unlockWriter()
	if err := db.writable(); err != nil {
		return CompactStats{}, err
	}
	st := CompactStats{BytesBefore: db.diskBytes(), TablesBefore: len(db.tables)}
	if db.openedAs != nil {
		// Nothing changed since Open flushed the log it found: the log
		// and tables before that flush are what this compacts.
		st.BytesBefore, st.TablesBefore = db.openedAs.bytes, db.openedAs.tables
	}
	its := []iterator{&sliceIter{ops: db.mem.sorted(nil)}}
	for _, t := range db.tables {
		its = append(its, tableIter{Iterator: t.mapped().NewIterator(), db: db, num: t.num})
	}
	if err := db.rewrite(its, len(db.tables), true, true); err != nil {
		return st, err
	}
	st.BytesAfter = db.diskBytes()
	return st, nil
}

// diskBytes is the size of the live files.
func (db *DB) diskBytes() int64 {
	n := db.walEnd
	for _, t := range db.tables {
		n += t.r.Load().Size()
	}
	return n
}
