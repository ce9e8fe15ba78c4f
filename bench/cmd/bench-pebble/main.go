// Command bench-pebble runs the benchmark workloads against Pebble with its
// default options.
package main

import (
	"context"
	"errors"

	"github.com/cockroachdb/pebble/v2"

	"github.com/kvtool/kv/bench/internal/workload"
)

type store struct {
	db   *pebble.DB
	sync *pebble.WriteOptions
}

func open(dir string, mode workload.Mode) (workload.Store, error) {
	db, err := pebble.Open(dir, &pebble.Options{ReadOnly: mode == workload.ReadOnly, Logger: quiet{}})
	if err != nil {
		return nil, err
	}
	s := &store{db: db, sync: pebble.Sync}
	if mode == workload.Bulk {
		s.sync = pebble.NoSync
	}
	return s, nil
}

func (s *store) Write(keys, values [][]byte) error {
	b := s.db.NewBatch()
	defer b.Close() // back to pebble's pool, as pebble's users do
	for i := range keys {
		if err := b.Set(keys[i], values[i], nil); err != nil {
			return err
		}
	}
	return b.Commit(s.sync)
}

// Sync writes an empty log record with a sync, making the log durable.
func (s *store) Sync() error { return s.db.LogData(nil, pebble.Sync) }

func (s *store) Get(key []byte, fn func([]byte)) (bool, error) {
	v, closer, err := s.db.Get(key)
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fn(v)
	return true, closer.Close()
}

// Compact compacts the whole key space (the keys all start with "key").
func (s *store) Compact() error {
	return s.db.Compact(context.Background(), []byte("key"), []byte("kez"), true)
}

func (s *store) Close() error { return s.db.Close() }

// quiet drops Pebble's informational log lines, which it otherwise writes
// to stderr on every open.
type quiet struct{}

func (quiet) Infof(string, ...any)         {}
func (quiet) Errorf(f string, args ...any) { pebble.DefaultLogger.Errorf(f, args...) }
func (quiet) Fatalf(f string, args ...any) { pebble.DefaultLogger.Fatalf(f, args...) }

func main() { workload.Main(workload.Engine{Name: "pebble", Open: open}) }
