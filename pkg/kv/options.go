package kv

import (
	"time"

	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// Limits enforced on every write.
const (
	// MaxKeySize is the largest key, in bytes.
	MaxKeySize = wal.MaxKeySize
	// MaxValueSize is the largest value, in bytes.
	MaxValueSize = wal.MaxValueSize
)

// Defaults of Options.
const (
	// DefaultFlushThreshold is the log size past which the memtable is
	// written out as a table.
	DefaultFlushThreshold = 4 << 20
	// MaxFlushThreshold caps Options.FlushThreshold.
	MaxFlushThreshold = 256 << 20
	// DefaultLockTimeout is how long Open waits for the lock.
	DefaultLockTimeout = 10 * time.Second
	// DefaultIndexMemory is the default Options.IndexMemory: enough for
	// the lookup indexes of about 20M keys.
	DefaultIndexMemory = 256 << 20
)

// Options configure Open. The zero value is usable: a durable read-write
// handle on the operating system's filesystem.
type Options struct {
	// FS is the filesystem; nil means vfs.Default.
	FS vfs.FS
	// ReadOnly takes a shared lock and never modifies any file. Opening a
	// directory that does not exist read-only gives an empty store and
	// creates nothing.
	ReadOnly bool
	// LockTimeout bounds the wait for the lock; after it Open returns
	// ErrLocked. Zero means DefaultLockTimeout; negative means try once.
	LockTimeout time.Duration
	// NoSync skips the fdatasync after each write. THIS IS UNSAFE: a write
	// is then acknowledged before it is durable, and a crash of the
	// machine (not of the process) can lose it; the kernel may also have
	// written later log pages before earlier ones, leaving a hole that
	// Open reports as corruption and kv repair salvages around. Flushes
	// and compactions still sync, so tables and manifest stay consistent.
	// An unsynced Apply may also return while the table it caused is
	// still being written; a failure of that work is reported by the next
	// call (see Apply). A large batch (one that becomes a table of its
	// own) lives only in memory until then, so even a crash of the
	// process can lose it: end a bulk load with Sync or Close and check
	// their error.
	NoSync bool
	// FlushThreshold is the log size in bytes past which the memtable is
	// flushed to a table; it bounds what every open replays. Zero means
	// DefaultFlushThreshold.
	FlushThreshold int64
	// IndexMemory bounds the bytes of the lookup indexes the handle's
	// tables build once a table has served many lookups (a long-lived
	// handle's; a one-shot process never builds them). A table whose
	// index does not fit is searched as a one-shot reader searches it:
	// the same answers, more slowly. Zero means DefaultIndexMemory; a
	// negative value builds none. Stats.IndexBytes reports the use.
	IndexMemory int64
	// Now is the clock against which expiry times are compared; nil means
	// time.Now.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.FS == nil {
		o.FS = vfs.Default
	}
	if o.LockTimeout == 0 {
		o.LockTimeout = DefaultLockTimeout
	}
	if o.LockTimeout < 0 {
		o.LockTimeout = 0
	}
	if o.FlushThreshold <= 0 {
		o.FlushThreshold = DefaultFlushThreshold
	}
	// A log never holds a record the reader would refuse, and stays small
	// enough to replay in memory.
	o.FlushThreshold = min(o.FlushThreshold, MaxFlushThreshold)
	if o.IndexMemory == 0 {
		o.IndexMemory = DefaultIndexMemory
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func resolveDir(fsys vfs.FS, dir string) string { return vfs.ResolveDir(fsys, dir) }
