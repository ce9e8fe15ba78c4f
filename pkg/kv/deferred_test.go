package kv_test

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// deferredThreshold makes a batch of 20 sets (about 1.4 KB) large enough
// to be ingested as a table, and a few single sets fill the log.
const deferredThreshold = 600

// deferredWorkload is a history of large batches (each ingested as a
// table, merging with older ones) and single sets (filling the log past
// the threshold, so that some of them flush).
func deferredWorkload() []op {
	var ops []op
	for round := range 6 {
		big := batchOp()
		for k := range 20 {
			big.batch = append(big.batch, setOp(fmt.Sprintf("b%02d", (round*7+k)%40), fmt.Sprintf("round %d value %d %060d", round, k, k)))
		}
		if round%2 == 1 {
			big.batch = append(big.batch, delOp(fmt.Sprintf("s%d", round-1)))
		}
		ops = append(ops, big)
		for k := range 4 {
			ops = append(ops, setOp(fmt.Sprintf("s%d", round+k), fmt.Sprintf("single %d %d %0100d", round, k, k)))
		}
	}
	return ops
}

// openUnsynced opens the store on fsys with NoSync and deferredThreshold.
func openUnsynced(t *testing.T, fsys vfs.FS) *kv.DB {
	t.Helper()
	opts := memOptions(fsys, deferredThreshold)
	opts.NoSync = true
	db, err := kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// TestDeferredApplySameFilesAsSynced: an unsynced handle, whose Apply
// leaves tables and flushes to the background, ends with the same files,
// byte for byte, as a synced one given the same writes.
func TestDeferredApplySameFilesAsSynced(t *testing.T) {
	files := map[bool]map[string][]byte{}
	for _, noSync := range []bool{false, true} {
		mem := vfs.NewMemFS()
		opts := memOptions(mem, deferredThreshold)
		opts.NoSync = noSync
		db, err := kv.Open(memDir, opts)
		if err != nil {
			t.Fatal(err)
		}
		want := state{}
		for _, o := range deferredWorkload() {
			if err := write(db, o); err != nil {
				t.Fatalf("noSync=%v: %v: %v", noSync, o, err)
			}
			want.applyInPlace(o)
		}
		if err := db.Sync(); err != nil {
			t.Fatal(err)
		}
		if err := checkStore(db, want, universe(deferredWorkload()...)); err != nil {
			t.Fatalf("noSync=%v: %v", noSync, err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		files[noSync] = map[string][]byte{}
		for _, name := range mem.Names() {
			data, _ := mem.ReadAll(name)
			files[noSync][name] = data
		}
	}
	if len(files[true]) != len(files[false]) {
		t.Fatalf("unsynced handle left %d files, synced %d", len(files[true]), len(files[false]))
	}
	tables := 0
	for name, data := range files[false] {
		if !bytes.Equal(files[true][name], data) {
			t.Errorf("%s differs between the synced and the unsynced handle", name)
		}
		if bytes.HasSuffix([]byte(name), []byte(".sst")) {
			tables++
		}
	}
	if tables == 0 {
		t.Fatal("the workload wrote no table: the test would not exercise the background")
	}
}

// TestDeferredApplyCopiesBatch: the caller may reuse a batch's buffers as
// soon as Apply returns, even while its table is still being written.
func TestDeferredApplyCopiesBatch(t *testing.T) {
	db := openUnsynced(t, vfs.NewMemFS())
	defer db.Close()
	want := state{}
	for round := range 5 {
		keys, values := make([][]byte, 50), make([][]byte, 50)
		var b kv.Batch
		for i := range keys {
			keys[i] = fmt.Appendf(nil, "key%03d", i*3+round)
			values[i] = fmt.Appendf(nil, "value of round %d, key %d: %040d", round, i, i)
			b.Set(keys[i], values[i])
			want[string(keys[i])] = string(values[i])
		}
		if err := db.Apply(&b); err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			copy(keys[i], "XXXXXX")
			for j := range values[i] {
				values[i][j] = '!'
			}
		}
	}
	if err := checkStore(db, want, nil); err != nil {
		t.Fatal(err)
	}
}

// TestDeferredApplyConcurrentReaders: readers running while batches are
// written in the background see each batch whole once Apply returned, and
// never part of one (run with -race, it also checks the hand-over of the
// lock between goroutines).
func TestDeferredApplyConcurrentReaders(t *testing.T) {
	db := openUnsynced(t, vfs.NewMemFS())
	defer db.Close()
	const keys = 30
	var applied sync.WaitGroup
	applied.Add(1)
	done := make(chan struct{})
	errs := make(chan error, 2)
	for range 2 {
		go func() {
			applied.Wait()
			for {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				// Every batch sets all keys to one round's value, so a
				// scan that mixes rounds saw part of a batch.
				round := ""
				n := 0
				err := db.Scan([]byte("k"), func(e kv.Entry) error {
					v := string(e.Value[:8])
					if round != "" && v != round {
						return fmt.Errorf("scan mixes %q and %q", round, v)
					}
					round = v
					n++
					return nil
				})
				if err == nil && n != keys {
					err = fmt.Errorf("scan saw %d keys, want %d", n, keys)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for round := range 40 {
		var b kv.Batch
		for i := range keys {
			b.Set(fmt.Appendf(nil, "k%02d", i), fmt.Appendf(nil, "round%03d %050d", round, i))
		}
		if err := db.Apply(&b); err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			applied.Done()
		}
	}
	close(done)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	v, err := db.Get([]byte("k07"))
	if err != nil || !bytes.HasPrefix(v, []byte("round039 ")) {
		t.Fatalf("after the last Apply, Get = %q, %v; want round039's value", v, err)
	}
}

// TestDeferredApplyFailure injects a failure at every filesystem operation
// of the background work that follows an unsynced Apply. Apply has
// returned nil by then, so the failure must surface on the next calls:
// Sync and Close report it; a failed table of a batch makes reads fail too
// rather than serve a store without the batch; and a reopened store holds
// what was there before plus the batch whole or not at all.
func TestDeferredApplyFailure(t *testing.T) {
	before := deferredWorkload()
	big := batchOp()
	for k := range 25 {
		big.batch = append(big.batch, setOp(fmt.Sprintf("b%02d", k*2), fmt.Sprintf("the failing batch %d %060d", k, k)))
	}
	prior := state{}
	for _, o := range before {
		prior.applyInPlace(o)
	}
	after := prior.clone().apply(big)
	all := universe(append(before, big)...)

	// prelude writes the history before the batch on a fresh store.
	prelude := func() *vfs.MemFS { return writtenStore(t, before, deferredThreshold) }
	// The operations of the open itself, which must not fail.
	counter := vfs.NewErrorFS(prelude(), 0, false, nil)
	_ = openUnsynced(t, counter).Close()
	opened := counter.Count()

	injected, lostReads := 0, 0
	for k := 1; ; k++ {
		mem := prelude()
		efs := vfs.NewErrorFS(mem, opened+k, false, nil)
		db := openUnsynced(t, efs)
		if err := write(db, big); err != nil {
			t.Fatalf("fault at op %d of the background: Apply = %v; the batch's table is written after it returns", k, err)
		}
		_, gerr := db.Get([]byte("b00")) // waits for the background
		if !efs.Injected() {
			if gerr != nil {
				t.Fatalf("nothing injected, Get = %v", gerr)
			}
			if err := checkStore(db, after, all); err != nil {
				t.Fatal(err)
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			break
		}
		injected++
		if gerr != nil && !errors.Is(gerr, kv.ErrBroken) {
			// The fault hit the Get's own read of a table: reported to
			// that read alone, and the handle goes on.
			if !errors.Is(gerr, vfs.ErrInjected) {
				t.Fatalf("fault at op %d: Get = %v, want ErrBroken or the read's I/O error", k, gerr)
			}
			if err := checkStore(db, after, all); err != nil {
				t.Fatalf("fault at op %d: after a failed read: %v", k, err)
			}
		} else if gerr != nil {
			lostReads++
		} else if err := checkStore(db, after, all); err != nil {
			t.Fatalf("fault at op %d: reads still served, but: %v", k, err)
		}
		// A failure after the new manifest (removing a replaced file)
		// leaves a consistent store, and the handle carries on.
		serr, cerr := db.Sync(), db.Close()
		switch {
		case errors.Is(gerr, kv.ErrBroken) && !errors.Is(serr, kv.ErrBroken):
			t.Fatalf("fault at op %d: reads refused, but Sync = %v", k, serr)
		case serr != nil && !errors.Is(serr, kv.ErrBroken):
			t.Fatalf("fault at op %d: Sync = %v, want ErrBroken", k, serr)
		case serr != nil && !errors.Is(cerr, kv.ErrBroken):
			t.Fatalf("fault at op %d: Sync = %v, but Close = %v", k, serr, cerr)
		case serr == nil && cerr != nil:
			t.Fatalf("fault at op %d: Sync passed, but Close = %v", k, cerr)
		}
		// Nothing was lost by the process (the MemFS keeps unsynced
		// writes): the store holds the batch whole or not at all.
		if err := openAndCheck(mem, memOptions(mem, 0), after, all); err != nil {
			if err2 := openAndCheck(mem, memOptions(mem, 0), prior, all); err2 != nil {
				t.Fatalf("fault at op %d: the reopened store holds neither the whole batch (%v) nor none of it (%v)", k, err, err2)
			}
		}
	}
	if injected == 0 || lostReads == 0 {
		t.Fatalf("%d injection points, %d with reads refused: the test exercised nothing", injected, lostReads)
	}
	t.Logf("%d injection points, %d of them lost the batch", injected, lostReads)
}
