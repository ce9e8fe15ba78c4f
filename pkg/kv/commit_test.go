package kv

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// gatedFS holds every log fdatasync until the test lets it through, with
// the error the test chooses, and counts them.
type gatedFS struct {
	vfs.FS
	syncs atomic.Int64
	gate  chan error
	open  sync.Once
}

// release lets every later fdatasync through.
func (g *gatedFS) release() { g.open.Do(func() { close(g.gate) }) }

type gatedFile struct {
	vfs.File
	fs *gatedFS
}

// errPanic, sent to the gate, makes the fdatasync panic.
var errPanic = errors.New("panic in fdatasync")

func (f gatedFile) Sync() error {
	f.fs.syncs.Add(1)
	if err := <-f.fs.gate; err == errPanic {
		panic(err)
	} else if err != nil {
		return err
	}
	return f.File.Sync()
}

func (g *gatedFS) OpenRW(name string) (vfs.File, error) {
	f, err := g.FS.OpenRW(name)
	if err != nil || !strings.HasSuffix(name, ".wal") {
		return f, err
	}
	return gatedFile{f, g}, nil
}

// waitFor polls cond, failing the test after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// receive takes the next writer's result, failing the test if none comes.
func receive(t *testing.T, results chan error) error {
	t.Helper()
	select {
	case err := <-results:
		return err
	case <-time.After(20 * time.Second):
		t.Fatal("timed out waiting for a writer")
		return nil
	}
}

func (q *commitQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.waiting)
}

// gatedStore opens a store that holds one key, "before", and whose log
// fdatasyncs from then on wait at the gate.
func gatedStore(t *testing.T) (*vfs.MemFS, *DB, *gatedFS) {
	t.Helper()
	mem := vfs.NewMemFS()
	db, err := Open("/kv-commit-test", &Options{FS: mem, LockTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("before"), []byte("0")); err != nil {
		t.Fatal(err)
	}
	g := &gatedFS{FS: mem, gate: make(chan error)}
	db.fs = g
	f, err := g.OpenRW(db.walName())
	if err != nil {
		t.Fatal(err)
	}
	db.walFile.Close()
	db.walFile = f
	// A failed test must not leave a writer held at the gate, where it
	// would keep Close waiting.
	t.Cleanup(func() {
		g.release()
		db.Close()
	})
	return mem, db, g
}

// queueGroup sets up a group commit: a first write ("first") waits at its
// fdatasync while n writers, write(i) each, queue behind it; then the
// first write is let through, and queueGroup returns once the n writers'
// group is held at its own fdatasync.
func queueGroup(t *testing.T, db *DB, g *gatedFS, n int, write func(i int)) {
	t.Helper()
	first := make(chan error, 1)
	go func() { first <- db.Set([]byte("first"), []byte("1")) }()
	waitFor(t, "the first write's fdatasync", func() bool { return g.syncs.Load() == 1 })
	for i := range n {
		go write(i)
	}
	// The first write is still at the front of the queue, in its sync.
	waitFor(t, "the group to queue", func() bool { return db.commits.len() == n+1 })
	g.gate <- nil
	if err := receive(t, first); err != nil {
		t.Fatalf("first write: %v", err)
	}
	waitFor(t, "the group's fdatasync", func() bool { return g.syncs.Load() == 2 })
}

// TestReadersDoNotWaitForSync: while a durable write waits for its
// fdatasync, reads of the handle go on, and do not see that write until
// it is acknowledged.
func TestReadersDoNotWaitForSync(t *testing.T) {
	_, db, g := gatedStore(t)
	written := make(chan error, 1)
	go func() { written <- db.Set([]byte("new"), []byte("1")) }()
	waitFor(t, "the write's fdatasync", func() bool { return g.syncs.Load() == 1 })
	read := make(chan error, 1)
	go func() {
		v, err := db.Get([]byte("before"))
		if err == nil && string(v) != "0" {
			err = fmt.Errorf("before = %q", v)
		}
		if _, nerr := db.Get([]byte("new")); err == nil && !errors.Is(nerr, ErrNotFound) {
			err = fmt.Errorf("a write not yet acknowledged is visible: %v", nerr)
		}
		read <- err
	}()
	if err := receive(t, read); err != nil {
		t.Fatal(err)
	}
	g.gate <- nil
	if err := receive(t, written); err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("new")); err != nil || string(v) != "1" {
		t.Fatalf("after the write: %q, %v", v, err)
	}
	g.release()
}

// TestGroupCommit: durable writers that queue up while a log fdatasync
// runs share the next one; each gets the group's result, so when that
// fdatasync fails, every one of them gets the error; and what a group
// acknowledged survives a crash.
func TestGroupCommit(t *testing.T) {
	for _, fail := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail=%v", fail), func(t *testing.T) {
			mem, db, g := gatedStore(t)

			const followers = 4
			results := make(chan error, followers)
			// One of the followers leads the rest: one more sync for all.
			queueGroup(t, db, g, followers, func(i int) {
				var b Batch
				b.Set(fmt.Appendf(nil, "f%d-a", i), []byte("A"))
				b.Set(fmt.Appendf(nil, "f%d-b", i), []byte("B"))
				results <- db.Apply(&b)
			})
			injected := errors.New("injected sync failure")
			if fail {
				g.gate <- injected
			} else {
				g.gate <- nil
			}
			for range followers {
				err := receive(t, results)
				if fail != (err != nil) || fail && !errors.Is(err, injected) {
					t.Fatalf("follower: %v (sync failed: %v)", err, fail)
				}
			}
			if n := g.syncs.Load(); n != 2 {
				t.Fatalf("%d fdatasyncs for 1 + %d writers, want 2", n, followers)
			}
			// The group is one record, so a crash that keeps part of it
			// leaves a torn tail, never a damaged record before a whole
			// one: "before", the first write's, the group's.
			data, _ := mem.ReadAll(db.walName())
			res, err := wal.Scan(data, func(wal.Record) error { return nil })
			if err != nil || res.Records != 3 {
				t.Fatalf("the log holds %d records (%v), want 3", res.Records, err)
			}
			if fail {
				// Both the state and its cause: a caller can tell a
				// full disk from another failure once the handle is
				// broken.
				if err := db.Set([]byte("after"), []byte("x")); !errors.Is(err, ErrBroken) || !errors.Is(err, injected) {
					t.Fatalf("a write after the failed sync: %v, want ErrBroken wrapping %v", err, injected)
				}
				db.Close()
				return
			}
			// Everything acknowledged is durable: a crash that drops all
			// unsynced data keeps it.
			g.release()
			crashed := mem.Crash(vfs.CrashOptions{})
			db.Close()
			db2, err := Open("/kv-commit-test", &Options{FS: crashed, LockTimeout: -1, ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer db2.Close()
			keys := []string{"before", "first"}
			for i := range followers {
				keys = append(keys, fmt.Sprintf("f%d-a", i), fmt.Sprintf("f%d-b", i))
			}
			for _, k := range keys {
				if _, err := db2.Get([]byte(k)); err != nil {
					t.Errorf("after a crash, %s: %v", k, err)
				}
			}
		})
	}
}

// TestGroupCommitLeaderPanics: when a group's commit panics, the panic
// reaches its leader's caller, the other writers of the group get
// errLeaderPanicked, and the handle is broken rather than stuck: later
// writes fail at once and Close returns.
func TestGroupCommitLeaderPanics(t *testing.T) {
	_, db, g := gatedStore(t)
	const group = 3
	results := make(chan error, group)
	queueGroup(t, db, g, group, func(i int) {
		defer func() {
			if r := recover(); r != nil {
				results <- fmt.Errorf("panicked: %v", r)
			}
		}()
		results <- db.Set(fmt.Appendf(nil, "g%d", i), []byte("G"))
	})
	g.gate <- errPanic
	panicked, told := 0, 0
	for range group {
		switch err := receive(t, results); {
		case err != nil && err.Error() == "panicked: "+errPanic.Error():
			panicked++
		case errors.Is(err, errLeaderPanicked) && errors.Is(err, ErrBroken):
			told++
		default:
			t.Fatalf("a writer of the group got %v", err)
		}
	}
	if panicked != 1 || told != group-1 {
		t.Fatalf("%d leaders panicked and %d writers were told, want 1 and %d", panicked, told, group-1)
	}
	if err := db.Set([]byte("after"), []byte("x")); !errors.Is(err, ErrBroken) {
		t.Fatalf("a write after the panic: %v, want ErrBroken", err)
	}
}

// panicFS panics when a table is created.
type panicFS struct{ vfs.FS }

func (p panicFS) Create(name string) (vfs.File, error) {
	if strings.HasSuffix(name, ".sst") {
		panic("table creation panicked")
	}
	return p.FS.Create(name)
}

// TestDeferredIngestPanics: a panic in the background write of a batch
// that an unsynced Apply accepted breaks the handle (the next calls report
// it, reads included, since the batch is gone) instead of the process.
func TestDeferredIngestPanics(t *testing.T) {
	db, err := Open("/kv-commit-test", &Options{FS: panicFS{vfs.NewMemFS()}, LockTimeout: -1, NoSync: true, FlushThreshold: 100})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	for i := range 20 {
		b.Set(fmt.Appendf(nil, "k%02d", i), []byte("a value long enough"))
	}
	if err := db.Apply(&b); err != nil {
		t.Fatalf("Apply = %v; the table is written after it returns", err)
	}
	if err := db.Sync(); !errors.Is(err, ErrBroken) || !strings.Contains(err.Error(), "table creation panicked") {
		t.Fatalf("Sync = %v, want ErrBroken naming the panic", err)
	}
	if _, err := db.Get([]byte("k00")); !errors.Is(err, ErrBroken) {
		t.Fatalf("Get = %v, want ErrBroken", err)
	}
	if err := db.Close(); !errors.Is(err, ErrBroken) {
		t.Fatalf("Close = %v, want ErrBroken", err)
	}
}

// TestGroupCommitCrashWithHoles crashes while a group's fdatasync runs,
// with the unsynced sectors written back out of order (some zeroed, later
// ones kept). The group is one record, so whatever survives is a torn
// tail: the store opens, keeps what was acknowledged, and holds the group
// whole or not at all.
func TestGroupCommitCrashWithHoles(t *testing.T) {
	mem, db, g := gatedStore(t)
	const group = 4
	big := bytes.Repeat([]byte("v"), 700) // each batch spans sectors
	results := make(chan error, group)
	queueGroup(t, db, g, group, func(i int) {
		var b Batch
		b.Set(fmt.Appendf(nil, "g%d-a", i), big)
		b.Set(fmt.Appendf(nil, "g%d-b", i), big)
		results <- db.Apply(&b)
	})
	// The group's record is written, its fdatasync not done: crash now.
	kept, lost := 0, 0
	for seed := uint64(1); seed <= 40; seed++ {
		crashed := mem.Crash(vfs.CrashOptions{UnsyncedFraction: 1, HoleSeed: seed})
		cdb, err := Open("/kv-commit-test", &Options{FS: crashed, LockTimeout: -1})
		if err != nil {
			t.Fatalf("seed %d: the store does not open after the crash: %v", seed, err)
		}
		for _, k := range []string{"before", "first"} {
			if _, err := cdb.Get([]byte(k)); err != nil {
				t.Fatalf("seed %d: acknowledged %s: %v", seed, k, err)
			}
		}
		present := 0
		for i := range group {
			for _, s := range []string{"a", "b"} {
				if v, err := cdb.Get(fmt.Appendf(nil, "g%d-%s", i, s)); err == nil && bytes.Equal(v, big) {
					present++
				}
			}
		}
		switch present {
		case 0:
			lost++
		case 2 * group:
			kept++
		default:
			t.Fatalf("seed %d: %d of the group's %d keys survived", seed, present, 2*group)
		}
		cdb.Close()
	}
	if lost == 0 {
		t.Fatal("no crash lost the unsynced group: the holes were never tested")
	}
	g.release()
	for range group {
		if err := receive(t, results); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("40 crashes: the group kept whole %d times, lost whole %d times", kept, lost)
}
