package kv

import (
	"bufio"
	"sync"

	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// fileWriter adapts a vfs.File to io.Writer. Every writebackEvery bytes
// it asks the system to start writing them to the device: a table is
// synced once complete, and without the hint the device would only then
// receive the whole file, while the writer waits (docs/FIGURES.md).
type fileWriter struct {
	f   vfs.File
	off int64
	// hinted is where the bytes not yet handed to StartWriteback begin.
	hinted int64
}

const writebackEvery = 1 << 20

// writePiece is the largest single write of a table. The page cache keeps
// what one write brings in as one folio, and a memory-mapped read maps
// the whole folio it touches: written in one piece, a large table's index
// and filter become folios of megabytes, and a one-shot lookup's few
// touches map all of them. 64 KiB is the size the kernel maps around a
// fault anyway (docs/FIGURES.md).
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
	// The filter is built from the keys read back from the file, so that
	// writing a table of n keys does not hold n hashes.
	tw.ReadBack(f, bw.Flush)
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
	// The tables' iterators defer dropping the pages they pass until
	// the writer is done with every chunk holding operations that may
	// point into them: a drop requested while the merge filled chunk n
	// (counting from 0) waits in held, tagged n, until the writer's
	// done has been called n+1 times.
	mu   sync.Mutex
	held []heldDrop
	sent int // chunks handed to the writer (merge goroutine only)
	used int // chunks the writer is done with (writer only)
}

// heldDrop is a drop of passed table pages, held until chunk has been
// used.
type heldDrop struct {
	chunk int
	drop  func()
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
	if mi, ok := it.(*mergeIter); ok {
		for _, src := range mi.its {
			if ti, ok := src.(tableIter); ok {
				ti.DeferDrops(m.hold)
			}
		}
	}
	go func() {
		defer close(m.chunks)
		buf := <-m.free
		send := func() bool {
			select {
			case m.chunks <- buf:
				m.mu.Lock()
				m.sent++
				m.mu.Unlock()
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

// hold keeps a table iterator's drop until the chunk being filled (and
// every one before it) has been used.
func (m *mergeAhead) hold(drop func()) {
	m.mu.Lock()
	m.held = append(m.held, heldDrop{chunk: m.sent, drop: drop})
	m.mu.Unlock()
}

// done returns a chunk the writer has used; failed stops the merge, whose
// remaining chunks the writer then drains unused. The drops held for
// the chunks used so far run.
func (m *mergeAhead) done(chunk []wal.Op, failed bool) {
	m.used++
	m.mu.Lock()
	n := 0
	for n < len(m.held) && m.held[n].chunk < m.used {
		n++
	}
	ready := m.held[:n:n]
	m.held = m.held[n:]
	m.mu.Unlock()
	for _, h := range ready {
		h.drop()
	}
	m.free <- chunk[:0]
	if failed && !m.stopped {
		m.stopped = true
		close(m.stop)
	}
}
