package vfs

import (
	"io"
	"io/fs"
	"os"
	"sort"
	"time"

	"github.com/gofrs/flock"
)

// Default is the operating system's filesystem.
var Default FS = osFS{}

type osFS struct{}

type osFile struct{ *os.File }

func (f osFile) Sync() error { return datasync(f.File) }

func (f osFile) Size() (int64, error) {
	st, err := f.File.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

func (osFS) Create(name string) (File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL|noFollow, 0o600)
	if err != nil {
		return nil, err
	}
	// The umask may have narrowed the mode, never widened it; still, set it
	// explicitly so a store is private whatever the umask.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) OpenRW(name string) (File, error) {
	f, err := openRegular(name, os.O_RDWR)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Open(name string) (File, error) {
	f, err := openRegular(name, os.O_RDONLY)
	if err != nil {
		return nil, err
	}
	return osFile{f}, nil
}

func (osFS) Map(name string) ([]byte, func() error, error) {
	f, err := openRegular(name, os.O_RDONLY)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return mapFile(f)
}

// openRegular opens an existing regular file, never through a symbolic
// link, and refuses anything else with ErrNotRegular. The open itself
// cannot block: a FIFO put where a store file belongs would otherwise
// hang it until a writer came, whatever the lock timeout.
func openRegular(name string, flag int) (*os.File, error) {
	f, err := os.OpenFile(name, flag|noFollow|nonBlock, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: ErrNotRegular}
	}
	return f, nil
}

func (osFS) Rename(oldname, newname string) error { return os.Rename(oldname, newname) }

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) List(dir string) ([]string, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	return names, nil
}

func (osFS) Stat(name string) (FileInfo, error) {
	st, err := os.Lstat(name)
	if err != nil {
		return FileInfo{}, err
	}
	return FileInfo{Size: st.Size(), IsDir: st.IsDir(), Mode: uint32(st.Mode().Perm()), UID: ownerUID(st)}, nil
}

func (osFS) MkdirAll(dir string) error {
	_, statErr := os.Stat(dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if statErr != nil {
		// A directory kv creates is private whatever the umask.
		return os.Chmod(dir, 0o700)
	}
	return nil
}

func (osFS) SyncDir(dir string) error { return syncDir(dir) }

func (osFS) Lock(name string, exclusive, create bool, timeout time.Duration) (io.Closer, error) {
	flag := os.O_RDONLY | noFollow
	if create {
		flag |= os.O_CREATE
	}
	return lockFlock(flock.New(name, flock.SetFlag(flag), flock.SetPermissions(0o600)), exclusive, timeout)
}

// lockFlock takes fl's lock, waiting at most timeout, and closes fl when
// it fails.
func lockFlock(fl *flock.Flock, exclusive bool, timeout time.Duration) (io.Closer, error) {
	// The first attempt is made even with a zero timeout.
	ok, err := tryOnce(fl, exclusive)
	if err != nil {
		fl.Close()
		return nil, err
	}
	if ok {
		return fl, nil
	}
	if timeout <= 0 {
		fl.Close()
		return nil, ErrLockTimeout
	}
	// Wait in the kernel rather than poll: a blocked flock is woken the
	// moment the lock is released, where polling lets a busy writer
	// starve a waiter (64 processes incrementing one counter made some
	// wait past 10s). The wait cannot be cancelled, so after the timeout
	// it is left to finish in the background and release what it gets.
	done := make(chan error, 1)
	go func() {
		if exclusive {
			done <- fl.Lock()
		} else {
			done <- fl.RLock()
		}
	}()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			fl.Close()
			return nil, err
		}
		return fl, nil
	case <-timer.C:
		go func() {
			<-done
			fl.Close()
		}()
		return nil, ErrLockTimeout
	}
}

func tryOnce(fl *flock.Flock, exclusive bool) (bool, error) {
	if exclusive {
		return fl.TryLock()
	}
	return fl.TryRLock()
}
