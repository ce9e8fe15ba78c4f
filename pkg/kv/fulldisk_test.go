package kv_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestDeleteOnFullDisk: on a device with no room for a table, a delete
// still succeeds (it goes to the log, whose flush is put off), a
// compaction fails with ErrNoSpace and changes nothing, the handle stays
// usable, and once space is freed the next write flushes and a compaction
// gives the space back. Nothing acknowledged is lost at any step.
func TestDeleteOnFullDisk(t *testing.T) {
	const threshold = 8 << 10
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, threshold))
	if err != nil {
		t.Fatal(err)
	}
	value := make([]byte, 1000)
	rand.NewChaCha8([32]byte{1}).Read(value)
	model := state{}
	for i := 0; ; i++ {
		k := fmt.Sprintf("k%03d", i)
		if err := db.Set([]byte(k), value); err != nil {
			t.Fatal(err)
		}
		model[k] = string(value)
		st, err := db.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if i >= 150 && st.LogBytes > threshold-1500 {
			break
		}
	}
	// The device is now full but for a few KiB, with the log near its
	// threshold: room for log records, none for a table.
	mem.SetCapacity(mem.Used() + 3<<10)

	// Fill the log past its threshold with deletes: each is acknowledged.
	deleted := 0
	for i := 0; db.FlushPutOff() == nil; i++ {
		if i == 140 {
			t.Fatalf("the log passed its threshold, yet no flush was put off")
		}
		k := fmt.Sprintf("k%03d", i)
		if err := db.Delete([]byte(k)); err != nil {
			t.Fatalf("delete %s on a full disk: %v", k, err)
		}
		delete(model, k)
		deleted++
	}
	if err := db.FlushPutOff(); !errors.Is(err, kv.ErrNoSpace) || !vfs.IsNoSpace(err) {
		t.Fatalf("FlushPutOff = %v, want a flush put off for lack of room", err)
	}
	if err := checkStore(db, model, nil); err != nil {
		t.Fatal(err)
	}
	before := mem.Names()
	if _, err := db.Compact(); !errors.Is(err, kv.ErrNoSpace) || !vfs.IsNoSpace(err) {
		t.Fatalf("Compact on a full disk = %v, want ErrNoSpace", err)
	}
	if after := mem.Names(); fmt.Sprint(after) != fmt.Sprint(before) {
		t.Fatalf("a failed compaction left files: %v, was %v", after, before)
	}
	// The handle still takes writes, and a reopen (whose flush of the
	// over-full log is put off too) finds every one.
	if err := db.Delete([]byte("k100")); err != nil {
		t.Fatalf("delete after a failed compaction: %v", err)
	}
	delete(model, "k100")
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = kv.Open(memDir, memOptions(mem, threshold))
	if err != nil {
		t.Fatalf("open with a put-off flush on a full disk: %v", err)
	}
	if err := db.FlushPutOff(); !errors.Is(err, kv.ErrNoSpace) {
		t.Fatalf("after reopening, FlushPutOff = %v", err)
	}
	if err := checkStore(db, model, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	verifyClean(t, mem, "full disk")
	if db, err = kv.Open(memDir, memOptions(mem, threshold)); err != nil {
		t.Fatal(err)
	}

	// Space is freed: the next write flushes, a compaction reclaims.
	mem.SetCapacity(0)
	used := mem.Used()
	if err := db.Delete([]byte("k101")); err != nil {
		t.Fatal(err)
	}
	delete(model, "k101")
	if err := db.FlushPutOff(); err != nil {
		t.Fatalf("after space was freed, FlushPutOff = %v", err)
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if now := mem.Used(); now >= used {
		t.Fatalf("compaction after the deletes left %d bytes, had %d", now, used)
	}
	if err := checkStore(db, model, nil); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	verifyClean(t, mem, "after compaction")
}
