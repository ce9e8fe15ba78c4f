package kv_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kvtool/kv/pkg/inspect"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

func openOS(dir string, ro bool, timeout time.Duration) (*kv.DB, error) {
	return kv.Open(dir, &kv.Options{ReadOnly: ro, LockTimeout: timeout})
}

// TestLocking checks the directory lock on the real filesystem: a writer
// excludes writers and readers, readers share, a waiter gives up with
// ErrLocked after its timeout, and gets the lock when the holder lets go.
func TestLocking(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	w, err := openOS(dir, false, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	const wait = 150 * time.Millisecond
	for _, ro := range []bool{false, true} {
		start := time.Now()
		db, err := openOS(dir, ro, wait)
		elapsed := time.Since(start)
		if err == nil {
			db.Close()
			t.Fatalf("read-only %v: opened while a writer holds the lock", ro)
		}
		if !errors.Is(err, kv.ErrLocked) {
			t.Fatalf("read-only %v: %v, want ErrLocked", ro, err)
		}
		// A timer never fires early; how late it fires depends on the
		// machine's load, so there is no upper bound.
		if elapsed < wait {
			t.Errorf("read-only %v: gave up after %v, before its timeout %v", ro, elapsed, wait)
		}
	}
	// A negative timeout tries once (it would otherwise wait for ever:
	// the holder never lets go while it runs).
	if _, err := openOS(dir, false, -1); !errors.Is(err, kv.ErrLocked) {
		t.Errorf("try-once open: %v", err)
	}
	if _, err := inspect.Verify(dir, &kv.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, kv.ErrLocked) {
		t.Errorf("Verify under a writer: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// Readers share the lock and exclude a writer.
	r1, err := openOS(dir, true, wait)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := openOS(dir, true, wait)
	if err != nil {
		t.Fatalf("second reader: %v", err)
	}
	if v, err := r2.Get([]byte("k")); err != nil || string(v) != "v" {
		t.Errorf("reader: %q %v", v, err)
	}
	if rep, err := inspect.Verify(dir, &kv.Options{LockTimeout: wait}); err != nil || !rep.OK() {
		t.Errorf("Verify beside readers: %+v %v", rep, err)
	}
	if _, err := openOS(dir, false, wait); !errors.Is(err, kv.ErrLocked) {
		t.Errorf("writer beside readers: %v", err)
	}
	r1.Close()
	// A waiting writer does not get the lock while a reader holds it, and
	// gets it once the last reader leaves. The wait is bounded only so
	// that a broken lock fails the test instead of hanging it.
	opened := make(chan *kv.DB, 1)
	failed := make(chan error, 1)
	go func() {
		db, err := openOS(dir, false, time.Minute)
		if err != nil {
			failed <- err
			return
		}
		opened <- db
	}()
	select {
	case db := <-opened:
		db.Close()
		t.Fatal("a writer got the lock while a reader held it")
	case err := <-failed:
		t.Fatalf("waiting writer: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	r2.Close()
	select {
	case db := <-opened:
		db.Close()
	case err := <-failed:
		t.Fatalf("waiting writer: %v", err)
	}
	summary(t, "locking: writer excludes writers and readers (ErrLocked after %v), readers share, a waiter proceeds when the holder closes", wait)
}

// TestReadOnlyCreatesNothing opens missing and empty directories
// read-only: they read as empty stores and nothing is created.
func TestReadOnlyCreatesNothing(t *testing.T) {
	base := t.TempDir()
	missing := filepath.Join(base, "missing", "store")
	db, err := openOS(missing, true, time.Second)
	if err != nil {
		t.Fatalf("read-only open of a missing directory: %v", err)
	}
	if _, err := db.Get([]byte("k")); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("Get: %v", err)
	}
	if got, err := contents(db); err != nil || len(got) != 0 {
		t.Errorf("Scan: %v %v", got, err)
	}
	if err := db.Set([]byte("k"), []byte("v")); !errors.Is(err, kv.ErrReadOnly) {
		t.Errorf("Set through a read-only handle: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if rep, err := inspect.Verify(missing, nil); err != nil || !rep.OK() {
		t.Errorf("Verify of a missing store: %+v %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(base, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read-only open or Verify created %s: %v", filepath.Join(base, "missing"), err)
	}
	empty := filepath.Join(base, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if db, err = openOS(empty, true, time.Second); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Errorf("read-only open of an empty directory created %v", ents)
	}
	// The same on MemFS.
	mem := vfs.NewMemFS()
	if db, err = kv.Open(memDir, &kv.Options{FS: mem, ReadOnly: true, LockTimeout: -1}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if names := mem.Names(); len(names) != 0 {
		t.Errorf("MemFS: read-only open created %v", names)
	}
	// A read-only open of a real store changes no byte of it.
	store := filepath.Join(base, "store")
	w, err := openOS(store, false, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	w.Set([]byte("k"), []byte("v"))
	w.Close()
	before := readDir(t, store)
	if db, err = openOS(store, true, time.Second); err != nil {
		t.Fatal(err)
	}
	db.Get([]byte("k"))
	db.Close()
	after := readDir(t, store)
	if len(before) != len(after) {
		t.Errorf("read-only open changed the files: %v -> %v", keysSorted(before), keysSorted(after))
	}
	for n, b := range before {
		if string(after[n]) != string(b) {
			t.Errorf("read-only open changed %s", n)
		}
	}
}
