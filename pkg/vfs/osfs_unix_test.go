//go:build unix

package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestOSRefusesNonRegular: a FIFO, a directory or a device where a file is
// opened is refused with ErrNotRegular, and opening the FIFO does not
// wait for a writer (the test would hang if it did).
func TestOSRefusesNonRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{fifo, dir, "/dev/null"} {
		if _, err := Default.Open(name); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open(%s): %v, want ErrNotRegular", name, err)
		}
		if _, _, err := Default.Map(name); !errors.Is(err, ErrNotRegular) {
			t.Errorf("Map(%s): %v, want ErrNotRegular", name, err)
		}
	}
	if _, err := Default.OpenRW(fifo); !errors.Is(err, ErrNotRegular) {
		t.Errorf("OpenRW(fifo): %v, want ErrNotRegular", err)
	}
}

// TestDataEndSkipsHole: a file extended by truncate(1) ends its data where
// its writes ended (to the filesystem's block), and a file without a hole
// ends at its size; MemFS, which cannot tell, answers the size.
func TestDataEndSkipsHole(t *testing.T) {
	dataEnd := func(fsys FS, name string) (int64, int64, error) {
		f, err := fsys.Open(name)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		return DataEnd(f)
	}
	name := filepath.Join(t.TempDir(), "f")
	f, err := Default.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("data"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	end, size, err := dataEnd(Default, name)
	if err != nil || end != 4 || size != 4 {
		t.Fatalf("no hole: end %d, size %d, %v; want 4, 4", end, size, err)
	}
	const big = 1 << 30
	if err := os.Truncate(name, big); err != nil {
		t.Fatal(err)
	}
	end, size, err = dataEnd(Default, name)
	if err != nil || size != big || end < 4 || end > 1<<20 {
		t.Fatalf("after truncate to 1 GiB: end %d, size %d, %v; want the end of the data, within its first block", end, size, err)
	}
	m := NewMemFS()
	m.MkdirAll("/d")
	mf, _ := m.Create("/d/f")
	mf.WriteAt(make([]byte, 10), 0)
	mf.Close()
	if end, size, err := dataEnd(m, "/d/f"); err != nil || end != 10 || size != 10 {
		t.Fatalf("MemFS: end %d, size %d, %v; want 10, 10", end, size, err)
	}
}
