package kv_test

import (
	"errors"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestNotAStore: a read-write Open refuses a directory that holds other
// files and no store (ErrNotStore), leaving it as it was; a read-only
// Open reads it as empty and says it found no store (Found). What kv's
// locking and named locks leave does not count as other files.
func TestNotAStore(t *testing.T) {
	mem := vfs.NewMemFS()
	if err := mem.MkdirAll(memDir + "/" + kv.LocksDir); err != nil {
		t.Fatal(err)
	}
	mem.WriteAll(memDir+"/notes.txt", []byte("mine"))
	if _, err := kv.Open(memDir, memOptions(mem, 0)); !errors.Is(err, kv.ErrNotStore) {
		t.Fatalf("Open of a directory of other files = %v, want ErrNotStore", err)
	}
	if names := mem.Names(); len(names) != 1 {
		t.Fatalf("the refused Open left %v", names)
	}
	ro, err := kv.Open(memDir, &kv.Options{FS: mem, LockTimeout: -1, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if ro.Found() {
		t.Fatal("Found() on a directory without a store")
	}
	ro.Close()
	if err := mem.Remove(memDir + "/notes.txt"); err != nil {
		t.Fatal(err)
	}
	db, err := kv.Open(memDir, memOptions(mem, 0))
	if err != nil {
		t.Fatalf("Open once only kv's own folder is left: %v", err)
	}
	if !db.Found() {
		t.Fatal("Found() false on a read-write handle")
	}
	db.Close()
}
