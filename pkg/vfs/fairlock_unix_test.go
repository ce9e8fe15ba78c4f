//go:build unix

package vfs

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitersQueued counts the tickets waiting in dir's queue.
func waitersQueued(dir string) int {
	names, _ := os.ReadDir(filepath.Join(dir, QueueDir))
	n := 0
	for _, e := range names {
		if strings.HasPrefix(e.Name(), "w") {
			n++
		}
	}
	return n
}

// TestExclusiveLockIsFIFO: writers that queue for a held directory lock
// get it in the order they arrived, and a writer that finds it free while
// others are queued waits behind them.
func TestExclusiveLockIsFIFO(t *testing.T) {
	dir := t.TempDir()
	holder, err := Default.LockDir(dir, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	const n = 6
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, err := Default.LockDir(dir, true, time.Minute)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			l.Close()
		}()
		// The next one starts once this one is in the queue.
		deadline := time.Now().Add(time.Minute)
		for waitersQueued(dir) != i+1 {
			if time.Now().After(deadline) {
				t.Fatalf("waiter %d never queued", i)
			}
			time.Sleep(time.Millisecond)
		}
	}
	holder.Close()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("acquired in the order %v, want arrival order", order)
		}
	}
	if q := waitersQueued(dir); q != 0 {
		t.Fatalf("%d tickets left in the queue", q)
	}
}

// TestDeadWaiterSwept: a ticket whose holder died (its file left, its lock
// free) delays nobody for good: the next queued writer passes it and
// removes it.
func TestDeadWaiterSwept(t *testing.T) {
	dir := t.TempDir()
	q := filepath.Join(dir, QueueDir)
	os.MkdirAll(q, 0o700)
	os.WriteFile(filepath.Join(q, ticketName(1)), nil, 0o600) // a dead waiter's
	os.WriteFile(filepath.Join(q, "counter"), []byte("1\n"), 0o600)
	l, err := Default.LockDir(dir, true, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if n := waitersQueued(dir); n != 0 {
		t.Fatalf("%d tickets left after the sweep", n)
	}
	// With the queue empty again, a free lock is taken at once.
	l, err = Default.LockDir(dir, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
}
