package kv

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kvtool/kv/pkg/wal"
)

// TestBatchGrow: Grow(n) guarantees room for n more operations (its
// documented contract, as bytes.Buffer.Grow's) and keeps those already
// added, in order.
func TestBatchGrow(t *testing.T) {
	key, value := []byte("k"), []byte("v")
	var grown Batch
	grown.Set(key, value)
	grown.Grow(1000)
	if room := cap(grown.ops) - len(grown.ops); room < 1000 {
		t.Fatalf("Grow(1000) left room for %d operations", room)
	}
	var b Batch
	b.Set(key, value)
	b.Grow(10)
	b.Delete(key)
	if b.Len() != 2 || b.ops[0].Kind != wal.KindSet || b.ops[1].Kind != wal.KindDelete {
		t.Fatalf("Grow lost or reordered operations: %+v", b.ops)
	}
}

// TestSortBatch checks sortBatch against a map: keys in order, the last
// operation on each key kept. The keys include ones that tie on their
// first 16 bytes (long shared prefixes, and "a" against "a\x00", equal
// once zero-padded), where the sort and the deduplication must look at
// whole keys.
func TestSortBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	keyPool := [][]byte{[]byte("a"), []byte("a\x00"), []byte("a\x00\x00"), []byte("b")}
	for i := range 40 {
		keyPool = append(keyPool, fmt.Appendf(nil, "%016d", i/4), fmt.Appendf(nil, "0123456789abcdef-%d", i))
	}
	// Keys differing in every one of their first 16 bytes, for the radix
	// sort's passes; some short, some long.
	for i := range 3000 {
		k := make([]byte, 1+rng.IntN(24))
		for j := range k {
			k[j] = byte(rng.IntN(2) * 255) // two values, so prefixes collide
		}
		keyPool = append(keyPool, k)
		if i%500 == 0 {
			keyPool = append(keyPool, fmt.Appendf(nil, "key%010d", i))
		}
	}
	for round := range 300 {
		var ops []wal.Op
		want := map[string]wal.Op{}
		n := rng.IntN(200) // a comparison sort below radixMin
		if round%3 == 0 {
			n = radixMin + rng.IntN(4000)
		}
		for i := range n {
			op := wal.Op{Kind: wal.KindSet, Key: keyPool[rng.IntN(len(keyPool))], Value: fmt.Appendf(nil, "%d", i)}
			if rng.IntN(4) == 0 {
				op.Kind, op.Value = wal.KindDelete, nil
			}
			ops = append(ops, op)
			want[string(op.Key)] = op
		}
		got := sortBatch(ops)
		keys := make([]string, 0, len(want))
		for k := range want {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if len(got) != len(keys) {
			t.Fatalf("round %d: %d operations, want %d", round, len(got), len(keys))
		}
		for i, k := range keys {
			w := want[k]
			if !bytes.Equal(got[i].Key, w.Key) || got[i].Kind != w.Kind || !bytes.Equal(got[i].Value, w.Value) {
				t.Fatalf("round %d: entry %d is %q=%q (kind %d), want %q=%q (kind %d)", round, i, got[i].Key, got[i].Value, got[i].Kind, w.Key, w.Value, w.Kind)
			}
		}
	}
}

// BenchmarkSortBatch sorts a 100k-operation batch of the benchmarks' keys
// (key%010d in shuffled order), as an ingest or a flush does.
func BenchmarkSortBatch(b *testing.B) {
	keys, values := benchData(100_000)
	ops := make([]wal.Op, len(keys))
	for i := range ops {
		ops[i] = wal.Op{Kind: wal.KindSet, Key: keys[i], Value: values[i]}
	}
	var dst []wal.Op
	for b.Loop() {
		dst = sortBatchInto(dst, ops)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(ops)), "ns/op-sorted")
}
