package kv

import (
	"bytes"
	"slices"
	"strings"

	"github.com/kvtool/kv/pkg/wal"
)

// memtable holds the operations of the current log, last write wins. Its
// slices alias the log's bytes, so replaying a log copies nothing.
type memtable struct {
	m     map[string]wal.Op
	bytes int
}

func newMemtable() *memtable { return &memtable{m: map[string]wal.Op{}} }

func (t *memtable) apply(ops []wal.Op) {
	for _, op := range ops {
		k := string(op.Key)
		if old, ok := t.m[k]; ok {
			t.bytes -= len(old.Key) + len(old.Value)
		}
		op.Key = nil // the map key holds it
		t.m[k] = op
		t.bytes += len(k) + len(op.Value)
	}
}

func (t *memtable) get(key []byte) (wal.Op, bool) {
	op, ok := t.m[string(key)]
	if ok {
		op.Key = key
	}
	return op, ok
}

// sorted returns the entries whose key starts with prefix, in key order.
func (t *memtable) sorted(prefix []byte) []wal.Op {
	keys := make([]string, 0, len(t.m))
	for k := range t.m {
		if strings.HasPrefix(k, string(prefix)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	ops := make([]wal.Op, len(keys))
	for i, k := range keys {
		op := t.m[k]
		op.Key = []byte(k)
		ops[i] = op
	}
	return ops
}

// sliceIter iterates over sorted operations.
type sliceIter struct {
	ops []wal.Op
	i   int
}

func (s *sliceIter) Next() bool { s.i++; return s.i <= len(s.ops) }
func (s *sliceIter) Op() wal.Op { return s.ops[s.i-1] }
func (s *sliceIter) Err() error { return nil }

// SeekGE positions before the first op whose key is >= key.
func (s *sliceIter) SeekGE(key []byte) {
	s.i, _ = slices.BinarySearchFunc(s.ops, key, func(op wal.Op, k []byte) int { return bytes.Compare(op.Key, k) })
}
