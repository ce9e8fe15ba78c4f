package vfs

import (
	"bytes"
	"errors"
	"io/fs"
	"runtime"
	"slices"
	"testing"
	"time"
)

func writeFile(t *testing.T, m FS, name, data string, sync bool) File {
	t.Helper()
	f, err := m.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(data), 0); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func content(t *testing.T, m *MemFS, name string) (string, bool) {
	t.Helper()
	b, ok := m.ReadAll(name)
	return string(b), ok
}

// The crash model the engine's tests rely on: file data survives only as
// far as synced (plus the chosen share of unsynced appends), directory
// entries only once their directory is synced.
func TestMemFSCrash(t *testing.T) {
	m := NewMemFS()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	f := writeFile(t, m, "/d/a", "synced", true)
	f.WriteAt([]byte("+unsynced"), 6)
	writeFile(t, m, "/d/new", "x", true) // entry never synced
	for _, c := range []struct {
		opts CrashOptions
		a    string
		new  bool
	}{
		{CrashOptions{UnsyncedFraction: 0}, "", false},
		{CrashOptions{UnsyncedFraction: 1, KeepUnsyncedEntries: true}, "synced+unsynced", true},
	} {
		c2 := m.Crash(c.opts)
		if _, ok := content(t, c2, "/d/a"); ok != c.new {
			// /d/a's entry was not synced either.
			t.Errorf("%+v: /d/a present %v", c.opts, ok)
		}
		if _, ok := content(t, c2, "/d/new"); ok != c.new {
			t.Errorf("%+v: unsynced entry present %v", c.opts, ok)
		}
	}
	if err := m.SyncDir("/d"); err != nil {
		t.Fatal(err)
	}
	for frac, want := range map[float64]string{0: "synced", 0.5: "synced+uns", 1: "synced+unsynced"} {
		got, ok := content(t, m.Crash(CrashOptions{UnsyncedFraction: frac}), "/d/a")
		if !ok || got != want {
			t.Errorf("crash(%v): %q, want %q", frac, got, want)
		}
	}
	// A rename is durable only once the directory is synced.
	writeFile(t, m, "/d/tmp", "new manifest", true)
	m.SyncDir("/d")
	if err := m.Rename("/d/tmp", "/d/a"); err != nil {
		t.Fatal(err)
	}
	if got, _ := content(t, m.Crash(CrashOptions{}), "/d/a"); got != "synced" {
		t.Errorf("unsynced rename survived a crash: %q", got)
	}
	m.SyncDir("/d")
	c := m.Crash(CrashOptions{})
	if got, _ := content(t, c, "/d/a"); got != "new manifest" {
		t.Errorf("synced rename lost: %q", got)
	}
	if _, ok := content(t, c, "/d/tmp"); ok {
		t.Error("the renamed-away name survived")
	}
	// Removal is durable only once synced too.
	m.Remove("/d/new")
	if _, ok := content(t, m.Crash(CrashOptions{}), "/d/new"); !ok {
		t.Error("an unsynced removal took effect in a crash")
	}
	// A truncation below the synced size.
	g, _ := m.OpenRW("/d/a")
	g.Truncate(3)
	if got, _ := content(t, m.Crash(CrashOptions{UnsyncedFraction: 0}), "/d/a"); got != "new manifest" {
		t.Errorf("unsynced truncation: %q", got)
	}
	g.Sync()
	if got, _ := content(t, m.Crash(CrashOptions{}), "/d/a"); got != "new" {
		t.Errorf("synced truncation: %q", got)
	}
}

func TestMemFSBasics(t *testing.T) {
	m := NewMemFS()
	if _, err := m.Create("/nodir/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("create in a missing directory: %v", err)
	}
	m.MkdirAll("/d/e")
	writeFile(t, m, "/d/x", "1", false)
	if _, err := m.Create("/d/x"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("exclusive create of an existing file: %v", err)
	}
	ro, _ := m.Open("/d/x")
	if _, err := ro.WriteAt([]byte("z"), 0); err == nil {
		t.Error("write through a read-only handle")
	}
	if names, _ := m.List("/d"); !slices.Equal(names, []string{"e", "x"}) {
		t.Errorf("List: %v", names)
	}
	if st, err := m.Stat("/d/x"); err != nil || st.Size != 1 || st.IsDir {
		t.Errorf("Stat: %+v %v", st, err)
	}
	if err := m.Remove("/d"); !errors.Is(err, fs.ErrExist) {
		t.Errorf("remove a non-empty directory: %v", err)
	}
	data, err := ReadFile(m, "/d/x")
	if err != nil || string(data) != "1" {
		t.Errorf("ReadFile: %q %v", data, err)
	}
	// Locks: shared with shared, exclusive with nothing; a timeout.
	r1, err := m.Lock("/d/LOCK", false, true, 0)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := m.Lock("/d/LOCK", false, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := m.Lock("/d/LOCK", true, false, 30*time.Millisecond); !errors.Is(err, ErrLockTimeout) || time.Since(start) < 30*time.Millisecond {
		t.Errorf("exclusive beside shared: %v after %v", err, time.Since(start))
	}
	r1.Close()
	r2.Close()
	r2.Close() // a second Close is harmless
	w, err := m.Lock("/d/LOCK", true, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Lock("/d/LOCK", false, false, 0); !errors.Is(err, ErrLockTimeout) {
		t.Errorf("shared beside exclusive: %v", err)
	}
	w.Close()
	if _, err := m.Lock("/d/NOLOCK", false, false, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("lock of a missing file without create: %v", err)
	}
	// LockDir: the same rules on a directory, which must exist.
	dw, err := m.LockDir("/d", true, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.LockDir("/d", false, 0); !errors.Is(err, ErrLockTimeout) {
		t.Errorf("shared LockDir beside exclusive: %v", err)
	}
	dw.Close()
	dr, err := m.LockDir("/d", false, 0)
	if err != nil {
		t.Fatal(err)
	}
	dr.Close()
	if _, err := m.LockDir("/nodir", false, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LockDir of a missing directory: %v", err)
	}
}

func TestErrorFS(t *testing.T) {
	m := NewMemFS()
	m.MkdirAll("/d")
	// Count only.
	e := NewErrorFS(m, 0, false, nil)
	f := writeFile(t, e, "/d/x", "hello", true) // Create, WriteAt, Sync
	f.Close()
	e.Stat("/d/x")
	if e.Count() != 4 || e.Injected() {
		t.Fatalf("count %d injected %v", e.Count(), e.Injected())
	}
	// A single failure at op 2 (the write): half of it lands.
	e = NewErrorFS(m, 2, false, ENOSPC)
	g, err := e.Create("/d/y")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := g.WriteAt([]byte("abcdef"), 0); !errors.Is(err, ENOSPC) || n != 3 {
		t.Errorf("failed write: %d, %v", n, err)
	}
	if got, _ := content(t, m, "/d/y"); got != "abc" {
		t.Errorf("after a failed write: %q", got)
	}
	if err := g.Sync(); err != nil || !e.Injected() {
		t.Errorf("op after a single failure: %v", err)
	}
	// Persistent: every op from failAt on fails.
	e = NewErrorFS(m, 1, true, nil)
	for i := 0; i < 3; i++ {
		if _, err := e.Stat("/d/y"); !errors.Is(err, ErrInjected) {
			t.Errorf("persistent op %d: %v", i, err)
		}
	}
	if _, err := e.Lock("/d/LOCK", true, true, 0); err != nil {
		t.Errorf("Lock is never failed: %v", err)
	}
}

// TestCrashHoles: with HoleSeed, a crash keeps the synced bytes, and of
// the unsynced ones zeroes whole sectors, some before others it keeps.
func TestCrashHoles(t *testing.T) {
	m := NewMemFS()
	if err := m.MkdirAll("/d"); err != nil {
		t.Fatal(err)
	}
	f, err := m.Create("/d/a")
	if err != nil {
		t.Fatal(err)
	}
	synced := bytes.Repeat([]byte("s"), 700)
	f.WriteAt(synced, 0)
	f.Sync()
	m.SyncDir("/d")
	f.WriteAt(bytes.Repeat([]byte("u"), 4000), int64(len(synced)))
	holeBeforeData := false
	for seed := uint64(1); seed <= 20; seed++ {
		got, _ := m.Crash(CrashOptions{UnsyncedFraction: 1, HoleSeed: seed}).ReadAll("/d/a")
		if len(got) != 4700 || !bytes.Equal(got[:700], synced) {
			t.Fatalf("seed %d: %d bytes, synced part kept: %v", seed, len(got), bytes.Equal(got[:700], synced))
		}
		for off := 700; off < len(got); off++ {
			sectorStart := off / sectorSize * sectorSize
			if got[off] != 0 && got[off] != 'u' || got[off] != got[max(sectorStart, 700)] {
				t.Fatalf("seed %d: byte %d is %q, not its sector's", seed, off, got[off])
			}
		}
		if i := bytes.IndexByte(got[700:], 0); i >= 0 && bytes.IndexByte(got[700+i:], 'u') >= 0 {
			holeBeforeData = true
		}
	}
	if !holeBeforeData {
		t.Fatal("no seed zeroed a sector before one it kept")
	}
}

// TestMapCopies: the OS filesystem's Map maps files where the platform
// has mmap here (unix) and reads them whole elsewhere, and says so; a
// filesystem that does not say is taken to map.
func TestMapCopies(t *testing.T) {
	data := []byte("mapped bytes")
	dir := t.TempDir()
	f, err := Default.Create(dir + "/f")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(data, 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	got, release, err := Default.Map(dir + "/f")
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("Map: %q %v", got, err)
	}
	release()
	if MapCopies(Default) == unixLike {
		t.Errorf("MapCopies(Default) = %v on %s, want %v", MapCopies(Default), runtime.GOOS, !unixLike)
	}
	if MapCopies(NewMemFS()) {
		t.Error("MapCopies(MemFS) = true: MemFS stands for a mapping filesystem")
	}
}

// TestMemFSCapacity: a MemFS with a capacity stores what fits and fails
// the rest with ENOSPC, as a full device does; removing a file frees room.
func TestMemFSCapacity(t *testing.T) {
	m := NewMemFS()
	m.SetCapacity(10)
	f, err := m.Create("/a")
	if err != nil {
		t.Fatal(err)
	}
	if n, err := f.WriteAt([]byte("0123456789abc"), 0); n != 10 || !IsNoSpace(err) {
		t.Fatalf("WriteAt past capacity = %d, %v; want 10, ENOSPC", n, err)
	}
	if err := f.Truncate(11); !IsNoSpace(err) {
		t.Fatalf("Truncate past capacity = %v, want ENOSPC", err)
	}
	if n, err := f.WriteAt([]byte("XY"), 3); n != 2 || err != nil {
		t.Fatalf("overwrite within the file = %d, %v", n, err)
	}
	f.Close()
	if err := m.Remove("/a"); err != nil {
		t.Fatal(err)
	}
	g, _ := m.Create("/b")
	if n, err := g.WriteAt(make([]byte, 10), 0); n != 10 || err != nil {
		t.Fatalf("write after freeing room = %d, %v", n, err)
	}
	if m.Used() != 10 {
		t.Fatalf("Used = %d, want 10", m.Used())
	}
}
