package kv

import (
	"errors"
	"sync"
	"sync/atomic"

	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/vfs"
)

// mapAfter is the number of lookups a table serves by reading its file
// before it is memory-mapped. A one-shot process makes a few lookups, and
// a pread for each piece it needs costs it far less than mapping the file
// (see pkg/sstable/fileread.go); a long-lived handle makes many, and reads
// the mapping at memory speed, without a system call. Mapping costs about
// as much as a dozen lookups through the file.
const mapAfter = 16

// table is one open sorted table. It starts with a reader of its file and
// switches to a reader of a mapping of it on its mapAfter-th lookup, or
// on the first scan (a scan reads the table from end to end, and the
// mapping reads ahead for it).
type table struct {
	num  uint64
	path string
	fs   vfs.FS
	// file stays open for the table's life: readers of it may outlive the
	// switch, until the handle's lock excludes them (see release).
	file    vfs.File
	r       atomic.Pointer[sstable.Reader]
	lookups atomic.Int64
	mapMu   sync.Mutex
	unmap   func() error // nil until mapped
	// noMap is set once a mapping failed (the table stays on its file
	// rather than try again at every scan), and from the start when the
	// filesystem's Map would read the whole table into memory
	// (vfs.MapCopies): the file reader reads the pieces it needs instead,
	// scans included.
	noMap bool
	// indexes is the handle's budget for the mapped reader's indexes.
	indexes *sstable.IndexBudget
}

// reader returns the reader for one lookup.
func (t *table) reader() *sstable.Reader {
	// Counted only until the switch: past it, lookups on many cores read
	// the counter and never write it.
	if t.lookups.Load() < mapAfter && t.lookups.Add(1) == mapAfter {
		return t.mapped()
	}
	return t.r.Load()
}

// mapped returns a reader of a mapping of the table, mapping it first if
// needed, or the file reader if the mapping fails: mapping only saves
// time, and the file reader reads the same bytes. The mapping is made by
// name, so after ReleaseLock a compaction may have removed the file: the
// mapping then fails and the file reader, whose descriptor keeps the
// table alive, goes on. File numbers are never reused while a store has
// the file, so the name never maps another table (the size is checked
// too).
func (t *table) mapped() *sstable.Reader {
	t.mapMu.Lock()
	defer t.mapMu.Unlock()
	r := t.r.Load()
	if t.unmap != nil || t.noMap {
		return r
	}
	data, unmap, err := t.fs.Map(t.path)
	if err != nil {
		t.noMap = true
		return r
	}
	mr, err := sstable.Open(data)
	if err != nil || mr.Size() != r.Size() {
		_ = unmap()
		t.noMap = true
		return r
	}
	mr.SetIndexBudget(t.indexes)
	if pd, ok := t.fs.(vfs.PageDropper); ok {
		mr.SetDropPages(pd.DropPages)
	}
	t.unmap = unmap
	t.r.Store(mr)
	return mr
}

// release closes the table's file and mapping. The caller holds the
// handle's lock exclusively, or is the only user of the table.
func (t *table) release() error {
	t.r.Load().Close()
	err := t.file.Close()
	if t.unmap != nil {
		err = errors.Join(err, t.unmap())
		t.unmap = nil
	}
	return err
}
