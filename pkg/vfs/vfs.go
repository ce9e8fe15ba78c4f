// Package vfs is the small filesystem interface through which the engine
// touches the disk. Production code uses [Default] (the operating system);
// tests use [MemFS], which can simulate a crash that drops unsynced data, and
// [ErrorFS], which fails the i-th operation, so that every crash and I/O error
// point of the engine can be exercised in a loop.
package vfs

import (
	"errors"
	"io"
	"path/filepath"
	"syscall"
	"time"
)

// ErrLockTimeout is returned by FS.Lock when the lock was not acquired
// within the timeout.
var ErrLockTimeout = errors.New("lock not acquired in time")

// ErrNotRegular is returned, inside an *fs.PathError naming the file, when
// a name the engine opens is not a regular file (a FIFO, a device, a
// directory): the store never reads or writes through such a file.
var ErrNotRegular = errors.New("not a regular file")

// File is an open file. Writes are positional so that the engine, not the
// file offset, decides where each record goes.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	// Sync makes the file's data durable (fdatasync where available).
	Sync() error
	// Truncate changes the file's size.
	Truncate(size int64) error
	// Size reports the file's current size.
	Size() (int64, error)
}

// FS is the set of filesystem operations the engine needs. Names are paths;
// every implementation refuses to follow a symbolic link at the final path
// element when opening or creating a file, where the platform allows.
type FS interface {
	// Create creates a new file for writing with mode 0600. It fails if the
	// name already exists (exclusive create), so a planted file or symlink is
	// never written through.
	Create(name string) (File, error)
	// OpenRW opens an existing file for reading and writing.
	OpenRW(name string) (File, error)
	// Open opens an existing file read-only.
	Open(name string) (File, error)
	// Map returns the whole content of a file, memory-mapped where the
	// platform allows. release must be called once the bytes are no longer
	// used; the bytes must not be modified.
	Map(name string) (data []byte, release func() error, err error)
	// Rename atomically replaces newname with oldname.
	Rename(oldname, newname string) error
	// Remove deletes a file.
	Remove(name string) error
	// List returns the names (not paths) of the entries of a directory,
	// sorted.
	List(dir string) ([]string, error)
	// Stat reports whether name exists and, for a regular file, its size.
	Stat(name string) (FileInfo, error)
	// MkdirAll creates a directory and its parents with mode 0700.
	MkdirAll(dir string) error
	// SyncDir makes the directory's entries (creations, renames, removals)
	// durable.
	SyncDir(dir string) error
	// Lock takes a shared (exclusive=false) or exclusive lock on the file
	// name, creating it when create is true, and waits at most timeout
	// before failing with ErrLockTimeout. Closing the returned io.Closer
	// releases the lock; so does the death of the process.
	Lock(name string, exclusive, create bool, timeout time.Duration) (io.Closer, error)
	// LockDir takes the lock that guards the directory dir, shared or
	// exclusive, as Lock does. Nothing done to the files inside dir can
	// replace what it locks under a live holder: on Unix it locks the
	// directory itself; on Windows, which refuses to delete a file that
	// is open, the file dir/LOCK (created when absent).
	LockDir(dir string, exclusive bool, timeout time.Duration) (io.Closer, error)
}

// PageDropper is implemented by a filesystem whose Map maps files into
// memory: DropPages lets the pages wholly inside b, a part of a mapping
// Map returned, leave the process's resident set; reading them again
// faults them back in from the file, so their contents never change. A
// sequential scan drops what it has passed, so that its resident memory
// does not grow with the store. A filesystem whose Map copies a file
// into memory must not implement it.
type PageDropper interface {
	DropPages(b []byte)
}

// MapCopier is implemented by a filesystem whose Map may read a file whole
// into memory rather than map it: the OS filesystem on platforms without
// mmap here (Windows). A caller that needs a few pieces of a large file
// had better read them then (see MapCopies).
type MapCopier interface {
	MapCopies() bool
}

// MapCopies reports whether fs's Map reads files whole into memory.
func MapCopies(fs FS) bool {
	c, ok := fs.(MapCopier)
	return ok && c.MapCopies()
}

// FileInfo is what Stat reports.
type FileInfo struct {
	Size  int64
	IsDir bool
	// Mode holds the permission bits (0 when the implementation has none).
	Mode uint32
	// UID is the owner's user id (-1 when unknown).
	UID int
}

// ReadFile reads a whole file through fs.
func ReadFile(fs FS, name string) ([]byte, error) {
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	n, err := f.Size()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, 0); err != nil && !(errors.Is(err, io.EOF) && n == 0) {
		return nil, err
	}
	return buf, nil
}

// writebackStarter is implemented by files that can start writing a range
// of their data to the device without waiting for it.
type writebackStarter interface {
	startWriteback(off, n int64)
}

// StartWriteback asks the system to begin writing f's bytes [off, off+n)
// to the device now, without waiting. It is a hint for a file that will
// be synced once it is complete: the device then works while the writer
// goes on, instead of receiving the whole file at the final Sync. Files
// that cannot do it ignore it, and any error is left for that Sync to
// report. The files of this package's filesystems and of ErrorFS take it;
// a File wrapped outside the package drops it, which costs only speed.
func StartWriteback(f File, off, n int64) {
	if w, ok := f.(writebackStarter); ok {
		w.startWriteback(off, n)
	}
}

// holeFinder is implemented by files that can report where their data
// ends when the rest is a hole (SEEK_HOLE).
type holeFinder interface {
	dataEnd(size int64) int64
}

// DataEnd reports the size of f and where its data ends: the start of the
// hole that runs to its end, whose bytes read as zeros, or the size where
// there is none or the filesystem cannot tell. A file extended by
// truncate(1) is mostly such a hole: reading only up to end costs nothing
// for the rest.
func DataEnd(f File) (end, size int64, err error) {
	if size, err = f.Size(); err != nil {
		return 0, 0, err
	}
	if h, ok := f.(holeFinder); ok {
		return h.dataEnd(size), size, nil
	}
	return size, size, nil
}

// IsNoSpace reports whether err is the device (or the user's quota) being
// full: a failure that freeing space cures, unlike a failing device.
func IsNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// ResolveDir resolves a symlinked data directory once, so that every file
// is then reached inside the real directory and no later path element can
// be swapped for a link. Only the operating system's names are resolved.
func ResolveDir(fsys FS, dir string) string {
	if fsys != Default {
		return dir
	}
	if resolved, err := filepath.EvalSymlinks(dir); err == nil {
		return resolved
	}
	return dir
}

// QueueDir is the folder inside a locked directory where the writers that
// wait for its exclusive lock queue in arrival order.
//
// The kernel wakes every waiter of a released flock and lets them race,
// and a process that just started, already running, wins over waiters
// that must first be scheduled: on a busy machine a waiter could lose
// again and again while others come and go. So a writer that finds the
// lock held takes a ticket (the next number, under a lock of its own),
// holds the lock of a file named after it, and waits for the file of the
// ticket before its own to be released before it waits for the directory.
// The directory's flock still provides the exclusion; the queue only
// orders the waiters, so a waiter that dies (its locks released by the
// kernel) costs the order at most one turn. A writer that finds the lock
// free takes it only when nobody is queued.
// The folder is named on every platform, so that what reads a data
// directory can tell it from a user's file, though only Unix queues.
const QueueDir = ".lockq"
