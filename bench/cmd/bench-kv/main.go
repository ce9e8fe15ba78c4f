// Command bench-kv runs the benchmark workloads against kv's engine.
package main

import (
	"errors"

	"github.com/kvtool/kv/bench/internal/workload"
	"github.com/kvtool/kv/pkg/kv"
)

type store struct {
	db *kv.DB
	// batch is reused from one Write to the next (Batch.Reset), as a
	// loader using kv would.
	batch kv.Batch
}

func open(dir string, mode workload.Mode) (workload.Store, error) {
	db, err := kv.Open(dir, &kv.Options{ReadOnly: mode == workload.ReadOnly, NoSync: mode == workload.Bulk})
	if err != nil {
		return nil, err
	}
	return &store{db: db}, nil
}

func (s *store) Write(keys, values [][]byte) error {
	s.batch.Reset()
	s.batch.Grow(len(keys))
	for i := range keys {
		s.batch.Set(keys[i], values[i])
	}
	return s.db.Apply(&s.batch)
}

func (s *store) Sync() error { return s.db.Sync() }

func (s *store) Get(key []byte, fn func([]byte)) (bool, error) {
	v, err := s.db.Get(key)
	if errors.Is(err, kv.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	fn(v)
	return true, nil
}

func (s *store) Compact() error {
	_, err := s.db.Compact()
	return err
}

func (s *store) Close() error { return s.db.Close() }

func main() { workload.Main(workload.Engine{Name: "kv", Open: open}) }
