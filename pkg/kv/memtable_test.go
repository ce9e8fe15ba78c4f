package kv

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/kvtool/kv/pkg/wal"
)

// payload encodes ops as a log record's payload.
func payload(ops []wal.Op) []byte {
	return wal.AppendRecord(nil, 1, ops)[wal.RecordHeaderSize:]
}

// A replayed memtable answers exactly as a map of the same operations,
// before its map is built (scanning the records from the newest), after,
// and across the switch, with writes applied on both sides of it.
func TestMemtableLazyMap(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	want := map[string]wal.Op{}
	var seq uint64
	// record returns a record's seq and payload; each of its operations
	// reads back with the seq as its revision.
	record := func() (uint64, []byte) {
		seq++
		var ops []wal.Op
		for range 1 + rng.IntN(5) {
			k := fmt.Appendf(nil, "k%02d", rng.IntN(40)) // keys repeat within and across records
			op := wal.Op{Kind: wal.KindSet, Key: k, Value: fmt.Appendf(nil, "v%d", rng.Uint32())}
			if rng.IntN(4) == 0 {
				op = wal.Op{Kind: wal.KindDelete, Key: k}
			}
			ops = append(ops, op)
			op.Rev = seq
			want[string(k)] = op
		}
		return seq, payload(ops)
	}
	check := func(m *memtable, when string) {
		t.Helper()
		for i := range 45 {
			k := fmt.Appendf(nil, "k%02d", i)
			got, ok := m.get(k)
			w, wok := want[string(k)]
			if ok != wok || (ok && (got.Kind != w.Kind || string(got.Value) != string(w.Value) || string(got.Key) != string(k) || got.Rev != w.Rev)) {
				t.Fatalf("%s: get(%s) = %v %q %v, want %v %q %v", when, k, got.Kind, got.Value, ok, w.Kind, w.Value, wok)
			}
		}
	}
	// checkSorted compares sortAll with want: every entry, in key order.
	checkSorted := func(m *memtable, when string) {
		t.Helper()
		ops := m.sortAll()
		if len(ops) != len(want) {
			t.Fatalf("%s: sortAll gave %d entries, want %d", when, len(ops), len(want))
		}
		for i, op := range ops {
			w := want[string(op.Key)]
			if i > 0 && string(ops[i-1].Key) >= string(op.Key) || op.Kind != w.Kind || string(op.Value) != string(w.Value) || op.Rev != w.Rev {
				t.Fatalf("%s: sortAll entry %d is %q=%q (kind %d), want %q (kind %d), in order", when, i, op.Key, op.Value, op.Kind, w.Value, w.Kind)
			}
		}
	}
	m := newMemtable()
	for range 50 {
		m.apply(record())
	}
	check(m, "replayed, before the map")
	if !m.built.Load() {
		t.Fatal("no map after 45 lookups: the test misses the answers after the switch")
	}
	m.apply(record())
	check(m, "after a write")
	checkSorted(m, "with the map")

	// Writes before the map is built join the replayed records.
	want = map[string]wal.Op{}
	m = newMemtable()
	m.apply(record())
	m.apply(record())
	m.apply(record())
	// A flush reads everything in order, map or not.
	checkSorted(m, "after writes")
	check(m, "written before any lookup")
}

// Lookups racing across the switch to the map agree (run with -race).
func TestMemtableConcurrentBuild(t *testing.T) {
	m := newMemtable()
	for i := range 1000 {
		m.apply(uint64(i+1), payload([]wal.Op{{Kind: wal.KindSet, Key: fmt.Appendf(nil, "k%04d", i), Value: fmt.Appendf(nil, "v%d", i)}}))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g*131 + i*7) % 1000
				op, ok := m.get(fmt.Appendf(nil, "k%04d", k))
				if !ok || string(op.Value) != fmt.Sprintf("v%d", k) {
					t.Errorf("get(k%04d) = %q %v", k, op.Value, ok)
					return
				}
			}
		}()
	}
	wg.Wait()
}
