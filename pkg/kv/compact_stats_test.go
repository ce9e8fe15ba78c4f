package kv_test

import (
	"bytes"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestCompactCountsWhatOpenFound: Open flushes a log it finds over the
// flush threshold; a Compact right after reports the store as Open found
// it (the log, no table), not the table its own open made, so that
// compact -v counts the tables the user had.
func TestCompactCountsWhatOpenFound(t *testing.T) {
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if err := db.Set([]byte{byte('a' + i%26), byte(i)}, bytes.Repeat([]byte("v"), 100)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	// Reopened with a lower threshold, the log is over it.
	db, err = kv.Open(memDir, memOptions(mem, 1<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if st, _ := db.Stats(); len(st.Tables) != 1 {
		t.Fatalf("Open should have flushed the log into a table: %d tables", len(st.Tables))
	}
	cs, err := db.Compact()
	if err != nil {
		t.Fatal(err)
	}
	if cs.TablesBefore != 0 {
		t.Fatalf("Compact reports %d tables before; the store Open found had none, only a log", cs.TablesBefore)
	}
}
