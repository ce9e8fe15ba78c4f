//go:build unix

package vfs

import (
	"errors"
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
