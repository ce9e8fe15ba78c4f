//go:build unix

package vfs

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gofrs/flock"
	"golang.org/x/sys/unix"
)

// fairLockDir takes the exclusive lock of dir in the queue's order.
func fairLockDir(dir string, timeout time.Duration) (io.Closer, error) {
	newMain := func() *flock.Flock { return flock.New(dir, flock.SetFlag(os.O_RDONLY|unix.O_DIRECTORY)) }
	q := filepath.Join(dir, QueueDir)
	main := newMain()
	ok, err := main.TryLock()
	if err != nil {
		main.Close()
		return nil, err
	}
	if ok && !queued(q) {
		return main, nil
	}
	main.Close() // held, or free while others wait: take a turn after them
	if timeout <= 0 {
		return nil, ErrLockTimeout
	}
	deadline := time.Now().Add(timeout)
	t, err := takeTicket(q)
	if err != nil {
		// No queue (a read-only directory, say): wait as the kernel
		// orders it.
		return lockFlock(newMain(), true, timeout)
	}
	defer t.leave()
	if pred, err := os.Open(filepath.Join(q, ticketName(t.n-1))); err == nil {
		// Gone (removed, or never made): nothing to wait for.
		if err := waitReleased(pred, time.Until(deadline)); err != nil {
			return nil, err
		}
	}
	held, err := lockFlock(newMain(), true, max(time.Until(deadline), 0))
	if err != nil {
		return nil, err
	}
	t.sweep()
	return held, nil
}

// queued reports whether a writer waits in q.
func queued(q string) bool {
	names, err := os.ReadDir(q)
	if err != nil {
		return false
	}
	for _, n := range names {
		if strings.HasPrefix(n.Name(), "w") {
			return true
		}
	}
	return false
}

func ticketName(n uint64) string { return fmt.Sprintf("w%020d", n) }

// ticket is a place in the queue: the held lock of the file named after
// its number.
type ticket struct {
	q    string
	n    uint64
	file *flock.Flock
}

// takeTicket gives the next number, under the lock of q/counter, and
// creates and locks the number's file before the counter's lock is let
// go: the next waiter finds it held.
func takeTicket(q string) (*ticket, error) {
	if err := os.MkdirAll(q, 0o700); err != nil {
		return nil, err
	}
	counter := flock.New(filepath.Join(q, "counter"), flock.SetFlag(os.O_CREATE|os.O_RDWR), flock.SetPermissions(0o600))
	if err := counter.Lock(); err != nil {
		counter.Close()
		return nil, err
	}
	defer counter.Close()
	f, err := os.OpenFile(counter.Path(), os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	last, _ := strconv.ParseUint(strings.TrimSpace(string(buf[:n])), 10, 64)
	for next := last + 1; ; next++ {
		name := filepath.Join(q, ticketName(next))
		w, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // a leftover of a crash: numbers are never reused
		}
		if err != nil {
			return nil, err
		}
		w.Close()
		fl := flock.New(name, flock.SetFlag(os.O_RDWR))
		if err := fl.Lock(); err != nil {
			fl.Close()
			os.Remove(name)
			return nil, err
		}
		if err := f.Truncate(0); err == nil {
			f.WriteAt([]byte(strconv.FormatUint(next, 10)+"\n"), 0)
		}
		return &ticket{q: q, n: next, file: fl}, nil
	}
}

// leave removes the ticket's file, then releases its lock: the next
// waiter, which may hold it open, is let through either way.
func (t *ticket) leave() {
	os.Remove(t.file.Path())
	t.file.Close()
}

// sweep removes the files of earlier tickets whose holders died (their
// locks are free), so that a crash does not make every later writer queue.
// Called with the directory's lock held: every live earlier waiter holds
// its file's lock.
func (t *ticket) sweep() {
	names, err := os.ReadDir(t.q)
	if err != nil {
		return
	}
	mine := ticketName(t.n)
	for _, n := range names {
		name := n.Name()
		if !strings.HasPrefix(name, "w") || name >= mine {
			continue
		}
		fl := flock.New(filepath.Join(t.q, name), flock.SetFlag(os.O_RDWR))
		if ok, err := fl.TryLock(); err == nil && ok {
			os.Remove(fl.Path())
		}
		fl.Close()
	}
}

// waitReleased waits until no process holds an exclusive lock of f (the
// previous ticket's holder has left, or died), then closes f. After the
// timeout the wait goes on in the background and closes f when it ends.
func waitReleased(f *os.File, timeout time.Duration) error {
	fd := int(f.Fd())
	if err := unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB); err == nil {
		return f.Close()
	}
	done := make(chan error, 1)
	go func() {
		var err error
		for {
			if err = unix.Flock(fd, unix.LOCK_SH); err != unix.EINTR {
				break
			}
		}
		done <- err
	}()
	timer := time.NewTimer(max(timeout, 0))
	defer timer.Stop()
	select {
	case err := <-done:
		f.Close()
		return err
	case <-timer.C:
		go func() {
			<-done
			f.Close()
		}()
		return ErrLockTimeout
	}
}
