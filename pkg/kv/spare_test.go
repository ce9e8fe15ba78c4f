package kv

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/kvtool/kv/pkg/vfs"
)

// TestIngestReusesBatchMemory: an unsynced handle copies each ingested
// batch into the memory of the last one whose table is written, and the
// batches written from reused memory read back whole.
func TestIngestReusesBatchMemory(t *testing.T) {
	db, err := Open("/kv-spare", &Options{FS: vfs.NewMemFS(), LockTimeout: -1, NoSync: true, FlushThreshold: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var arenas []unsafe.Pointer
	for round := range 4 {
		var b Batch
		for i := range 100 {
			b.Set(fmt.Appendf(nil, "key%03d", i*4+round%4), fmt.Appendf(nil, "round %d value %d", round, i))
		}
		if err := db.Apply(&b); err != nil {
			t.Fatal(err)
		}
		if err := db.Sync(); err != nil { // waits for the table
			t.Fatal(err)
		}
		db.spareMu.Lock()
		if db.spare == nil {
			t.Fatalf("round %d: no spare memory kept", round)
		}
		arenas = append(arenas, unsafe.Pointer(unsafe.SliceData(db.spare.arena)))
		db.spareMu.Unlock()
	}
	if arenas[1] != arenas[0] || arenas[3] != arenas[0] {
		t.Errorf("arenas %v: batches of one size did not reuse the first one's memory", arenas)
	}
	for round := range 4 {
		for i := range 100 {
			k := fmt.Appendf(nil, "key%03d", i*4+round%4)
			v, err := db.Get(k)
			if want := fmt.Sprintf("round %d value %d", round, i); err != nil || string(v) != want {
				t.Fatalf("%s = %q, %v; want %q", k, v, err, want)
			}
		}
	}
}
