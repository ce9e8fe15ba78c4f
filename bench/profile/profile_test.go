// Package profile holds in-process benchmarks of kv's one-shot commands,
// for profiling where a `kv get` or `kv set` spends its time apart from
// process start-up and package init (which GODEBUG=inittrace=1 and the
// "start" figures of run.sh show). They read the stores that run.sh
// builds under bench/data/stores and are skipped when those are missing:
//
//	cd bench && go test ./profile -run X -bench CLIGet/1M -cpuprofile cpu.prof
//	go tool pprof -top -cum cpu.prof
package profile

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/kvtool/kv/bench/internal/workload"
	"github.com/kvtool/kv/cmd"
	"github.com/kvtool/kv/pkg/kv"
)

var sizes = []int{1_000, 100_000, 1_000_000, 10_000_000}

func human(n int) string {
	if n >= 1_000_000 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	return fmt.Sprintf("%dk", n/1_000)
}

func store(b *testing.B, n int) string {
	dir := filepath.Join("..", "data", "stores", fmt.Sprintf("kv-%d", n))
	if _, err := os.Stat(filepath.Join(dir, "READY")); err != nil {
		b.Skipf("no %s (run bench/run.sh stores)", dir)
	}
	return dir
}

// copyStore copies the store into a temporary directory, for writes.
func copyStore(b *testing.B, n int) string {
	src := store(b, n)
	dst := filepath.Join(b.TempDir(), "store")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v: %s", err, out)
	}
	return dst
}

func run(b *testing.B, want int, args ...string) {
	if code := cmd.Main(args, nil, io.Discard, io.Discard); code != want {
		b.Fatalf("kv %q: exit %d", args, code)
	}
}

// BenchmarkCLIVersion is the command layer alone: building the command
// tree, reading the configuration, running a command that opens nothing.
func BenchmarkCLIVersion(b *testing.B) {
	for b.Loop() {
		run(b, 0, "version")
	}
}

// BenchmarkCLIGetNoStore is `kv get` on a directory with no store.
func BenchmarkCLIGetNoStore(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		run(b, 1, "-d", dir, "get", "key")
	}
}

// BenchmarkCLIGet is `kv get` in process, without start-up and init.
func BenchmarkCLIGet(b *testing.B) {
	for _, n := range sizes {
		b.Run(human(n), func(b *testing.B) {
			dir, key := store(b, n), string(workload.Key(n/3))
			for b.Loop() {
				run(b, 0, "-d", dir, "get", key)
			}
		})
	}
}

// BenchmarkEngineGet is the engine's part of a one-shot get: open
// read-only, get, close.
func BenchmarkEngineGet(b *testing.B) {
	for _, n := range sizes {
		b.Run(human(n), func(b *testing.B) {
			dir, key := store(b, n), workload.Key(n/3)
			for b.Loop() {
				db, err := kv.Open(dir, &kv.Options{ReadOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := db.Get(key); err != nil {
					b.Fatal(err)
				}
				if err := db.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCLISet is `kv set` (durable) in process on the 100k store.
func BenchmarkCLISet(b *testing.B) {
	dir := copyStore(b, 100_000)
	for b.Loop() {
		run(b, 0, "-d", dir, "set", "setkey", "value")
	}
}

// BenchmarkEngineSet is the engine's part of a one-shot set: open
// read-write, set with fdatasync, close.
func BenchmarkEngineSet(b *testing.B) {
	dir := copyStore(b, 100_000)
	for b.Loop() {
		db, err := kv.Open(dir, nil)
		if err != nil {
			b.Fatal(err)
		}
		if err := db.Set([]byte("setkey"), []byte("value")); err != nil {
			b.Fatal(err)
		}
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

// writeRecords writes the workload's n records in load order, in batches
// of workload.DefaultBatch, then syncs once; with overwrite, every other
// record, with new values.
func writeRecords(b *testing.B, db *kv.DB, n int, overwrite bool) {
	vals := workload.NewValues(overwrite)
	var batch kv.Batch
	for j, i := range workload.Order(n) {
		if !overwrite || j%2 == 0 {
			batch.Set(workload.Key(i), vals.Next())
		}
		if batch.Len() == workload.DefaultBatch {
			if err := db.Apply(&batch); err != nil {
				b.Fatal(err)
			}
			batch = kv.Batch{}
		}
	}
	if err := db.Apply(&batch); err != nil {
		b.Fatal(err)
	}
	if err := db.Sync(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkLoad is the engine's bulk load of 1M records, batches of 100k,
// one sync at the end.
func BenchmarkLoad(b *testing.B) {
	const n = 1_000_000
	for b.Loop() {
		dir := filepath.Join(b.TempDir(), "load")
		db, err := kv.Open(dir, &kv.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		writeRecords(b, db, n, false)
		db.Close()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkCompact is the compaction of the 1M store with half its records
// overwritten.
func BenchmarkCompact(b *testing.B) {
	const n = 1_000_000
	src := store(b, n)
	for b.Loop() {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "c")
		if out, err := exec.Command("cp", "-a", src, dir).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v: %s", err, out)
		}
		db, err := kv.Open(dir, &kv.Options{NoSync: true})
		if err != nil {
			b.Fatal(err)
		}
		writeRecords(b, db, n, true)
		b.StartTimer()
		if _, err := db.Compact(); err != nil {
			b.Fatal(err)
		}
		db.Close()
	}
}

// BenchmarkRandomGet is random gets in one process on the 1M store.
func BenchmarkRandomGet(b *testing.B) {
	const n = 1_000_000
	db, err := kv.Open(store(b, n), &kv.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	keys := make([][]byte, 1<<16)
	for i, k := range workload.Order(n)[:len(keys)] {
		keys[i] = workload.Key(k)
	}
	i := 0
	for b.Loop() {
		if _, err := db.Get(keys[i%len(keys)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
