package kv_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kvtool/kv/pkg/inspect"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/wal"
)

// TestLogBeyondBound: a log with more data than any the engine writes
// (a dense tail of zeros past wal.MaxLogBytes; lowered here so the test writes
// kilobytes, not gigabytes) is refused by readers and writers alike at
// once, without reading it; Verify reports it as a problem saying that
// writes refuse it; Repair keeps its records and cuts the rest, after
// which the store opens with every key.
func TestLogBeyondBound(t *testing.T) {
	defer func(old int64) { wal.MaxLogBytes = old }(wal.MaxLogBytes)
	wal.MaxLogBytes = 64 << 10
	dir := filepath.Join(t.TempDir(), "store")
	db, err := kv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := db.Set([]byte(k), []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	log := filepath.Join(dir, "000001.wal")
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, 2*wal.MaxLogBytes)); err != nil { // written zeros: no hole
		t.Fatal(err)
	}
	f.Close()

	for _, ro := range []bool{true, false} {
		if db, err := kv.Open(dir, &kv.Options{ReadOnly: ro, LockTimeout: -1}); !errors.Is(err, kv.ErrCorrupt) {
			if err == nil {
				db.Close()
			}
			t.Fatalf("Open(ReadOnly=%v) of a log beyond the bound: %v, want corruption", ro, err)
		}
	}
	rep, err := inspect.Verify(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 1 || rep.Problems[0].Offset != wal.MaxLogBytes {
		t.Fatalf("Verify: %+v, want one problem at the bound", rep.Problems)
	}
	rr, err := kv.Repair(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !rr.Repaired || rr.Keys != 3 {
		t.Fatalf("Repair: %+v, want the store repaired with its 3 keys", rr)
	}
	db, err = kv.Open(dir, &kv.Options{LockTimeout: -1})
	if err != nil {
		t.Fatalf("after Repair: %v", err)
	}
	defer db.Close()
	for _, k := range []string{"a", "b", "c"} {
		if v, err := db.Get([]byte(k)); err != nil || string(v) != "v"+k {
			t.Fatalf("after Repair: %s = %q, %v", k, v, err)
		}
	}
}
