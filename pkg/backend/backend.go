// Package backend is what kv's commands need from a store, with no
// engine type in it, so that the same commands run on the local engine
// (Local, over pkg/kv) and on a cluster (the etcd backend that the
// kv-etcd binary links). A backend reports failures with the errors
// below, which are the engine's own values: errors.Is holds whichever
// backend made them.
package backend

import (
	"io"
	"time"

	"github.com/kvtool/kv/pkg/kv"
)

// The errors a backend's operations wrap, by what they mean to a caller.
var (
	// ErrNotFound: the key is absent, deleted or expired.
	ErrNotFound = kv.ErrNotFound
	// ErrConditionFailed: a conditional write's condition did not hold;
	// nothing was written.
	ErrConditionFailed = kv.ErrConditionFailed
	// ErrCompacted: the revision asked for is no longer kept.
	ErrCompacted = kv.ErrCompacted
)

// Entry is one live key: its value, its expiry (the zero time for none)
// and its modification revision, the revision of the write that last
// changed it.
type Entry struct {
	Key       []byte
	Value     []byte
	ExpiresAt time.Time
	Rev       uint64
}

// Store is one open store. A read-only Store reads one consistent view
// of the store as it was when opened.
type Store interface {
	// GetEntry returns key's live entry, or an error wrapping
	// ErrNotFound.
	GetEntry(key []byte) (Entry, error)
	// GetTo writes key's value to w and returns its entry without the
	// value, holding the value once (a value of hundreds of megabytes).
	GetTo(key []byte, w io.Writer) (Entry, error)
	// Revision is the store's revision: that of the last write.
	Revision() (uint64, error)
	// Found reports whether the store exists; a read of a store that
	// does not reads as empty.
	Found() bool
	// Apply writes a batch atomically: all of it or none.
	Apply(b *Batch) error
	// Update runs fn, a read-modify-write, and commits what it wrote
	// atomically, as if no other write came between its reads and its
	// commit (a backend may run fn again to make it so).
	Update(fn func(tx Txn) error) error
	// DeletePrefix deletes every live key under prefix (every key, for
	// an empty one) atomically and returns how many.
	DeletePrefix(prefix []byte) (int, error)
	// Scan calls fn for every live entry under prefix, in key order.
	// Key and Value are valid only during the call.
	Scan(prefix []byte, fn func(Entry) error) error
	// ScanKeys calls fn for up to limit live keys under prefix, in order
	// (limit <= 0: no limit).
	ScanKeys(prefix []byte, limit int, fn func(key []byte) error) error
	// KeyCursor returns a cursor over the live keys under prefix.
	KeyCursor(prefix []byte) (KeyCursor, error)
	// Compact gives back the space of dead values.
	Compact() (CompactReport, error)
	// Digest is a digest of the live contents: equal for equal contents.
	Digest() (string, error)
	// Stats reports the store's figures.
	Stats() (Stats, error)
	// Close releases the store; a write that returned nil is durable.
	Close() error
}

// Txn is the view and the pending writes of one Update.
type Txn interface {
	// GetEntry reads key as the transaction sees it: its own writes
	// first.
	GetEntry(key []byte) (Entry, error)
	// Set writes value under key, with no expiry.
	Set(key, value []byte)
	// SetExpiring writes value under key, to expire at expiresAt (any
	// time: one in the past, the zero time included, stores a value
	// that has already expired).
	SetExpiring(key, value []byte, expiresAt time.Time)
	// Delete removes key.
	Delete(key []byte)
}

// KeyCursor jumps through the live keys under a prefix, as shell
// completion does on a large store.
type KeyCursor interface {
	// SeekGE returns the first live key >= key under the prefix, or ok
	// false when there is none.
	SeekGE(key []byte) (k []byte, ok bool, err error)
	Close()
}

// CompactReport is what a compaction did.
type CompactReport struct {
	BytesBefore, BytesAfter int64
	// Before says what the bytes before were held in ("3 tables and the
	// log").
	Before string
}

// Stats is a store's figures, in the order a table shows them.
type Stats struct {
	Figures []Figure
}

// Figure is one figure of Stats.
type Figure struct {
	// Name is how a table shows it ("live bytes"), Key how JSON names
	// it ("live_bytes").
	Name, Key string
	// Value is what JSON holds: a number, a string, or a list.
	Value any
	// Text is how a table shows the value ("" for Value's default
	// format), and Rows are rows a table shows under it. A figure with
	// no Name is JSON's only.
	Text string
	Rows [][2]string
}
