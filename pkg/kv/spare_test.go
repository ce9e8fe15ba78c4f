package kv

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// TestIngestReusesBatchMemory: an unsynced handle keeps the memory of
// the last ingested batch for the next; the batches written from kept
// memory read back whole, and Sync and Close let the memory go. (Whether
// the memory is the same is an optimisation, left to the benchmarks.)
func TestIngestReusesBatchMemory(t *testing.T) {
	db, err := Open("/kv-spare", &Options{FS: vfs.NewMemFS(), LockTimeout: -1, NoSync: true, FlushThreshold: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for round := range 4 {
		var b Batch
		for i := range 100 {
			b.Set(fmt.Appendf(nil, "key%03d", i*4+round%4), fmt.Appendf(nil, "round %d value %d", round, i))
		}
		if err := db.Apply(&b); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Get([]byte("key000")); err != nil { // waits for the table
			t.Fatal(err)
		}
		db.spareMu.Lock()
		kept := db.spare != nil
		db.spareMu.Unlock()
		if !kept {
			t.Fatalf("round %d: no memory kept: the test misses the path that reuses it", round)
		}
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
	spare := func() *ownedBatch {
		db.spareMu.Lock()
		defer db.spareMu.Unlock()
		return db.spare
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	if spare() != nil {
		t.Error("Sync kept the spare memory")
	}
	var b Batch
	for i := range 100 {
		b.Set(fmt.Appendf(nil, "key%03d", i), []byte("after the sync"))
	}
	if err := db.Apply(&b); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if spare() != nil {
		t.Error("Close kept the spare memory")
	}
}

// TestOwnBatchCopies: ownBatch's copy, in one goroutine or two (from
// parallelCopyMin), into fresh memory or a spare's, holds every key and
// value of the sorted batch, keeps deletes without a value and empty
// values empty, and shares no memory with the caller's batch; the memory
// it holds stays within four times what the batch needs, however large
// the spare it was offered.
func TestOwnBatchCopies(t *testing.T) {
	batch := func(n int) []wal.Op {
		var ops []wal.Op
		for i := range n {
			key := fmt.Appendf(nil, "key%05d", (i*7919)%n)
			switch i % 5 {
			case 0:
				ops = append(ops, wal.Op{Kind: wal.KindDelete, Key: key})
			case 1:
				ops = append(ops, wal.Op{Kind: wal.KindSet, Key: key, Value: []byte{}})
			default:
				ops = append(ops, wal.Op{Kind: wal.KindSet, Key: key, Value: bytes.Repeat([]byte{byte(i)}, 1+i%2000)})
			}
		}
		return ops
	}
	var spare *ownedBatch
	// About 3 KB, then 3 MB, 2 MB and 1.5 MB into the 3 MB batch's memory,
	// then 3 KB again, which gets fresh memory.
	for _, n := range []int{10, 3000, 2000, 1500, 10} {
		ops := batch(n)
		want := sortBatch(ops)
		wantCopy := make([]wal.Op, len(want))
		for i, op := range want {
			wantCopy[i] = wal.Op{Kind: op.Kind, Key: bytes.Clone(op.Key), Value: bytes.Clone(op.Value)}
		}
		got := ownBatch(ops, spare)
		for _, op := range ops { // the caller reuses its buffers
			for j := range op.Key {
				op.Key[j] = '!'
			}
			for j := range op.Value {
				op.Value[j] = '!'
			}
		}
		if len(got.ops) != len(wantCopy) {
			t.Fatalf("n=%d: %d operations, want %d", n, len(got.ops), len(wantCopy))
		}
		for i, op := range got.ops {
			w := wantCopy[i]
			if op.Kind != w.Kind || !bytes.Equal(op.Key, w.Key) || !bytes.Equal(op.Value, w.Value) || (op.Value == nil) != (w.Value == nil) {
				t.Fatalf("n=%d: entry %d is %q=%.10q, want %q=%.10q", n, i, op.Key, op.Value, w.Key, w.Value)
			}
		}
		if cap(got.arena) > 4*len(got.arena)+64 {
			t.Errorf("n=%d: %d bytes held for a batch of %d", n, cap(got.arena), len(got.arena))
		}
		spare = got
	}
}

// TestSyncedIngestReusesSortMemory: a synced handle keeps the memory it
// sorted the last ingested batch in, keeps none of the caller's keys or
// values alive there in between, reads every batch back whole, and lets
// the memory go when the run of ingests ends.
func TestSyncedIngestReusesSortMemory(t *testing.T) {
	db, err := Open("/kv-sorted", &Options{FS: vfs.NewMemFS(), LockTimeout: -1, FlushThreshold: 1000})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for round := range 3 {
		var b Batch
		for i := range 200 {
			b.Set(fmt.Appendf(nil, "key%03d", (i*7+round)%200), fmt.Appendf(nil, "round %d value %d", round, i))
		}
		if !db.ingests(b.ops) {
			t.Fatal("the batch is not ingest-sized: the test misses its path")
		}
		if err := db.Apply(&b); err != nil {
			t.Fatal(err)
		}
		db.mu.RLock()
		kept := db.sorted[:cap(db.sorted)]
		for i, op := range kept {
			if op.Key != nil || op.Value != nil {
				t.Errorf("round %d: sort memory entry %d still points at %q", round, i, op.Key)
				break
			}
		}
		db.mu.RUnlock()
		if len(kept) == 0 {
			t.Fatalf("round %d: no sort memory kept: the test misses the path that reuses it", round)
		}
		for i := range 200 {
			k := fmt.Appendf(nil, "key%03d", (i*7+round)%200)
			if v, err := db.Get(k); err != nil || string(v) != fmt.Sprintf("round %d value %d", round, i) {
				t.Fatalf("round %d: %s = %q %v", round, k, v, err)
			}
		}
	}
	// Any other write ends the run of ingests, and lets the memory go;
	// so does Sync.
	sorted := func() []wal.Op {
		db.mu.RLock()
		defer db.mu.RUnlock()
		return db.sorted
	}
	if err := db.Set([]byte("small"), []byte("write")); err != nil {
		t.Fatal(err)
	}
	if sorted() != nil {
		t.Error("a small write kept the sort memory")
	}
	var b Batch
	for i := range 200 {
		b.Set(fmt.Appendf(nil, "key%03d", i), []byte("again"))
	}
	if err := db.Apply(&b); err != nil {
		t.Fatal(err)
	}
	if sorted() == nil {
		t.Fatal("an ingest kept no sort memory")
	}
	if err := db.Sync(); err != nil {
		t.Fatal(err)
	}
	if sorted() != nil {
		t.Error("Sync kept the sort memory")
	}
}
