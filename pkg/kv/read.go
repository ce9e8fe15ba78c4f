package kv

import (
	"bytes"
	"errors"
	"io"
	"time"

	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/wal"
)

// Get returns a copy of the value stored under key, or ErrNotFound.
func (db *DB) Get(key []byte) ([]byte, error) {
	v, _, err := db.GetWithExpiry(key)
	return v, err
}

// GetWithExpiry returns the value and its expiry time (the zero time when
// it has none).
func (db *DB) GetWithExpiry(key []byte) ([]byte, time.Time, error) {
	e, err := db.GetEntry(key)
	return e.Value, e.ExpiresAt, err
}

// GetEntry returns key's live entry: a copy of its value, its expiry and
// its modification revision; ErrNotFound when the key is absent, deleted
// or expired.
func (db *DB) GetEntry(key []byte) (Entry, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.checkOpen(); err != nil {
		return Entry{}, err
	}
	op, ok, err := db.lookup(key)
	if err != nil {
		return Entry{}, err
	}
	return db.visible(op, ok)
}

// GetTo writes key's live value to w and returns its entry without the
// value (Value nil); ErrNotFound when the key is absent, deleted or
// expired, with nothing written. Unlike GetEntry it does not copy the
// value, so a value of hundreds of megabytes is held once, not twice; in
// exchange the handle's read lock is held while w writes, so writers of
// this handle wait for a slow w.
func (db *DB) GetTo(key []byte, w io.Writer) (Entry, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.checkOpen(); err != nil {
		return Entry{}, err
	}
	op, ok, err := db.lookup(key)
	if err != nil {
		return Entry{}, err
	}
	if !ok || !db.live(op) {
		return Entry{}, ErrNotFound
	}
	e := entryOf(op)
	e.Key, e.Value = bytes.Clone(op.Key), nil
	if _, err := w.Write(op.Value); err != nil {
		return Entry{}, err
	}
	return e, nil
}

// visible turns the newest operation on a key into what a reader sees.
func (db *DB) visible(op wal.Op, ok bool) (Entry, error) {
	if !ok || !db.live(op) {
		return Entry{}, ErrNotFound
	}
	e := entryOf(op)
	e.Value = bytes.Clone(op.Value)
	return e, nil
}

// entryOf is what a reader sees of a live operation; Key and Value alias
// op's.
func entryOf(op wal.Op) Entry {
	e := Entry{Key: op.Key, Value: op.Value, Rev: max(op.Rev, 1)}
	if op.Kind == wal.KindSetExpiring {
		e.ExpiresAt = time.Unix(0, op.ExpiresAt)
	}
	return e
}

func (db *DB) live(op wal.Op) bool {
	switch op.Kind {
	case wal.KindDelete:
		return false
	case wal.KindSetExpiring:
		return op.ExpiresAt > expiryNanos(db.opts.Now())
	}
	return true
}

// lookup finds the newest operation on key: memtable, then tables newest
// first. The caller holds db.mu.
func (db *DB) lookup(key []byte) (wal.Op, bool, error) {
	if op, ok := db.mem.get(key); ok {
		return op, true, nil
	}
	for i, t := range db.tables {
		var op wal.Op
		var ok bool
		var err error
		if i == len(db.tables)-1 {
			// A lookup reaches the oldest table only if no newer one
			// holds the key, and most that do, find it there.
			op, ok, err = t.reader().GetLikelyPresent(key)
		} else {
			op, ok, err = t.reader().Get(key)
		}
		if err != nil {
			return op, false, db.tableError(tableName(t.num), err)
		}
		if ok {
			return op, true, nil
		}
	}
	return wal.Op{}, false, nil
}

// Entry is one live key with its value, as Scan yields it.
type Entry struct {
	Key   []byte
	Value []byte
	// ExpiresAt is the zero time for a value that never expires.
	ExpiresAt time.Time
	// Rev is the key's modification revision: the revision of the batch
	// that last wrote it (see DB.Revision). A value written before
	// revisions were recorded (a table of version 1 or 2) reports 1.
	Rev uint64
}

// Found reports whether Open found a store in its directory. A
// read-only handle of a directory that holds none (a new one, or a
// mistyped path) reads as empty; a read-write handle creates the store.
func (db *DB) Found() bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return db.man != nil
}

// Revision is the store's revision: that of the last batch committed, 0
// for a store never written. Every batch takes the next one; a revision
// is never given twice, through compaction, Backup and Repair included.
func (db *DB) Revision() (uint64, error) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.checkOpen(); err != nil {
		return 0, err
	}
	return max(db.nextSeq, 1) - 1, nil
}

// Scan calls fn for every live key starting with prefix, in key order.
// Key and Value are only valid during the call. If fn returns an error the
// scan stops and returns it.
func (db *DB) Scan(prefix []byte, fn func(Entry) error) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.checkOpen(); err != nil {
		return err
	}
	err := db.scanLocked(prefix, fn)
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// ScanKeys calls fn for up to limit live keys starting with prefix, in
// order (limit <= 0: no limit).
func (db *DB) ScanKeys(prefix []byte, limit int, fn func(key []byte) error) error {
	n := 0
	return db.Scan(prefix, func(e Entry) error {
		if limit > 0 && n >= limit {
			return errStop
		}
		n++
		return fn(e.Key)
	})
}

func (db *DB) scanLocked(prefix []byte, fn func(Entry) error) error {
	it := db.newIter(prefix)
	for it.Next() {
		op := it.Op()
		if !bytes.HasPrefix(op.Key, prefix) {
			break
		}
		if !db.live(op) {
			continue
		}
		if err := fn(entryOf(op)); err != nil {
			return err
		}
	}
	return it.Err()
}

// tableIter wraps a table iterator so that a corruption error names its
// file.
type tableIter struct {
	*sstable.Iterator
	db  *DB
	num uint64
}

func (t tableIter) Err() error {
	if err := t.Iterator.Err(); err != nil {
		return t.db.tableError(tableName(t.num), err)
	}
	return nil
}

// newIter merges the memtable and every table, positioned at prefix.
func (db *DB) newIter(prefix []byte) *mergeIter {
	its := []iterator{&sliceIter{ops: db.mem.sorted(prefix)}}
	for _, t := range db.tables {
		it := t.mapped().NewIterator()
		if len(prefix) > 0 {
			it.SeekGE(prefix)
		}
		its = append(its, tableIter{Iterator: it, db: db, num: t.num})
	}
	return newMergeIter(its)
}

// errStop ends a scan early without error.
var errStop = errors.New("stop")
