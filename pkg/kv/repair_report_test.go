package kv_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/kvtool/kv/pkg/inspect"
	"github.com/kvtool/kv/pkg/kv"
)

// TestRepairNamesKeysThatMayHaveLostNewer: when the newest record of a
// key is damaged, repair serves the previous version, which it may do, but
// not silently: the report counts the dropped record and names every key
// whose newest version kept is older than the damaged range (k, whose
// newer version was in it, and x, which cannot be proved to have had none
// there), but not y, written after it. A dry run reports the same.
func TestRepairNamesKeysThatMayHaveLostNewer(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	db, err := kv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range [][2]string{{"k", "old"}, {"x", "1"}, {"k", "new"}, {"y", "1"}} {
		if err := db.Set([]byte(w[0]), []byte(w[1])); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	var third inspect.LogRecord
	n := 0
	if _, err := inspect.Log(dir, nil, func(r inspect.LogRecord) error {
		if n++; n == 3 {
			third = r
		}
		return nil
	}); err != nil || n != 4 {
		t.Fatalf("InspectLog: %d records, %v", n, err)
	}
	log := third.File
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	data[third.Offset+int64(third.Size)-1] ^= 0xff // the value of k = new
	if err := os.WriteFile(log, data, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		rep, err := kv.Repair(dir, &kv.RepairOptions{DryRun: dry})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"k", "x"}; !slices.Equal(rep.MayHaveLostNewer, want) {
			t.Errorf("dry run %v: MayHaveLostNewer = %q, want %q", dry, rep.MayHaveLostNewer, want)
		}
		if rep.DroppedRecords != 1 {
			t.Errorf("dry run %v: DroppedRecords = %d, want 1", dry, rep.DroppedRecords)
		}
	}
	db, err = kv.Open(dir, &kv.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Get([]byte("k")); err != nil || string(v) != "old" {
		t.Fatalf("after repair k = %q, %v; want the previous version, old", v, err)
	}
}
