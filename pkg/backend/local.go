package backend

import (
	"fmt"
	"io"
	"time"

	"github.com/kvtool/kv/pkg/kv"
)

// Local is the Store of the local engine, over an open handle.
func Local(db *kv.DB) Store { return &local{db: db} }

// LocalDB returns the engine handle under a Store that Local made, for
// what only the local engine has (releasing its lock, watching its
// files); ok is false for any other backend.
func LocalDB(s Store) (db *kv.DB, ok bool) {
	l, ok := s.(*local)
	if !ok {
		return nil, false
	}
	return l.db, true
}

type local struct {
	db *kv.DB
	// batch is reused by Apply: a load applies many.
	batch kv.Batch
}

func entryOf(e kv.Entry) Entry {
	return Entry{Key: e.Key, Value: e.Value, ExpiresAt: e.ExpiresAt, Rev: e.Rev}
}

func (l *local) GetEntry(key []byte) (Entry, error) {
	e, err := l.db.GetEntry(key)
	return entryOf(e), err
}

func (l *local) GetTo(key []byte, w io.Writer) (Entry, error) {
	e, err := l.db.GetTo(key, w)
	return entryOf(e), err
}

func (l *local) Revision() (uint64, error) { return l.db.Revision() }

func (l *local) Found() bool { return l.db.Found() }

func (l *local) Apply(b *Batch) error {
	l.batch.Reset()
	l.batch.Grow(b.Len())
	for _, op := range b.ops {
		switch {
		case op.Delete:
			l.batch.Delete(op.Key)
		case !op.Expires:
			l.batch.Set(op.Key, op.Value)
		default:
			l.batch.SetExpiring(op.Key, op.Value, op.ExpiresAt)
		}
	}
	err := l.db.Apply(&l.batch)
	l.batch.Reset()
	return err
}

// localTxn is a Txn over the engine's.
type localTxn struct{ tx *kv.Txn }

func (t localTxn) GetEntry(key []byte) (Entry, error) {
	e, err := t.tx.GetEntry(key)
	return entryOf(e), err
}

func (t localTxn) Set(key, value []byte) { t.tx.Set(key, value) }

func (t localTxn) SetExpiring(key, value []byte, expiresAt time.Time) {
	t.tx.SetExpiring(key, value, expiresAt)
}

func (t localTxn) Delete(key []byte) { t.tx.Delete(key) }

// Update runs fn once, under the engine's writer lock, which no other
// write passes: there is nothing to retry.
func (l *local) Update(fn func(tx Txn) error) error {
	return l.db.Update(func(tx *kv.Txn) error { return fn(localTxn{tx}) })
}

func (l *local) DeletePrefix(prefix []byte) (int, error) { return l.db.DeletePrefix(prefix) }

func (l *local) Scan(prefix []byte, fn func(Entry) error) error {
	return l.db.Scan(prefix, func(e kv.Entry) error { return fn(entryOf(e)) })
}

func (l *local) ScanKeys(prefix []byte, limit int, fn func(key []byte) error) error {
	return l.db.ScanKeys(prefix, limit, fn)
}

func (l *local) KeyCursor(prefix []byte) (KeyCursor, error) {
	c, err := l.db.KeyCursor(prefix)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (l *local) Compact() (CompactReport, error) {
	st, err := l.db.Compact()
	return CompactReport{
		BytesBefore: st.BytesBefore, BytesAfter: st.BytesAfter,
		Before: fmt.Sprintf("in %d tables and the log", st.TablesBefore),
	}, err
}

func (l *local) Digest() (string, error) { return l.db.Digest() }

// tableFigure is one table in the local store's figures.
type tableFigure struct {
	File    string `json:"file"`
	Bytes   int64  `json:"bytes"`
	Entries uint64 `json:"entries"`
}

func (l *local) Stats() (Stats, error) {
	st, err := l.db.Stats()
	if err != nil {
		return Stats{}, err
	}
	tables := []tableFigure{}
	var rows [][2]string
	for _, t := range st.Tables {
		tables = append(tables, tableFigure{File: t.File, Bytes: t.Bytes, Entries: t.Entries})
		rows = append(rows, [2]string{"  " + t.File, fmt.Sprintf("%d bytes, %d entries", t.Bytes, t.Entries)})
	}
	return Stats{Figures: []Figure{
		{Name: "keys", Key: "keys", Value: st.Keys},
		{Name: "live bytes", Key: "live_bytes", Value: st.LiveBytes},
		{Name: "disk bytes", Key: "disk_bytes", Value: st.DiskBytes},
		{Name: "dead bytes", Key: "dead_bytes", Value: st.DeadBytes},
		{Name: "log", Key: "log_file", Value: st.LogFile, Text: fmt.Sprintf("%s (%d bytes)", st.LogFile, st.LogBytes)},
		{Key: "log_bytes", Value: st.LogBytes},
		{Name: "tables", Key: "tables", Value: tables, Text: fmt.Sprint(len(tables)), Rows: rows},
		{Name: "garbage ratio", Key: "garbage_ratio", Value: st.GarbageRatio, Text: fmt.Sprintf("%.3f", st.GarbageRatio)},
		{Name: "format version", Key: "format_version", Value: st.FormatVersion},
		{Name: "revision", Key: "revision", Value: st.Revision},
	}}, nil
}

func (l *local) Close() error { return l.db.Close() }
