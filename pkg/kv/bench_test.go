package kv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks use the workload of the benchmark issue: keys
// key%010d (13 bytes) over a seeded shuffle of 0..n-1, values of 100
// seeded pseudo-random bytes.
const benchValueSize = 100

var benchKeyBits = 16

func benchKey(i int) []byte { return fmt.Appendf(nil, "key%010d", i) }

func benchValue(r *rand.Rand) []byte {
	v := make([]byte, benchValueSize)
	for i := 0; i < len(v); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], r.Uint64())
		copy(v[i:], w[:])
	}
	return v
}

func benchOrder(n int) []int {
	r := rand.New(rand.NewPCG(1, 2))
	return r.Perm(n)
}

// benchStore returns a compacted store of n keys, built once per machine
// under the temporary directory and reused.
func benchStore(b *testing.B, n int) string {
	b.Helper()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("kv-bench-v3-%d", n))
	if _, err := os.Stat(filepath.Join(dir, "READY")); err == nil {
		return dir
	}
	os.RemoveAll(dir)
	db, err := Open(dir, &Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	loadBench(b, db, n, 100_000)
	if _, err := db.Compact(); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "READY"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return dir
}

func loadBench(b *testing.B, db *DB, n, batchSize int) {
	keys, values := benchData(n)
	loadData(b, db, keys, values, batchSize)
}

// benchData generates the workload's keys and values in load order.
func benchData(n int) (keys, values [][]byte) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, i := range benchOrder(n) {
		keys = append(keys, benchKey(i))
		values = append(values, benchValue(r))
	}
	return keys, values
}

func loadData(b *testing.B, db *DB, keys, values [][]byte, batchSize int) {
	var batch Batch
	batch.Grow(min(batchSize, len(keys)))
	for i := range keys {
		batch.Set(keys[i], values[i])
		if batch.Len() == batchSize {
			if err := db.Apply(&batch); err != nil {
				b.Fatal(err)
			}
			batch = Batch{}
			batch.Grow(min(batchSize, len(keys)-i-1))
		}
	}
	if err := db.Apply(&batch); err != nil {
		b.Fatal(err)
	}
	if err := db.Sync(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOpenGet is a one-shot read: open read-only, get one key, close.
// Its cost must not grow with the store.
func BenchmarkOpenGet(b *testing.B) {
	for _, n := range []int{1_000, 100_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			dir := benchStore(b, n)
			key := benchKey(n / 3)
			b.ResetTimer()
			for b.Loop() {
				openGetClose(b, dir, key)
			}
		})
	}
}

// BenchmarkOpenGetGrowth measures the one-shot read's growth directly:
// its cost on the 1M store over its cost on the 1k store (the target is
// at most 1.5). Each iteration is a round of growthRound reads of each
// store, one store after the other, and the figure is the median of the
// rounds' ratios: the machine's speed drifts by tens of percent over
// seconds, and BenchmarkOpenGet's sizes, which run one after another,
// read that drift as growth.
func BenchmarkOpenGetGrowth(b *testing.B) {
	const growthRound = 100
	small, large := benchStore(b, 1_000), benchStore(b, 1_000_000)
	smallKey, largeKey := benchKey(1_000/3), benchKey(1_000_000/3)
	var ratios []float64
	var smallTotal, largeTotal time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		for range growthRound {
			openGetClose(b, small, smallKey)
		}
		mid := time.Now()
		for range growthRound {
			openGetClose(b, large, largeKey)
		}
		ts, tl := mid.Sub(start), time.Since(mid)
		smallTotal += ts
		largeTotal += tl
		ratios = append(ratios, float64(tl)/float64(ts))
	}
	slices.Sort(ratios)
	b.ReportMetric(ratios[len(ratios)/2], "1M/1k")
	b.ReportMetric(float64(smallTotal.Nanoseconds())/float64(growthRound*len(ratios)), "ns/get-1k")
	b.ReportMetric(float64(largeTotal.Nanoseconds())/float64(growthRound*len(ratios)), "ns/get-1M")
	b.ReportMetric(0, "ns/op")
}

// openGetClose is a one-shot read of key from the store in dir.
func openGetClose(b *testing.B, dir string, key []byte) {
	db, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := db.Get(key); err != nil {
		b.Fatal(err)
	}
	db.Close()
}

// BenchmarkOpenGetFullLog is the one-shot read's worst case: the store's
// log just below the flush threshold (about 33,000 single-key writes), which
// an open must replay.
func BenchmarkOpenGetFullLog(b *testing.B) {
	dir := b.TempDir()
	db, err := Open(dir, &Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	value := make([]byte, benchValueSize)
	var i int
	for i = 0; ; i++ {
		if err := db.Set(benchKey(i), value); err != nil {
			b.Fatal(err)
		}
		if i%256 != 0 {
			continue
		}
		st, err := db.Stats()
		if err != nil {
			b.Fatal(err)
		}
		if len(st.Tables) > 0 {
			b.Fatalf("the log was flushed after %d writes", i)
		}
		if st.LogBytes > DefaultFlushThreshold-64<<10 {
			break
		}
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	key := benchKey(i / 3)
	b.ResetTimer()
	for b.Loop() {
		openGetClose(b, dir, key)
	}
	b.ReportMetric(float64(i), "log-records")
}

// BenchmarkOpenGetHeap reports the heap that open + get leaves in use on
// the 1M store: nothing proportional to the store may be built at open.
func BenchmarkOpenGetHeap(b *testing.B) {
	dir := benchStore(b, 1_000_000)
	var before, after runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&before)
		db, err := Open(dir, &Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := db.Get(benchKey(12345)); err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		db.Close()
	}
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1024, "heap-KiB")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/1024, "alloc-KiB")
}

// BenchmarkRandomGet is random gets in one process on the 1M store.
func BenchmarkRandomGet(b *testing.B) {
	db, keys := openRandomGets(b)
	i := 0
	for b.Loop() {
		if _, err := db.Get(keys[i&(len(keys)-1)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

// openRandomGets opens the 1M store read-only for the length of the
// benchmark and picks 1<<benchKeyBits of its keys in a shuffled order.
func openRandomGets(b *testing.B) (*DB, [][]byte) {
	const n = 1_000_000
	dir := benchStore(b, n)
	db, err := Open(dir, &Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	order := benchOrder(n)
	keys := make([][]byte, 1<<benchKeyBits)
	for i := range keys {
		keys[i] = benchKey(order[i*7%n])
	}
	return db, keys
}

// BenchmarkRandomGetAbsent is random gets in one process on the 1M store
// of keys it does not hold, each just after one it does: the other side of
// the oldest table's choice to probe its key index before the filter.
func BenchmarkRandomGetAbsent(b *testing.B) {
	db, present := openRandomGets(b)
	absent := make([][]byte, len(present))
	for i, k := range present {
		absent[i] = append(bytes.Clone(k), '-')
	}
	// Warm the reader as a long-lived one is: its caches built by the
	// lookups of keys it holds.
	for _, k := range present {
		if _, err := db.Get(k); err != nil {
			b.Fatal(err)
		}
	}
	i := 0
	for b.Loop() {
		if _, err := db.Get(absent[i&(len(absent)-1)]); !errors.Is(err, ErrNotFound) {
			b.Fatalf("Get of an absent key: %v", err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "gets/s")
}

// BenchmarkBulkLoad loads 1M keys in batches with one sync at the end, and
// reports keys/s and the bytes on disk after compaction against the raw
// key and value bytes.
func BenchmarkBulkLoad(b *testing.B) {
	const n = 1_000_000
	keys, values := benchData(n)
	for _, batch := range []int{10_000, 100_000, n} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			var space, written float64
			for b.Loop() {
				dir := b.TempDir()
				before := bytesWritten()
				db, err := Open(dir, &Options{NoSync: true})
				if err != nil {
					b.Fatal(err)
				}
				loadData(b, db, keys, values, batch)
				b.StopTimer()
				written = float64(bytesWritten()-before) / float64(n*(13+benchValueSize))
				if _, err := db.Compact(); err != nil {
					b.Fatal(err)
				}
				space = float64(dirSize(b, dir)) / float64(n*(13+benchValueSize))
				db.Close()
				os.RemoveAll(dir)
				b.StartTimer()
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "keys/s")
			b.ReportMetric(space, "disk/raw")
			if written > 0 {
				b.ReportMetric(written, "written/raw")
			}
		})
	}
}

// bytesWritten is what this process has passed to write system calls so
// far (wchar of /proc/self/io), or 0 where that is not available: with it
// BulkLoad reports the load's write amplification, log and tables, which
// unlike its rate does not depend on the machine's load.
func bytesWritten() int64 {
	io, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(io)) {
		if v, ok := strings.CutPrefix(line, "wchar: "); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func dirSize(b *testing.B, dir string) int64 {
	entries, err := os.ReadDir(dir)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			b.Fatal(err)
		}
		n += info.Size()
	}
	return n
}

// BenchmarkConcurrentSet is durable single-key sets from several
// goroutines sharing one handle: with group commit, writers that arrive
// during an fdatasync share the next one, so the rate grows with them.
func BenchmarkConcurrentSet(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			db, err := Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			value := make([]byte, benchValueSize)
			var next atomic.Int64
			b.SetParallelism(writers)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := db.Set(benchKey(int(next.Add(1))), value); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "sets/s")
		})
	}
}
