package kv_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestRepairCountsDroppedBlock: when a table's data block is damaged,
// Repair drops the block's entries and says so: the table in Lost, the
// entries it dropped (the footer's count less those kept) and the
// block's bytes, while every other key survives.
func TestRepairCountsDroppedBlock(t *testing.T) {
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 0))
	if err != nil {
		t.Fatal(err)
	}
	const keys = 2000
	b := new(kv.Batch)
	for i := range keys {
		b.Set(fmt.Appendf(nil, "key%05d", i), []byte(strings.Repeat("v", 40)))
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	man, err := manifest.Read(mem, memDir)
	if err != nil || len(man.Tables) != 1 {
		t.Fatalf("manifest: %+v, %v", man, err)
	}
	name := memDir + "/" + manifest.TableName(man.Tables[0].Num)
	data, _ := mem.ReadAll(name)
	data[100] ^= 1 // inside the first data block
	mem.WriteAll(name, data)

	rep, err := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: mem, LockTimeout: -1}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Lost) != 1 || rep.Lost[0].File != name || rep.Lost[0].Bytes < 4096 {
		t.Fatalf("Lost = %+v, want the table's first block", rep.Lost)
	}
	if rep.DroppedEntries == 0 || rep.Keys+int(rep.DroppedEntries) != keys || rep.DroppedBytes != rep.Lost[0].Bytes {
		t.Fatalf("kept %d keys, dropped %d entries and %d bytes, of %d keys", rep.Keys, rep.DroppedEntries, rep.DroppedBytes, keys)
	}
}
