// Command bench-bbolt runs the benchmark workloads against bbolt. The store
// is DIR/bbolt.db with one bucket, "bench".
package main

import (
	"os"
	"path/filepath"

	"go.etcd.io/bbolt"

	"github.com/kvtool/kv/bench/internal/workload"
)

const fileName = "bbolt.db"

var bucket = []byte("bench")

type store struct {
	db   *bbolt.DB
	path string
}

func open(dir string, mode workload.Mode) (workload.Store, error) {
	if mode != workload.ReadOnly {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(dir, fileName)
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: mode == workload.ReadOnly, NoSync: mode == workload.Bulk})
	if err != nil {
		return nil, err
	}
	return &store{db, path}, nil
}

func (s *store) Write(keys, values [][]byte) error {
	return s.db.Update(func(tx *bbolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucket)
		if err != nil {
			return err
		}
		for i := range keys {
			if err := b.Put(keys[i], values[i]); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *store) Sync() error { return s.db.Sync() }

func (s *store) Get(key []byte, fn func([]byte)) (found bool, err error) {
	err = s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		if v := b.Get(key); v != nil {
			found = true
			fn(v)
		}
		return nil
	})
	return found, err
}

// Compact copies the live data into a new file with bbolt.Compact, as the
// bbolt CLI's compact does, but with 64 MiB transactions and one sync at
// the end instead of a sync per 64 KiB; then renames it over the old one.
func (s *store) Compact() error {
	tmp := s.path + ".compact"
	os.Remove(tmp)
	dst, err := bbolt.Open(tmp, 0o600, &bbolt.Options{NoSync: true})
	if err != nil {
		return err
	}
	if err := bbolt.Compact(dst, s.db, 64<<20); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, s.path); err != nil {
		return err
	}
	// The handle still maps the old file; reopen on the new one so Close
	// releases the right lock.
	if err := s.db.Close(); err != nil {
		return err
	}
	s.db, err = bbolt.Open(s.path, 0o600, nil)
	return err
}

func (s *store) Close() error { return s.db.Close() }

// A bbolt transaction inserts into in-memory nodes that split only at
// commit, so a first transaction of 100,000 random keys into an empty
// bucket is quadratic (50 s here); but every commit rewrites each leaf it
// touched, so small transactions into a large tree rewrite the tree again
// and again (10,000 keys a transaction: 21k records/s for 1M keys). The
// batches therefore start at 1,000 and grow with the tree, to 1M
// (1M keys: 65k records/s).
func main() {
	workload.Main(workload.Engine{Name: "bbolt", Open: open, Batch: 1_000, Grow: true})
}
