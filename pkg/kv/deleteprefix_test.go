package kv_test

import (
	"fmt"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestDeletePrefix: DeletePrefix removes every live key under the prefix
// and no other, in one batch (one revision), whether the batch fits the
// log (a few keys) or is streamed into a table (more keys than the flush
// threshold holds, some in the memtable, some in tables, some already
// deleted); the result survives a reopen and verifies clean.
func TestDeletePrefix(t *testing.T) {
	for _, c := range []struct {
		name string
		keys int
	}{{"log", 20}, {"table", 3000}} {
		t.Run(c.name, func(t *testing.T) {
			mem := vfs.NewMemFS()
			db, err := kv.Open(memDir, memOptions(mem, 16<<10))
			if err != nil {
				t.Fatal(err)
			}
			model := state{}
			for i := range c.keys {
				for _, p := range []string{"job:", "jobs", "user:"} {
					k := fmt.Sprintf("%s%05d", p, i)
					if err := db.Set([]byte(k), []byte("v")); err != nil {
						t.Fatal(err)
					}
					model[k] = "v"
				}
			}
			if err := db.Delete([]byte("job:00003")); err != nil {
				t.Fatal(err)
			}
			delete(model, "job:00003")
			before, _ := db.Revision()
			n, err := db.DeletePrefix([]byte("job:"))
			if err != nil || n != c.keys-1 {
				t.Fatalf("DeletePrefix = %d, %v; want %d", n, err, c.keys-1)
			}
			for k := range model {
				if len(k) > 4 && k[:4] == "job:" {
					delete(model, k)
				}
			}
			if after, _ := db.Revision(); after != before+1 {
				t.Fatalf("revision %d -> %d: want one batch", before, after)
			}
			if err := checkStore(db, model, nil); err != nil {
				t.Fatal(err)
			}
			if n, err := db.DeletePrefix([]byte("job:")); n != 0 || err != nil {
				t.Fatalf("second DeletePrefix = %d, %v", n, err)
			}
			db.Close()
			verifyClean(t, mem, c.name)
			db, err = kv.Open(memDir, memOptions(mem, 16<<10))
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := checkStore(db, model, nil); err != nil {
				t.Fatalf("after reopening: %v", err)
			}
		})
	}
}
