package kv_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestRepairDoesNotResurrectReplacedTable is the reported case: a key in a
// table of its own is deleted and compacted away (nothing live, so no
// table is written), then a power loss, then the manifest is lost. The
// compaction's removal of the replaced table must be durable: a power loss
// that brought it back would have Repair, with no manifest to go by, take
// it for a live table and serve the deleted value.
func TestRepairDoesNotResurrectReplacedTable(t *testing.T) {
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 1<<10))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("k"), bytes.Repeat([]byte("v"), 4<<10)); err != nil {
		t.Fatal(err)
	}
	if st, err := db.Stats(); err != nil || len(st.Tables) != 1 {
		t.Fatalf("the 4 KiB value should be in a table of its own: %+v %v", st, err)
	}
	if err := db.Delete([]byte("k")); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	crashed := mem.Crash(vfs.CrashOptions{})
	if err := crashed.Remove(memDir + "/" + manifest.FileName); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: crashed, LockTimeout: -1}}); err != nil {
		t.Fatal(err)
	}
	db, err = kv.Open(memDir, &kv.Options{FS: crashed, LockTimeout: -1, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Get([]byte("k")); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("after the power loss and Repair, the deleted k reads %d bytes (%v)", len(v), err)
	}
}
