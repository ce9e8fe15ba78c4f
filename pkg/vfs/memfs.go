package vfs

import (
	"bytes"
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// MemFS is an in-memory filesystem that remembers, for every file, what has
// been synced, and for every directory, which entries have been synced. Crash
// returns the filesystem a machine would find after losing power at this
// moment, so tests can check what survives.
type MemFS struct {
	mu    sync.Mutex
	names map[string]*memInode // the namespace as the running process sees it
	// durable is the namespace as it would be found after a crash: entries
	// appear here only once their directory is synced.
	durable map[string]*memInode
	dirs    map[string]bool
	locks   map[string]*memLock
	// capacity bounds the bytes of all files; 0 means unbounded.
	capacity int64
}

// SetCapacity makes the filesystem a device of n bytes (0: unbounded): a
// write or truncation that would take the files' total size past n
// stores what fits and fails with ENOSPC, as a full disk does.
func (m *MemFS) SetCapacity(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.capacity = n
}

// Used reports the bytes the files hold.
func (m *MemFS) Used() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.used()
}

func (m *MemFS) used() int64 {
	var n int64
	for _, ino := range m.names {
		n += int64(len(ino.data))
	}
	return n
}

// room reports how many bytes a file may grow by; the caller holds mu.
func (m *MemFS) room() int64 {
	if m.capacity == 0 {
		return math.MaxInt64
	}
	return max(m.capacity-m.used(), 0)
}

type memInode struct {
	data   []byte
	synced []byte
}

type memLock struct {
	readers int
	writer  bool
}

// NewMemFS returns an empty in-memory filesystem.
func NewMemFS() *MemFS {
	return &MemFS{
		names:   map[string]*memInode{},
		durable: map[string]*memInode{},
		dirs:    map[string]bool{"/": true, ".": true},
		locks:   map[string]*memLock{},
	}
}

func clean(name string) string { return filepath.ToSlash(filepath.Clean(name)) }

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}

type memFile struct {
	fs       *MemFS
	ino      *memInode
	readOnly bool
	closed   bool
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, fs.ErrClosed
	}
	if off >= int64(len(f.ino.data)) {
		if len(p) == 0 {
			return 0, nil
		}
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return 0, fs.ErrClosed
	}
	if f.readOnly {
		return 0, fs.ErrPermission
	}
	var full error
	if grow := off + int64(len(p)) - int64(len(f.ino.data)); grow > 0 {
		if room := f.fs.room(); grow > room {
			p, full = p[:max(int64(len(f.ino.data))+room-off, 0)], syscall.ENOSPC
		}
	}
	end := off + int64(len(p))
	if end > int64(len(f.ino.data)) && len(p) > 0 {
		grown := make([]byte, end)
		copy(grown, f.ino.data)
		f.ino.data = grown
	}
	copy(f.ino.data[off:], p)
	return len(p), full
}

func (f *memFile) Sync() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return fs.ErrClosed
	}
	f.ino.synced = bytes.Clone(f.ino.data)
	return nil
}

func (f *memFile) Truncate(size int64) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.readOnly {
		return fs.ErrPermission
	}
	if size <= int64(len(f.ino.data)) {
		f.ino.data = bytes.Clone(f.ino.data[:size])
	} else if size-int64(len(f.ino.data)) > f.fs.room() {
		return syscall.ENOSPC
	} else {
		grown := make([]byte, size)
		copy(grown, f.ino.data)
		f.ino.data = grown
	}
	return nil
}

func (f *memFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	return int64(len(f.ino.data)), nil
}

func (f *memFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	f.closed = true
	return nil
}

// Create implements FS.
func (m *MemFS) Create(name string) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[path.Dir(name)] {
		return nil, notExist("create", name)
	}
	if _, ok := m.names[name]; ok || m.dirs[name] {
		return nil, &fs.PathError{Op: "create", Path: name, Err: fs.ErrExist}
	}
	ino := &memInode{}
	m.names[name] = ino
	return &memFile{fs: m, ino: ino}, nil
}

func (m *MemFS) open(name string, readOnly bool) (File, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.names[name]
	if !ok {
		return nil, notExist("open", name)
	}
	return &memFile{fs: m, ino: ino, readOnly: readOnly}, nil
}

// OpenRW implements FS.
func (m *MemFS) OpenRW(name string) (File, error) { return m.open(name, false) }

// Open implements FS.
func (m *MemFS) Open(name string) (File, error) { return m.open(name, true) }

// Map implements FS with a copy of the file's bytes.
func (m *MemFS) Map(name string) ([]byte, func() error, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.names[name]
	if !ok {
		return nil, nil, notExist("open", name)
	}
	return bytes.Clone(ino.data), func() error { return nil }, nil
}

// Rename implements FS.
func (m *MemFS) Rename(oldname, newname string) error {
	oldname, newname = clean(oldname), clean(newname)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.names[oldname]
	if !ok {
		return notExist("rename", oldname)
	}
	if !m.dirs[path.Dir(newname)] {
		return notExist("rename", newname)
	}
	delete(m.names, oldname)
	m.names[newname] = ino
	return nil
}

// Remove implements FS.
func (m *MemFS) Remove(name string) error {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.names[name]; !ok {
		if m.dirs[name] {
			for n := range m.names {
				if path.Dir(n) == name {
					return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrExist}
				}
			}
			delete(m.dirs, name)
			return nil
		}
		return notExist("remove", name)
	}
	delete(m.names, name)
	return nil
}

// List implements FS.
func (m *MemFS) List(dir string) ([]string, error) {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[dir] {
		return nil, notExist("open", dir)
	}
	var out []string
	for n := range m.names {
		if path.Dir(n) == dir {
			out = append(out, path.Base(n))
		}
	}
	for d := range m.dirs {
		if d != dir && path.Dir(d) == dir {
			out = append(out, path.Base(d))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Stat implements FS.
func (m *MemFS) Stat(name string) (FileInfo, error) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dirs[name] {
		return FileInfo{IsDir: true, Mode: 0o700, UID: -1}, nil
	}
	ino, ok := m.names[name]
	if !ok {
		return FileInfo{}, notExist("stat", name)
	}
	return FileInfo{Size: int64(len(ino.data)), Mode: 0o600, UID: -1}, nil
}

// MkdirAll implements FS. Directories are durable at once: the engine
// creates its directory before anything in it matters.
func (m *MemFS) MkdirAll(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	for d := dir; !m.dirs[d]; d = path.Dir(d) {
		if _, ok := m.names[d]; ok {
			return &fs.PathError{Op: "mkdir", Path: d, Err: fs.ErrExist}
		}
		m.dirs[d] = true
	}
	return nil
}

// SyncDir implements FS: the directory's current entries become durable.
func (m *MemFS) SyncDir(dir string) error {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.dirs[dir] {
		return notExist("sync", dir)
	}
	for n := range m.durable {
		if path.Dir(n) == dir {
			delete(m.durable, n)
		}
	}
	for n, ino := range m.names {
		if path.Dir(n) == dir {
			m.durable[n] = ino
		}
	}
	return nil
}

type memUnlocker struct {
	m         *MemFS
	name      string
	exclusive bool
	once      sync.Once
}

func (u *memUnlocker) Close() error {
	u.once.Do(func() {
		u.m.mu.Lock()
		defer u.m.mu.Unlock()
		l := u.m.locks[u.name]
		if u.exclusive {
			l.writer = false
		} else {
			l.readers--
		}
	})
	return nil
}

// Lock implements FS with an in-process reader/writer lock per name.
func (m *MemFS) Lock(name string, exclusive, create bool, timeout time.Duration) (io.Closer, error) {
	name = clean(name)
	return m.lock(name, exclusive, timeout, func() error {
		if _, ok := m.names[name]; !ok {
			if !create {
				return notExist("open", name)
			}
			m.names[name] = &memInode{}
		}
		return nil
	})
}

// LockDir implements FS with an in-process reader/writer lock on the
// directory's name, which no file operation can replace.
func (m *MemFS) LockDir(dir string, exclusive bool, timeout time.Duration) (io.Closer, error) {
	dir = clean(dir)
	return m.lock(dir, exclusive, timeout, func() error {
		if !m.dirs[dir] {
			return notExist("open", dir)
		}
		return nil
	})
}

// lock takes the reader/writer lock of name, calling check under m.mu
// before each attempt; an error from check ends the wait.
func (m *MemFS) lock(name string, exclusive bool, timeout time.Duration, check func() error) (io.Closer, error) {
	deadline := time.Now().Add(timeout)
	for {
		m.mu.Lock()
		if err := check(); err != nil {
			m.mu.Unlock()
			return nil, err
		}
		l := m.locks[name]
		if l == nil {
			l = &memLock{}
			m.locks[name] = l
		}
		if exclusive && !l.writer && l.readers == 0 {
			l.writer = true
			m.mu.Unlock()
			return &memUnlocker{m: m, name: name, exclusive: true}, nil
		}
		if !exclusive && !l.writer {
			l.readers++
			m.mu.Unlock()
			return &memUnlocker{m: m, name: name}, nil
		}
		m.mu.Unlock()
		if !time.Now().Before(deadline) {
			return nil, ErrLockTimeout
		}
		time.Sleep(time.Millisecond)
	}
}

// CrashOptions says what a simulated crash keeps.
type CrashOptions struct {
	// UnsyncedFraction is the share (0 to 1) of each file's unsynced
	// appended bytes that reached the disk anyway.
	UnsyncedFraction float64
	// KeepUnsyncedEntries keeps directory entries that were never synced
	// (as if the directory had been flushed by the kernel).
	KeepUnsyncedEntries bool
	// HoleSeed, when not zero, makes the crash write back unsynced appends
	// out of order: of the unsynced bytes kept, each 512-byte sector (by
	// file offset) is zeroed or not by a generator seeded with it, so a
	// later sector can survive an earlier one.
	HoleSeed uint64
}

// sectorSize is the unit in which HoleSeed zeroes unsynced data.
const sectorSize = 512

// Crash returns a new filesystem holding what a power loss at this moment
// would leave: synced data, a fraction of unsynced appends, and only the
// directory entries that were synced. Locks do not survive.
func (m *MemFS) Crash(opts CrashOptions) *MemFS {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := NewMemFS()
	for d := range m.dirs {
		out.dirs[d] = true
	}
	src := m.durable
	if opts.KeepUnsyncedEntries {
		src = m.names
	}
	// A file reachable by several names (during a rename) must stay one file.
	seen := map[*memInode]*memInode{}
	for name, ino := range src {
		if c, ok := seen[ino]; ok {
			out.names[name] = c
			continue
		}
		c := &memInode{data: crashContent(ino, opts.UnsyncedFraction)}
		if opts.HoleSeed != 0 {
			punchHoles(c.data, len(ino.synced), opts.HoleSeed^uint64(len(name)))
		}
		c.synced = bytes.Clone(c.data)
		seen[ino] = c
		out.names[name] = c
	}
	for n, ino := range out.names {
		out.durable[n] = ino
	}
	return out
}

// punchHoles zeroes, from offset synced on, each sector of data that a
// generator seeded with seed picks, about one in two.
func punchHoles(data []byte, synced int, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	for start := synced / sectorSize * sectorSize; start < len(data); start += sectorSize {
		if rng.IntN(2) == 0 {
			continue
		}
		from := max(start, synced)
		clear(data[from:min(start+sectorSize, len(data))])
	}
}

func crashContent(ino *memInode, frac float64) []byte {
	if bytes.HasPrefix(ino.data, ino.synced) {
		extra := len(ino.data) - len(ino.synced)
		keep := int(float64(extra) * frac)
		return bytes.Clone(ino.data[:len(ino.synced)+keep])
	}
	if frac >= 0.5 {
		return bytes.Clone(ino.data)
	}
	return bytes.Clone(ino.synced)
}

// Names lists every file path, for tests.
func (m *MemFS) Names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n := range m.names {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ReadAll returns a copy of a file's current bytes, for tests.
func (m *MemFS) ReadAll(name string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ino, ok := m.names[clean(name)]
	if !ok {
		return nil, false
	}
	return bytes.Clone(ino.data), true
}

// WriteAll replaces a file's bytes (creating it), synced, for tests that
// damage a store.
func (m *MemFS) WriteAll(name string, data []byte) {
	name = clean(name)
	m.mu.Lock()
	defer m.mu.Unlock()
	ino := &memInode{data: bytes.Clone(data), synced: bytes.Clone(data)}
	m.names[name] = ino
	m.durable[name] = ino
	if strings.Contains(name, "/") {
		m.dirs[path.Dir(name)] = true
	}
}
