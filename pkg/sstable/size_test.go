package sstable

import (
	"math/rand"
	"slices"
	"testing"

	"github.com/kvtool/kv/pkg/entry"
)

// TestSizeMatchesWriter: Size agrees to the byte with what Writer writes,
// over tables of every kind of entry, with keys and values from empty to
// larger than a block, a top index of several entries, and varints of
// every width in the index.
func TestSizeMatchesWriter(t *testing.T) {
	sizes, rounds := []int{1, 2, 33, 500, 5000, 20_000}, 50
	if raceEnabled {
		sizes, rounds = sizes[:5], 5
	}
	for _, n := range sizes {
		ops := mixedOps(n, int64(n))
		if got, want := Size(ops), int64(len(build(t, ops))); got != want {
			t.Errorf("mixedOps(%d): Size %d, table %d bytes", n, got, want)
		}
	}
	rng := rand.New(rand.NewSource(9))
	for round := range rounds {
		n := rng.Intn(1500) + 1
		keys := map[string]bool{}
		for len(keys) < n {
			k := make([]byte, 1+rng.Intn([]int{8, 40, 300, 9000}[rng.Intn(4)]))
			rng.Read(k)
			keys[string(k)] = true
		}
		sorted := slices.Sorted(func(yield func(string) bool) {
			for k := range keys {
				if !yield(k) {
					return
				}
			}
		})
		ops := make([]entry.Op, n)
		for i, k := range sorted {
			v := make([]byte, rng.Intn([]int{0, 100, 5000, 70_000}[rng.Intn(4)*rng.Intn(2)]+1))
			switch rng.Intn(4) {
			case 0:
				ops[i] = entry.Op{Kind: entry.KindDelete, Key: []byte(k)}
			case 1:
				ops[i] = entry.Op{Kind: entry.KindSetExpiring, Key: []byte(k), Value: v, ExpiresAt: rng.Int63()}
			default:
				ops[i] = entry.Op{Kind: entry.KindSet, Key: []byte(k), Value: v}
			}
		}
		if got, want := Size(ops), int64(len(build(t, ops))); got != want {
			t.Fatalf("round %d (%d entries): Size %d, table %d bytes", round, n, got, want)
		}
	}
}
