// Command bench-badger runs the benchmark workloads against Badger with its
// default options (logging off).
package main

import (
	"errors"

	"github.com/dgraph-io/badger/v4"

	"github.com/kvtool/kv/bench/internal/workload"
)

type store struct {
	db   *badger.DB
	opts badger.Options
}

func open(dir string, mode workload.Mode) (workload.Store, error) {
	opts := badger.DefaultOptions(dir).WithLogger(nil).
		WithReadOnly(mode == workload.ReadOnly).
		WithSyncWrites(mode == workload.Durable)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, err
	}
	return &store{db, opts}, nil
}

func (s *store) Write(keys, values [][]byte) error {
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for i := range keys {
		if err := wb.Set(keys[i], values[i]); err != nil {
			return err
		}
	}
	return wb.Flush()
}

func (s *store) Sync() error { return s.db.Sync() }

func (s *store) Get(key []byte, fn func([]byte)) (found bool, err error) {
	err = s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(key)
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		found = true
		return item.Value(func(v []byte) error { fn(v); return nil })
	})
	return found, err
}

// Compact merges every table into the last level and garbage-collects
// the value log. Flatten alone leaves a store whose tables all sit in L0
// as it is, old versions included, so the store is reopened with a level
// zero of one table: Flatten then merges L0 down. Reopening also flushes
// the memtable.
func (s *store) Compact() error {
	if err := s.db.Close(); err != nil {
		return err
	}
	db, err := badger.Open(s.opts.WithNumLevelZeroTables(1).WithNumLevelZeroTablesStall(2))
	if err != nil {
		return err
	}
	s.db = db
	if err := s.db.Flatten(2); err != nil {
		return err
	}
	for s.db.RunValueLogGC(0.5) == nil {
	}
	return nil
}

func (s *store) Close() error { return s.db.Close() }

func main() { workload.Main(workload.Engine{Name: "badger", Open: open}) }
