// Package backend is what kv's commands need from a store, with no
// engine type in it, so that the same commands run on the local engine
// (Local, over pkg/kv) and on a cluster (the etcd backend that the
// kv-etcd binary links). A backend reports failures with the errors
// below, which are the engine's own values: errors.Is holds whichever
// backend made them.
package backend

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/kvtool/kv/pkg/coord"
	"github.com/kvtool/kv/pkg/inspect"
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
	// Notes are what else the compaction did that its user should know,
	// one sentence each.
	Notes []string
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

// Cluster is how to reach a cluster backend: kv's --endpoints and the
// etcdctl-named flags around it.
type Cluster struct {
	Endpoints []string
	// CACert, Cert and Key are PEM files for TLS ("" for none).
	CACert, Cert, Key string
	// User and Password authenticate ("" for none).
	User, Password string
	// DialTimeout bounds reaching a member; CommandTimeout each request.
	DialTimeout, CommandTimeout time.Duration
	// Now is the clock that turns expiry times into leases' TTLs.
	Now func() time.Time
}

// Opener opens a Store on a cluster; the kv-etcd binary gives one to
// the commands.
type Opener interface {
	// Name names the cluster's kind ("etcd"), for messages.
	Name() string
	// Open connects to the cluster. A read-only Store reads one
	// revision of it, so several reads agree.
	Open(c Cluster, readOnly bool) (Store, error)
}

// Limited is implemented by a Store whose atomic writes are bounded:
// MaxBatch is the most operations and bytes one Apply takes (0: no
// bound). A larger batch fails with an error wrapping ErrTooLarge.
type Limited interface {
	MaxBatch() (ops, bytes int)
}

// ErrTooLarge is wrapped by the error of a write larger than the
// backend's bound for one atomic write (Limited).
var ErrTooLarge = errors.New("too large for one atomic write")

// Coordinator is implemented by a cluster's Store: the locks, watches
// and waits of kv lock, kv watch and kv wait, on the cluster's own
// primitives. (A data directory's are pkg/coord's, which work on the
// directory without opening the store.)
type Coordinator interface {
	// Lock takes the named lock (coord.CheckName's rules), waiting at
	// most timeout (0: not at all; coord.Forever: as long as it takes)
	// before failing with coord.ErrHeld. ttl is the lease: a holder that
	// stops answering for that long loses the lock.
	Lock(name string, ttl, timeout time.Duration) (HeldLock, error)
	// Watch calls fn with every change to t, in revision order, until
	// ctx ends (nil) or fn fails; from 0 watches from now, otherwise it
	// replays from revision from, failing with a *kv.CompactedError
	// when that revision is no longer kept.
	Watch(ctx context.Context, t coord.Target, from uint64, fn func(coord.Event) error) error
	// Wait returns when cond holds for key, with key's entry (the zero
	// Entry for an absence), or ctx's error when ctx ends first.
	Wait(ctx context.Context, key []byte, cond coord.Condition) (Entry, error)
}

// HeldLock is a lock a Coordinator gave.
type HeldLock interface {
	// Token is the fencing token: larger than that of every earlier
	// acquisition of the same name.
	Token() uint64
	// Lost is closed when the lock is lost before Release: its lease
	// expired (the cluster did not hear from the holder within the
	// TTL) or was revoked.
	Lost() <-chan struct{}
	// Release releases the lock.
	Release() error
}

// Verifier is implemented by a cluster's Store: kv verify's check of the
// cluster, in the report a data directory's check gives (the members in
// place of the files).
type Verifier interface {
	Verify() (*inspect.Report, error)
}

// Snapshotter is implemented by a cluster's Store whose backup is a
// snapshot of one member's database, written to w.
type Snapshotter interface {
	Snapshot(w io.Writer) (int64, error)
}
