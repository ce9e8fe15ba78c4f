package kv

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/kvtool/kv/pkg/vfs"
)

func TestMergeRun(t *testing.T) {
	if mergeWidth != 4 {
		t.Fatalf("the cases below are for mergeWidth 4, not %d", mergeWidth)
	}
	for _, c := range []struct {
		sizes []int64 // newest first
		want  int
	}{
		{nil, 0},
		{[]int64{5}, 0},
		{[]int64{1, 1}, 0},
		{[]int64{1, 1, 1}, 0},
		{[]int64{1, 1, 1, 1}, 4},
		{[]int64{3, 1}, 2},
		{[]int64{1, 1, 1, 4}, 0},
		{[]int64{1, 1, 1, 1, 4}, 4},
		{[]int64{4, 4, 4, 4}, 4},
		{[]int64{1, 4, 100}, 0},
		// The longest run, not the first: 2 < 3·2, but 2+2 ≥ 3·1, and
		// then 2+2+1 ≥ 3·1.
		{[]int64{2, 2, 1, 1}, 4},
		{[]int64{2, 2, 1, 2}, 3},
		// Within 1/65 counts as equal.
		{[]int64{192, 65}, 2},
		{[]int64{192, 66}, 0},
	} {
		if got := mergeRun(c.sizes); got != c.want {
			t.Errorf("mergeRun(%v) = %d, want %d", c.sizes, got, c.want)
		}
	}
}

// keepsPolicy reports the first table (sizes newest first) that is not
// larger than 1/(mergeWidth-1) of the newer ones together, or -1.
func keepsPolicy(sizes []int64) int {
	var newer int64
	for i, s := range sizes {
		if i > 0 && (mergeWidth-1)*s <= newer {
			return i
		}
		newer += s
	}
	return -1
}

// TestMergePolicyBound drives the policy as writeNewest and maybeMerge do,
// over sequences of flush sizes (equal, shrinking, growing, random), with
// merges whose output shrinks as overwrites make it, or grows a little as
// rounding does. After every flush each table must be larger than a third
// of all newer ones together, hence no more than log(total/newest) /
// log(4/3) + 1 tables (newest: the newest table's size); and no byte may be written more than log2(flushes)
// + 2 times.
func TestMergePolicyBound(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	seqs := map[string][]int64{}
	for _, n := range []int{10, 100, 1000} {
		eq, down, up, rnd := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		for i := range n {
			eq[i], down[i], up[i] = 1000, int64(1000+n-i), int64(1000+i*i)
			rnd[i] = 1000 + r.Int64N(100_000)
		}
		seqs[fmt.Sprint("equal/", n)], seqs[fmt.Sprint("shrinking/", n)] = eq, down
		seqs[fmt.Sprint("growing/", n)], seqs[fmt.Sprint("random/", n)] = up, rnd
	}
	for name, seq := range seqs {
		var tables []int64 // newest first
		var total, written int64
		merge := func(n int, extra int64) {
			var sum int64 = extra
			for _, s := range tables[:n] {
				sum += s
			}
			// Overwritten keys drop out; or, with none, the table comes
			// out a little larger than its sources.
			out := sum - r.Int64N(sum/4+1)
			if r.IntN(2) == 0 {
				out = sum + r.Int64N(sum/2000+1)
			}
			written += out
			tables = append([]int64{out}, tables[n:]...)
		}
		for _, size := range seq {
			total += size
			merge(max(mergeRun(append([]int64{size}, tables...))-1, 0), size)
			for n := mergeRun(tables); n >= 2; n = mergeRun(tables) {
				merge(n, 0)
			}
			if i := keepsPolicy(tables); i >= 0 {
				t.Fatalf("%s: table %d of %v is too small beside the newer ones", name, i, tables)
			}
			var live int64
			for _, s := range tables {
				live += s
			}
			if bound := math.Log(float64(live)/float64(tables[0]))/math.Log(4.0/3) + 1; float64(len(tables)) > bound {
				t.Fatalf("%s: %d tables %v, more than log(n/s)/log(4/3)+1 = %.1f", name, len(tables), tables, bound)
			}
		}
		if bound := math.Log2(float64(len(seq))) + 2; float64(written)/float64(total) > bound {
			t.Errorf("%s: every byte written %.2f times, more than %.1f", name, float64(written)/float64(total), bound)
		}
	}
}

// TestStoreKeepsMergePolicy: a store written through many flushes of a
// small log keeps the policy's invariant in its manifest.
func TestStoreKeepsMergePolicy(t *testing.T) {
	db, err := Open("/kv-merge-policy", &Options{FS: vfs.NewMemFS(), LockTimeout: -1, FlushThreshold: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := rand.New(rand.NewPCG(1, 2))
	value := make([]byte, 100)
	for i := range 20_000 {
		if err := db.Set(fmt.Appendf(nil, "key%06d", r.IntN(15_000)), value); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			sizes := db.tableSizes()
			if j := keepsPolicy(sizes); j >= 0 {
				t.Fatalf("after %d sets: table %d of %v is too small beside the newer ones", i+1, j, sizes)
			}
		}
	}
	if n := len(db.tableSizes()); n < 2 {
		t.Errorf("only %d tables: the test never saw the policy keep several", n)
	}
}
