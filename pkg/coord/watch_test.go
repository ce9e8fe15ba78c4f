package coord

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kvtool/kv/pkg/kv"
)

// write opens the store at dir, applies fn and closes it, as a one-shot
// kv command does.
func write(t testing.TB, dir string, fn func(db *kv.DB) error) {
	t.Helper()
	db, err := kv.Open(dir, &kv.Options{LockTimeout: 10 * time.Second, FlushThreshold: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := fn(db); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// collector gathers events from a Watch running in the background.
type collector struct {
	mu     sync.Mutex
	events []string
	cond   chan struct{}
}

func (c *collector) add(ev Event) error {
	c.mu.Lock()
	c.events = append(c.events, fmt.Sprintf("%s %s %s %d", ev.Type, ev.Key, ev.Value, ev.Rev))
	c.mu.Unlock()
	select {
	case c.cond <- struct{}{}:
	default:
	}
	return nil
}

// waitFor waits until the last event is last. The bound only turns a
// watcher that lost an event into a failure instead of a hang: a loaded
// machine takes far less.
func (c *collector) waitFor(t *testing.T, last string) []string {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		c.mu.Lock()
		if n := len(c.events); n > 0 && c.events[n-1] == last {
			got := append([]string(nil), c.events...)
			c.mu.Unlock()
			return got
		}
		got := append([]string(nil), c.events...)
		c.mu.Unlock()
		select {
		case <-c.cond:
		case <-deadline:
			t.Fatalf("no event %q after 2 minutes; events: %q", last, got)
		}
	}
}

// TestWatchThroughFlushes: every change is reported in order with its
// revision while the log holds it; a burst that flushes the log into
// tables before the watcher reads is reported per key, last value first
// seen, and removed keys as deletes.
func TestWatchThroughFlushes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "st")
	write(t, dir, func(db *kv.DB) error { return db.Set([]byte("w/a"), []byte("0")) })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := &collector{cond: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, Source{Dir: dir, Poll: 20 * time.Millisecond}, Target{Key: []byte("w/"), Prefix: true}, 2, c.add)
	}()
	write(t, dir, func(db *kv.DB) error { return db.Set([]byte("w/a"), []byte("1")) })
	write(t, dir, func(db *kv.DB) error { return db.Set([]byte("other"), []byte("x")) })
	write(t, dir, func(db *kv.DB) error { return db.Delete([]byte("w/a")) })
	got := c.waitFor(t, "delete w/a  4")
	want := []string{"put w/a 1 2", "delete w/a  4"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("events %q, want %q", got, want)
	}
	// Many writes in one handle flush the log several times: the watcher
	// then reads the keys' state, each changed key once.
	write(t, dir, func(db *kv.DB) error {
		for i := range 200 {
			if err := db.Set(fmt.Appendf(nil, "w/k%03d", i%20), fmt.Appendf(nil, "%0100d", i)); err != nil {
				return err
			}
		}
		if err := db.Set([]byte("w/gone"), nil); err != nil {
			return err
		}
		if _, err := db.Compact(); err != nil {
			return err
		}
		return db.Set([]byte("w/end"), []byte("e"))
	})
	got = c.waitFor(t, "put w/end e 206")
	seen := map[string]string{}
	for _, e := range got[2:] {
		var typ, key, value string
		var rev uint64
		fmt.Sscanf(e, "%s %s %s %d", &typ, &key, &value, &rev)
		seen[key] = value
	}
	for i := 180; i < 200; i++ {
		k := fmt.Sprintf("w/k%03d", i%20)
		if seen[k] != fmt.Sprintf("%0100d", i) {
			t.Fatalf("%s: last value seen %q", k, seen[k])
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// TestWatchFromCompactedRevision: asking for changes the log no longer
// holds is an error naming the oldest revision it holds.
func TestWatchFromCompactedRevision(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "st")
	write(t, dir, func(db *kv.DB) error {
		db.Set([]byte("a"), []byte("1"))
		db.Set([]byte("a"), []byte("2"))
		_, err := db.Compact()
		return err
	})
	err := Watch(context.Background(), Source{Dir: dir}, Target{Key: []byte("a")}, 1, func(Event) error { return nil })
	var ce *kv.CompactedError
	if !errors.As(err, &ce) || ce.Rev != 1 || ce.Oldest != 3 {
		t.Fatalf("watch from 1 after a compaction: %v", err)
	}
}

// TestWaitConditions: Wait returns once the condition holds, through
// writes of other processes' kind (one-shot handles), and gives up with
// the context.
func TestWaitConditions(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "st")
	src := Source{Dir: dir, Poll: 20 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := Wait(ctx, src, []byte("k"), Condition{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("wait for a key never written: %v", err)
	}
	go func() {
		time.Sleep(30 * time.Millisecond)
		write(t, dir, func(db *kv.DB) error { return db.Set([]byte("k"), []byte("first")) })
		write(t, dir, func(db *kv.DB) error { return db.Set([]byte("k"), []byte("second")) })
	}()
	e, err := Wait(context.Background(), src, []byte("k"), Condition{Value: []byte("second")})
	if err != nil || string(e.Value) != "second" {
		t.Fatalf("wait for second: %q %v", e.Value, err)
	}
	write(t, dir, func(db *kv.DB) error {
		return db.SetExpiring([]byte("k"), []byte("v"), time.Now().Add(50*time.Millisecond))
	})
	if _, err := Wait(context.Background(), src, []byte("k"), Condition{Absent: true}); err != nil {
		t.Fatalf("wait for the expiry: %v", err)
	}
}
