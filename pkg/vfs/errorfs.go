package vfs

import (
	"errors"
	"io"
	"sync"
	"syscall"
	"time"
)

// ErrInjected is the error ErrorFS returns by default at its injection point.
var ErrInjected = errors.New("injected I/O error")

// ErrorFS wraps an FS and fails operations from the n-th one on. Every call
// that touches the disk counts as one operation (reads, writes, syncs,
// creates, renames, removes, listings); Close and Lock do not, so a test can
// always release what it holds.
type ErrorFS struct {
	FS
	mu sync.Mutex
	// count is the number of operations seen so far.
	count int
	// failAt is the 1-based operation that fails first; 0 disables.
	failAt int
	// persistent makes every operation after failAt fail too.
	persistent bool
	err        error
}

// NewErrorFS returns an ErrorFS that fails operation number failAt (1-based)
// with err (ErrInjected when nil); when persistent, every later operation
// fails too. failAt 0 injects nothing and only counts.
func NewErrorFS(inner FS, failAt int, persistent bool, err error) *ErrorFS {
	if err == nil {
		err = ErrInjected
	}
	return &ErrorFS{FS: inner, failAt: failAt, persistent: persistent, err: err}
}

// ENOSPC is the "no space left on device" error, for injection.
var ENOSPC error = syscall.ENOSPC

// EIO is the "input/output error", for injection.
var EIO error = syscall.EIO

// Count reports how many operations have been attempted.
func (e *ErrorFS) Count() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.count
}

// Injected reports whether an error has been injected yet.
func (e *ErrorFS) Injected() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.failAt > 0 && e.count >= e.failAt
}

func (e *ErrorFS) op() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.count++
	if e.failAt > 0 && (e.count == e.failAt || (e.persistent && e.count > e.failAt)) {
		return e.err
	}
	return nil
}

type errorFile struct {
	File
	e *ErrorFS
}

func (f errorFile) ReadAt(p []byte, off int64) (int, error) {
	if err := f.e.op(); err != nil {
		return 0, err
	}
	return f.File.ReadAt(p, off)
}

func (f errorFile) WriteAt(p []byte, off int64) (int, error) {
	if err := f.e.op(); err != nil {
		// A failed write may still have written a part: model the worst
		// case, half of it landed.
		n, _ := f.File.WriteAt(p[:len(p)/2], off)
		return n, err
	}
	return f.File.WriteAt(p, off)
}

func (f errorFile) Sync() error {
	if err := f.e.op(); err != nil {
		return err
	}
	return f.File.Sync()
}

// startWriteback passes the hint on; it is not an operation that can
// fail, so it takes no injection point.
func (f errorFile) startWriteback(off, n int64) { StartWriteback(f.File, off, n) }

func (f errorFile) Truncate(size int64) error {
	if err := f.e.op(); err != nil {
		return err
	}
	return f.File.Truncate(size)
}

func (f errorFile) Size() (int64, error) {
	if err := f.e.op(); err != nil {
		return 0, err
	}
	return f.File.Size()
}

func (e *ErrorFS) wrap(f File, err error) (File, error) {
	if err != nil {
		return nil, err
	}
	return errorFile{File: f, e: e}, nil
}

// Create implements FS.
func (e *ErrorFS) Create(name string) (File, error) {
	if err := e.op(); err != nil {
		return nil, err
	}
	return e.wrap(e.FS.Create(name))
}

// OpenRW implements FS.
func (e *ErrorFS) OpenRW(name string) (File, error) {
	if err := e.op(); err != nil {
		return nil, err
	}
	return e.wrap(e.FS.OpenRW(name))
}

// Open implements FS.
func (e *ErrorFS) Open(name string) (File, error) {
	if err := e.op(); err != nil {
		return nil, err
	}
	return e.wrap(e.FS.Open(name))
}

// MapCopies implements MapCopier for the filesystem it wraps.
func (e *ErrorFS) MapCopies() bool { return MapCopies(e.FS) }

// Map implements FS.
func (e *ErrorFS) Map(name string) ([]byte, func() error, error) {
	if err := e.op(); err != nil {
		return nil, nil, err
	}
	return e.FS.Map(name)
}

// Rename implements FS.
func (e *ErrorFS) Rename(oldname, newname string) error {
	if err := e.op(); err != nil {
		return err
	}
	return e.FS.Rename(oldname, newname)
}

// Remove implements FS.
func (e *ErrorFS) Remove(name string) error {
	if err := e.op(); err != nil {
		return err
	}
	return e.FS.Remove(name)
}

// List implements FS.
func (e *ErrorFS) List(dir string) ([]string, error) {
	if err := e.op(); err != nil {
		return nil, err
	}
	return e.FS.List(dir)
}

// Stat implements FS.
func (e *ErrorFS) Stat(name string) (FileInfo, error) {
	if err := e.op(); err != nil {
		return FileInfo{}, err
	}
	return e.FS.Stat(name)
}

// MkdirAll implements FS.
func (e *ErrorFS) MkdirAll(dir string) error {
	if err := e.op(); err != nil {
		return err
	}
	return e.FS.MkdirAll(dir)
}

// SyncDir implements FS.
func (e *ErrorFS) SyncDir(dir string) error {
	if err := e.op(); err != nil {
		return err
	}
	return e.FS.SyncDir(dir)
}

// Lock implements FS; it is never failed by injection.
func (e *ErrorFS) Lock(name string, exclusive, create bool, timeout time.Duration) (io.Closer, error) {
	return e.FS.Lock(name, exclusive, create, timeout)
}

// LockDir implements FS; like Lock, it never fails by injection.
func (e *ErrorFS) LockDir(dir string, exclusive bool, timeout time.Duration) (io.Closer, error) {
	return e.FS.LockDir(dir, exclusive, timeout)
}
