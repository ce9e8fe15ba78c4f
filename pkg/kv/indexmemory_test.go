package kv_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestIndexMemoryBound: a long-lived handle's lookup indexes stay within
// Options.IndexMemory (Stats.IndexBytes), whatever the bound: with room
// for every index, with room for the small one only, and with none, and
// every lookup answers the same, present keys and absent ones alike.
func TestIndexMemoryBound(t *testing.T) {
	mem := vfs.NewMemFS()
	const keys = 20_000
	db, err := kv.Open(memDir, &kv.Options{FS: mem, LockTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	b := new(kv.Batch)
	for i := range keys {
		b.Set(fmt.Appendf(nil, "key%06d", i), fmt.Appendf(nil, "value %d", i))
	}
	if err := db.Apply(b); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	used := map[string]int64{}
	for _, c := range []struct {
		name  string
		bound int64
	}{{"default", 0}, {"small", 16 << 10}, {"none", -1}} {
		db, err := kv.Open(memDir, &kv.Options{FS: mem, LockTimeout: -1, ReadOnly: true, IndexMemory: c.bound})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 3 * 4096 { // past the lookups after which indexes are built
			i := rng.IntN(2 * keys)
			v, err := db.Get(fmt.Appendf(nil, "key%06d", i))
			if i < keys && (err != nil || string(v) != fmt.Sprintf("value %d", i)) {
				t.Fatalf("%s: key%06d = %q, %v", c.name, i, v, err)
			}
			if i >= keys && err == nil {
				t.Fatalf("%s: absent key%06d found", c.name, i)
			}
		}
		st, err := db.Stats()
		if err != nil {
			t.Fatal(err)
		}
		db.Close()
		limit := c.bound
		if limit == 0 {
			limit = kv.DefaultIndexMemory
		}
		if st.IndexBytes > max(limit, 0) {
			t.Fatalf("%s: indexes take %d bytes, over the bound of %d", c.name, st.IndexBytes, limit)
		}
		used[c.name] = st.IndexBytes
	}
	// The bound decides what is built: all (the key index takes 12 bytes
	// a key), the prefix index alone, or nothing.
	if used["default"] < 12*keys || used["small"] == 0 || used["small"] >= used["default"] || used["none"] != 0 {
		t.Fatalf("index bytes by bound: %v", used)
	}
}
