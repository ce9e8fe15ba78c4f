//go:build unix

package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOSLockSecondDescriptor: the operating system's lock must survive the
// classic trap of POSIX (fcntl) record locks, which the kernel drops as soon
// as the holding process closes ANY descriptor of the file. A second
// descriptor of the lock file, opened and closed in the holder, must leave
// the lock in place, both against a fresh open file description (flock
// conflicts between descriptions, even in one process) and against Lock.
func TestOSLockSecondDescriptor(t *testing.T) {
	name := filepath.Join(t.TempDir(), "LOCK")
	blocked := func(what string, exclusiveHeld bool) {
		t.Helper()
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
			t.Fatalf("%s: exclusive flock from a fresh description: %v, want EWOULDBLOCK", what, err)
		}
		if exclusiveHeld {
			if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
				t.Fatalf("%s: shared flock from a fresh description: %v, want EWOULDBLOCK", what, err)
			}
		}
		if l, err := Default.Lock(name, true, false, 0); !errors.Is(err, ErrLockTimeout) {
			if err == nil {
				l.Close()
			}
			t.Fatalf("%s: a second exclusive Lock: %v, want ErrLockTimeout", what, err)
		}
	}
	for _, exclusive := range []bool{true, false} {
		held, err := Default.Lock(name, exclusive, true, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, flag := range []int{os.O_RDONLY, os.O_RDWR} {
			f, err := os.OpenFile(name, flag, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Close()
		}
		blocked("after closing a second descriptor", exclusive)
		// The failed attempts above closed their descriptors too.
		blocked("after failed lock attempts closed theirs", exclusive)
		if err := held.Close(); err != nil {
			t.Fatal(err)
		}
		l, err := Default.Lock(name, true, false, 0)
		if err != nil {
			t.Fatalf("after the holder closed: %v", err)
		}
		l.Close()
	}
}

// TestOSLockDirExcludes: LockDir locks the directory itself, so files
// deleted or created inside it change nothing, and a fresh flock of the
// directory is refused while it is held.
func TestOSLockDirExcludes(t *testing.T) {
	dir := t.TempDir()
	for _, exclusive := range []bool{true, false} {
		held, err := Default.LockDir(dir, exclusive, 0)
		if err != nil {
			t.Fatal(err)
		}
		lock := filepath.Join(dir, "LOCK")
		if err := os.WriteFile(lock, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(lock); err != nil {
			t.Fatal(err)
		}
		if l, err := Default.LockDir(dir, true, 0); !errors.Is(err, ErrLockTimeout) {
			if err == nil {
				l.Close()
			}
			t.Fatalf("exclusive=%v held: a second exclusive LockDir: %v, want ErrLockTimeout", exclusive, err)
		}
		f, err := os.Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
			t.Fatalf("exclusive=%v held: exclusive flock of the directory: %v, want EWOULDBLOCK", exclusive, err)
		}
		f.Close()
		if !exclusive {
			shared, err := Default.LockDir(dir, false, 0)
			if err != nil {
				t.Fatalf("a second shared LockDir beside a shared holder: %v", err)
			}
			shared.Close()
		}
		if err := held.Close(); err != nil {
			t.Fatal(err)
		}
	}
	again, err := Default.LockDir(dir, true, 0)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again.Close()
	if _, err := Default.LockDir(filepath.Join(dir, "absent"), false, 0); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LockDir of a missing directory: %v, want ErrNotExist", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Default.LockDir(file, false, 0); err == nil {
		t.Fatal("LockDir of a regular file succeeded")
	}
}
