//go:build unix

package vfs

import (
	"io"
	"os"
	"syscall"
	"time"
	"unsafe"

	"github.com/gofrs/flock"
	"golang.org/x/sys/unix"
)

// noFollow makes opens fail on a symbolic link at the final path element.
const noFollow = unix.O_NOFOLLOW

// nonBlock makes opening a FIFO return at once instead of waiting for
// its other end (see openRegular).
const nonBlock = unix.O_NONBLOCK

func mapFile(f *os.File) ([]byte, func() error, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if st.Size() == 0 {
		return nil, func() error { return nil }, nil
	}
	if int64(int(st.Size())) != st.Size() {
		return nil, nil, syscall.EFBIG
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return unix.Munmap(data) }, nil
}

// DropPages implements PageDropper with madvise(MADV_DONTNEED) on the
// pages wholly inside b. On a shared, read-only file mapping that only
// unmaps them from the process: the page cache keeps them, and the next
// read maps them again with the file's bytes.
func (osFS) DropPages(b []byte) {
	if len(b) == 0 {
		return
	}
	ps := uintptr(os.Getpagesize())
	addr := uintptr(unsafe.Pointer(&b[0]))
	start := int((ps - addr%ps) % ps)
	end := len(b) - int((addr+uintptr(len(b)))%ps)
	if end-start < int(ps) {
		return
	}
	_ = unix.Madvise(b[start:end], unix.MADV_DONTNEED)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func ownerUID(st os.FileInfo) int {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return int(s.Uid)
	}
	return -1
}

// MapCopies implements MapCopier: Map maps the file.
func (osFS) MapCopies() bool { return false }

// LockDir implements FS: it flocks the directory itself. A lock file
// inside it could be unlinked under its holder, and the next process
// would create a new one and lock that; a directory cannot be replaced
// while the path that names it is in use without moving every file of the
// store with it.
//
// Exclusive lockers wait their turn in arrival order (fairLockDir).
func (osFS) LockDir(dir string, exclusive bool, timeout time.Duration) (io.Closer, error) {
	if exclusive {
		return fairLockDir(dir, timeout)
	}
	return lockFlock(flock.New(dir, flock.SetFlag(os.O_RDONLY|unix.O_DIRECTORY)), exclusive, timeout)
}

// dataEnd implements holeFinder with lseek's SEEK_DATA and SEEK_HOLE: the
// end of the file's last data extent. Any error (a filesystem without
// them) answers the size, which is always safe.
func (f osFile) dataEnd(size int64) int64 {
	fd := int(f.Fd())
	end, off := int64(0), int64(0)
	for off < size {
		d, err := unix.Seek(fd, off, unix.SEEK_DATA)
		if err == unix.ENXIO {
			break // no data from off on
		}
		if err != nil {
			return size
		}
		h, err := unix.Seek(fd, d, unix.SEEK_HOLE)
		if err != nil || h <= d {
			return size
		}
		end, off = h, h
	}
	return min(end, size)
}
