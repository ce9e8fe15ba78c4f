package vfs

import (
	"path/filepath"
	"slices"
	"testing"
)

// hintFile records the writeback hints it receives.
type hintFile struct {
	File
	hints [][2]int64
}

func (f *hintFile) startWriteback(off, n int64) { f.hints = append(f.hints, [2]int64{off, n}) }

// TestStartWritebackReachesTheFile: the hint reaches a file that takes it,
// through ErrorFS's wrapper too and without using up an injection point,
// and a file that cannot take it ignores it.
func TestStartWritebackReachesTheFile(t *testing.T) {
	m := NewMemFS()
	m.MkdirAll("/d")
	plain := writeFile(t, m, "/d/x", "hello", false)
	StartWriteback(plain, 0, 5) // MemFS has no writeback: nothing happens

	rec := &hintFile{File: plain}
	e := NewErrorFS(m, 0, false, nil)
	wrapped := errorFile{File: rec, e: e}
	StartWriteback(wrapped, 0, 3)
	StartWriteback(rec, 3, 2)
	if want := [][2]int64{{0, 3}, {3, 2}}; !slices.Equal(rec.hints, want) {
		t.Errorf("hints %v, want %v", rec.hints, want)
	}
	if e.Count() != 0 {
		t.Errorf("the hint counted as %d operations", e.Count())
	}
}

// TestStartWritebackOnDisk: on the operating system's filesystem the hint
// leaves the data as written, and the Sync that follows succeeds.
func TestStartWritebackOnDisk(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	f := writeFile(t, Default, name, "some bytes to write back", false)
	defer f.Close()
	StartWriteback(f, 0, 24)
	StartWriteback(f, 100, 10) // past the end: harmless
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 24)
	if _, err := f.ReadAt(got, 0); err != nil || string(got) != "some bytes to write back" {
		t.Fatalf("read back %q, %v", got, err)
	}
}
