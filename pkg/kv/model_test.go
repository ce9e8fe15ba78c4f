package kv_test

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"strings"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
)

// modelSteps is the number of random steps per seed of TestModel.
const modelSteps = 1500

// TestModel drives a store with thousands of seeded random steps (sets,
// deletes, batches, transactions, flushes through a small log threshold,
// merges, compactions, reopens, read-only opens and simulated power
// losses) and compares it with a Go map after every step.
func TestModel(t *testing.T) {
	total := map[string]int{}
	for _, seed := range []int64{1, 2, 3} {
		counts := runModel(t, seed, modelSteps)
		for k, v := range counts {
			total[k] += v
		}
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(total)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, total[k]))
	}
	summary(t, "model test: 3 seeds × %d steps (%s), 0 divergences", modelSteps, strings.Join(parts, ", "))
}

func runModel(t *testing.T, seed int64, steps int) map[string]int {
	rng := rand.New(rand.NewSource(seed))
	const threshold = 2048
	keys := make([]string, 60)
	for i := range keys {
		keys[i] = fmt.Sprintf("%c%02d", "abc"[i%3], i)
	}
	randKey := func() string { return keys[rng.Intn(len(keys))] }
	randValue := func() string {
		n := rng.Intn(120)
		if rng.Intn(40) == 0 {
			n = threshold + rng.Intn(3000) // too big for the log: ingested
		}
		b := make([]byte, n)
		rng.Read(b)
		return string(b)
	}
	randOp := func() op {
		if rng.Intn(4) == 0 {
			return delOp(randKey())
		}
		return setOp(randKey(), randValue())
	}
	mem := vfs.NewMemFS()
	open := func(ro bool) *kv.DB {
		o := memOptions(mem, threshold)
		o.ReadOnly = ro
		db, err := kv.Open(memDir, o)
		if err != nil {
			t.Fatalf("seed %d: open (read-only %v): %v", seed, ro, err)
		}
		return db
	}
	db := open(false)
	defer func() { db.Close() }()
	model := state{}
	counts := map[string]int{}
	check := func(step int, what string, keys []string) {
		t.Helper()
		if err := checkStore(db, model, keys); err != nil {
			t.Fatalf("seed %d step %d (%s): divergence: %v", seed, step, what, err)
		}
	}
	maxTables := 0
	for step := 0; step < steps; step++ {
		var what string
		switch r := rng.Intn(100); {
		case r < 40:
			o := randOp()
			what = o.String()
			if err := write(db, o); err != nil {
				t.Fatalf("seed %d step %d: %s: %v", seed, step, what, err)
			}
			model.applyInPlace(o)
			counts["writes"]++
		case r < 55:
			b := batchOp()
			for n := 1 + rng.Intn(8); n > 0; n-- {
				b.batch = append(b.batch, randOp())
			}
			what = b.String()
			if err := write(db, b); err != nil {
				t.Fatalf("seed %d step %d: %s: %v", seed, step, what, err)
			}
			model.applyInPlace(b)
			counts["batches"]++
		case r < 60:
			// Read-modify-write: append to one key, delete another if
			// the first was absent.
			k1, k2 := randKey(), randKey()
			what = "update " + k1 + " " + k2
			err := db.Update(func(tx *kv.Txn) error {
				v, err := tx.Get([]byte(k1))
				if errors.Is(err, kv.ErrNotFound) {
					tx.Set([]byte(k1), []byte("new"))
					tx.Delete([]byte(k2))
					return nil
				}
				if err != nil {
					return err
				}
				tx.Set([]byte(k1), append(v, '+'))
				return nil
			})
			if err != nil {
				t.Fatalf("seed %d step %d: %s: %v", seed, step, what, err)
			}
			if v, ok := model[k1]; ok {
				model[k1] = v + "+"
			} else {
				model[k1] = "new"
				delete(model, k2)
			}
			counts["transactions"]++
		case r < 62:
			what = "compact"
			if _, err := db.Compact(); err != nil {
				t.Fatalf("seed %d step %d: compact: %v", seed, step, err)
			}
			counts["compactions"]++
		case r < 66:
			what = "reopen"
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			db = open(false)
			counts["reopens"]++
		case r < 70:
			frac := []float64{0, 0.5, 1}[rng.Intn(3)]
			keep := rng.Intn(2) == 0
			var holes uint64
			if rng.Intn(3) == 0 {
				holes = uint64(rng.Intn(1000) + 1) // unsynced sectors back out of order
			}
			what = fmt.Sprintf("crash(%v, keep entries %v, holes %d)", frac, keep, holes)
			crashed := mem.Crash(vfs.CrashOptions{UnsyncedFraction: frac, KeepUnsyncedEntries: keep, HoleSeed: holes})
			db.Close() // the process died: its handle is gone
			mem = crashed
			db = open(false)
			counts["crashes"]++
		case r < 72:
			what = "read-only open"
			db.Close()
			db = open(true)
			check(step, what, keys)
			if err := db.Set([]byte("x"), nil); !errors.Is(err, kv.ErrReadOnly) {
				t.Fatalf("seed %d: write through a read-only handle: %v", seed, err)
			}
			db.Close()
			db = open(false)
			counts["read-only opens"]++
		default:
			prefix := []byte{"abc"[rng.Intn(3)]}
			what = fmt.Sprintf("scan %q", prefix)
			var got []string
			err := db.Scan(prefix, func(e kv.Entry) error {
				got = append(got, string(e.Key))
				if model[string(e.Key)] != string(e.Value) {
					return fmt.Errorf("%s has a wrong value", e.Key)
				}
				return nil
			})
			var want []string
			for _, k := range slices.Sorted(maps.Keys(model)) {
				if bytes.HasPrefix([]byte(k), prefix) {
					want = append(want, k)
				}
			}
			if err != nil || !slices.Equal(got, want) {
				t.Fatalf("seed %d step %d: %s: %v, keys %v, want %v", seed, step, what, err, got, want)
			}
			counts["scans"]++
		}
		// Every step: a handful of Gets; every 100 steps and after every
		// reopen or crash, the whole store.
		probe := []string{randKey(), randKey(), randKey()}
		if step%100 == 0 || strings.HasPrefix(what, "crash") || what == "reopen" {
			probe = keys
		}
		check(step, what, probe)
		if step%100 == 0 {
			if m, err := manifest.Read(mem, memDir); err == nil {
				maxTables = max(maxTables, len(m.Tables))
			}
		}
	}
	db.Close()
	verifyClean(t, mem, fmt.Sprintf("seed %d, end of the model test", seed))
	if maxTables < 2 {
		t.Errorf("seed %d: at most %d tables at once: the workload should flush and merge", seed, maxTables)
	}
	return counts
}
