//go:build unix

package vfs

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Pages dropped from a file mapping read back with the file's bytes: a
// scan that drops what it passed never changes what a later read sees.
func TestDropPagesKeepsTheFilesBytes(t *testing.T) {
	want := make([]byte, 1<<20+123)
	for i := range want {
		want[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, want, 0o600); err != nil {
		t.Fatal(err)
	}
	data, release, err := Default.Map(path)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	pd, ok := Default.(PageDropper)
	if !ok {
		t.Fatal("the OS filesystem maps files but is no PageDropper")
	}
	if !bytes.Equal(data, want) {
		t.Fatal("the mapping differs from the file")
	}
	pd.DropPages(data[100 : len(data)-100]) // unaligned ends: whole pages only
	pd.DropPages(data[:0])
	if !bytes.Equal(data, want) {
		t.Fatal("after DropPages the mapping reads other bytes")
	}
}
