// Package workload is the engine-neutral half of the benchmark binaries:
// the deterministic data set, the workloads and the command line. Each
// cmd/bench-ENGINE links this package with exactly one engine, so no
// binary pays for initialising the others at process start.
package workload

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// ValueSize is the size of every value.
const ValueSize = 100

// KeySize is the size of every key: key%010d.
const KeySize = 13

// DefaultBatch is the number of records per batch of a bulk load.
const DefaultBatch = 100_000

// Key returns the key of record i.
func Key(i int) []byte { return fmt.Appendf(make([]byte, 0, KeySize), "key%010d", i) }

// Order is the seeded shuffle of 0..n-1 in which records are loaded. It is
// the same as pkg/kv's benchmarks use.
func Order(n int) []int { return rand.New(rand.NewPCG(1, 2)).Perm(n) }

// Values is a seeded stream of pseudo-random values.
type Values struct{ r *rand.Rand }

// NewValues returns the value stream of a load (seed 3, 4, as pkg/kv's
// benchmarks use) or of an overwrite (seed 7, 8).
func NewValues(overwrite bool) *Values {
	if overwrite {
		return &Values{rand.New(rand.NewPCG(7, 8))}
	}
	return &Values{rand.New(rand.NewPCG(3, 4))}
}

// Next returns the next value in a new slice.
func (v *Values) Next() []byte {
	b := make([]byte, ValueSize+8)
	for i := 0; i < ValueSize; i += 8 {
		binary.LittleEndian.PutUint64(b[i:], v.r.Uint64())
	}
	return b[:ValueSize:ValueSize]
}

// Mode is how a store is opened.
type Mode int

const (
	// ReadOnly opens for reading only (a shared lock where the engine has
	// one).
	ReadOnly Mode = iota
	// Bulk opens for writing without a sync per batch; Store.Sync makes
	// everything durable.
	Bulk
	// Durable opens for writing with every batch synced before it returns.
	Durable
)

// Store is an open store of one engine.
type Store interface {
	// Write applies one atomic batch. In Durable mode it is synced.
	Write(keys, values [][]byte) error
	// Sync makes every write so far durable.
	Sync() error
	// Get calls fn with the value of key, which is valid only during the
	// call, and reports whether the key was found.
	Get(key []byte, fn func(value []byte)) (bool, error)
	// Compact rewrites the store to hold only live data.
	Compact() error
	Close() error
}

// Engine opens stores of one kind.
type Engine struct {
	Name string
	Open func(dir string, mode Mode) (Store, error)
	// Batch is the engine's number of records per batch of a bulk load;
	// zero means DefaultBatch.
	Batch int
	// Grow makes the batches of a load grow with the store: each is as
	// large as the records already loaded, from Batch up to MaxGrow.
	Grow bool
}

// MaxGrow caps the batches of an Engine with Grow.
const MaxGrow = 1_000_000

const usage = `usage: bench-ENGINE COMMAND ARGS
  load DIR N [BATCH]    bulk load N records in batches of BATCH (default the
                        engine's: 100000; bbolt from 1000 growing to 1M),
                        one sync at the end; prints records/s
  overwrite DIR N       overwrite every other record of the load order with
                        new values, one sync at the end; prints records/s
  get DIR KEY           one-shot read: open read-only, get, print, exit
  set DIR KEY VALUE     one-shot durable write
  randget DIR N COUNT   COUNT uniformly random gets over the N keys in one
                        process; prints gets/s
  compact DIR           full compaction; prints input bytes, seconds, MB/s
                        of input, output bytes (tab-separated)
  size DIR              bytes of the regular files under DIR
  jsonl FILE N          write the N records of a load, in load order, as the
                        jsonl that kv load reads (value_base64)`

// Main runs the command line of a benchmark binary for engine e.
func Main(e Engine) {
	if err := profiled(func() error { return run(e, os.Args[1:]) }); err != nil {
		if errors.Is(err, errNotFound) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "bench-%s: %v\n", e.Name, err)
		os.Exit(2)
	}
}

var errNotFound = errors.New("not found")

func run(e Engine, args []string) error {
	if len(args) < 2 {
		return errors.New(usage)
	}
	cmd, dir, args := args[0], args[1], args[2:]
	nargs := map[string][2]int{"load": {1, 2}, "overwrite": {1, 1}, "get": {1, 1}, "set": {2, 2},
		"randget": {2, 2}, "compact": {0, 0}, "size": {0, 0}, "jsonl": {1, 1}}
	want, ok := nargs[cmd]
	if !ok || len(args) < want[0] || len(args) > want[1] {
		return errors.New(usage)
	}
	ints := make([]int, len(args))
	if cmd == "load" || cmd == "overwrite" || cmd == "randget" || cmd == "jsonl" {
		for i, a := range args {
			n, err := strconv.Atoi(a)
			if err != nil || n <= 0 {
				return fmt.Errorf("%q: not a positive number", a)
			}
			ints[i] = n
		}
	}
	switch cmd {
	case "load":
		batch := DefaultBatch
		if e.Batch > 0 {
			batch = e.Batch
		}
		if len(ints) > 1 {
			batch = ints[1]
		}
		return load(e, dir, ints[0], batch, false)
	case "overwrite":
		batch := DefaultBatch
		if e.Batch > 0 {
			batch = e.Batch
		}
		return load(e, dir, ints[0], batch, true)
	case "get":
		return get(e, dir, args[0])
	case "set":
		s, err := e.Open(dir, Durable)
		if err != nil {
			return err
		}
		if err := s.Write([][]byte{[]byte(args[0])}, [][]byte{[]byte(args[1])}); err != nil {
			s.Close()
			return err
		}
		return s.Close()
	case "randget":
		return randget(e, dir, ints[0], ints[1])
	case "compact":
		return compact(e, dir)
	case "jsonl":
		return writeJSONL(dir, ints[0])
	case "size":
		n, err := Size(dir)
		if err != nil {
			return err
		}
		fmt.Println(n)
	}
	return nil
}

// load writes the records of the load order (every other one for an
// overwrite) in batches without syncing, then syncs once. The time runs
// from before the open to after the sync; the close is reported apart.
func load(e Engine, dir string, n, batch int, overwrite bool) error {
	order := Order(n)
	vals := NewValues(overwrite)
	start := time.Now()
	s, err := e.Open(dir, Bulk)
	if err != nil {
		return err
	}
	keys, values := make([][]byte, 0, batch), make([][]byte, 0, batch)
	count := 0
	size := batch
	for j, i := range order {
		if overwrite && j%2 == 1 {
			continue
		}
		keys, values = append(keys, Key(i)), append(values, vals.Next())
		if len(keys) == size {
			if err := s.Write(keys, values); err != nil {
				s.Close()
				return err
			}
			count += len(keys)
			keys, values = keys[:0], values[:0]
			if e.Grow {
				size = min(max(batch, count), MaxGrow)
			}
		}
	}
	if len(keys) > 0 {
		if err := s.Write(keys, values); err != nil {
			s.Close()
			return err
		}
		count += len(keys)
	}
	if err := s.Sync(); err != nil {
		s.Close()
		return err
	}
	elapsed := time.Since(start)
	t := time.Now()
	if err := s.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %d records in %.3fs to the sync, close %.3fs\n", e.Name, count, elapsed.Seconds(), time.Since(t).Seconds())
	fmt.Printf("%.0f\n", float64(count)/elapsed.Seconds())
	return nil
}

func get(e Engine, dir, key string) (err error) {
	s, err := e.Open(dir, ReadOnly)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); err == nil {
			err = cerr
		}
	}()
	var out []byte
	found, err := s.Get([]byte(key), func(v []byte) { out = append(append(out, v...), '\n') })
	if err != nil {
		return err
	}
	if !found {
		return fmt.Errorf("%q: %w", key, errNotFound)
	}
	_, err = os.Stdout.Write(out)
	return err
}

// randget times count gets of uniformly random keys of the store, after a
// warm-up of count/10 gets.
func randget(e Engine, dir string, n, count int) error {
	s, err := e.Open(dir, ReadOnly)
	if err != nil {
		return err
	}
	defer s.Close()
	r := rand.New(rand.NewPCG(5, 6))
	keys := make([][]byte, count)
	for i := range keys {
		keys[i] = Key(r.IntN(n))
	}
	var sum int
	use := func(v []byte) { sum += int(v[0]) + len(v) }
	for _, k := range keys[:count/10] {
		if _, err := s.Get(k, use); err != nil {
			return err
		}
	}
	start := time.Now()
	for _, k := range keys {
		found, err := s.Get(k, use)
		if err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("%q: %w", k, errNotFound)
		}
	}
	elapsed := time.Since(start)
	fmt.Fprintf(os.Stderr, "%s: %d gets in %.3fs (checksum %d)\n", e.Name, count, elapsed.Seconds(), sum)
	fmt.Printf("%.0f\n", float64(count)/elapsed.Seconds())
	return nil
}

// compact times open, compaction and close.
func compact(e Engine, dir string) error {
	before, err := Size(dir)
	if err != nil {
		return err
	}
	start := time.Now()
	s, err := e.Open(dir, Bulk)
	if err != nil {
		return err
	}
	if err := s.Compact(); err != nil {
		s.Close()
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	elapsed := time.Since(start)
	after, err := Size(dir)
	if err != nil {
		return err
	}
	fmt.Printf("%d\t%.6f\t%.2f\t%d\n", before, elapsed.Seconds(), float64(before)/1e6/elapsed.Seconds(), after)
	return nil
}

// Size is the apparent size of the regular files under dir.
func Size(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}

// writeJSONL writes the records of a load of n, in load order, to path as
// kv load's jsonl.
func writeJSONL(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	vals := NewValues(false)
	var line []byte
	for _, i := range Order(n) {
		line = append(line[:0], `{"key":"`...)
		line = append(line, Key(i)...)
		line = append(line, `","value_base64":"`...)
		line = base64.StdEncoding.AppendEncode(line, vals.Next())
		line = append(line, "\"}\n"...)
		if _, err := w.Write(line); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
