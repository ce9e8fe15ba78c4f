package kv

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kvtool/kv/pkg/wal"
)

// memtable holds the operations of the current log, last write wins. Its
// slices alias the log's bytes, so replaying a log copies nothing.
//
// The map is built lazily. The log's records (replayed at open, up to the
// flush threshold: tens of thousands of operations, and written since) are
// kept as their encoded payloads, and the first lookups decode them from
// the newest as they scan: a one-shot kv get on a store with a full log
// then costs a scan, not a map of every key (docs/FIGURES.md). The map
// is built once, on the lookupsBeforeMap-th
// lookup or the first ordered read of a prefix. A flush, which reads
// everything in order, sorts the records' operations instead (sortAll), so
// a writer that only writes never builds the map.
type memtable struct {
	m map[string]wal.Op
	// records holds the payloads of the records replayed at open and
	// written since, oldest first: what lookups scan until the map is
	// built, and what DB.Changes replays. Only a writer, holding the
	// handle's write lock, appends to it. seqs holds each record's seq,
	// its operations' revision.
	records [][]byte
	seqs    []uint64
	ops     int // operations in records
	lookups atomic.Int64
	once    sync.Once
	built   atomic.Bool
}

// lookupsBeforeMap is how many lookups scan the records before the map is
// built: enough for one-shot commands, few enough that a long-lived
// reader soon gets constant-time lookups.
const lookupsBeforeMap = 8

func newMemtable() *memtable { return &memtable{} }

// build makes the map from the records, once. Safe for concurrent use:
// lookups under the handle's read lock may race to it.
func (t *memtable) build() {
	t.once.Do(func() {
		t.m = make(map[string]wal.Op, t.ops)
		for i, payload := range t.records {
			t.insert(t.seqs[i], payload)
		}
		t.built.Store(true)
	})
}

func (t *memtable) insert(seq uint64, payload []byte) {
	for op := range wal.PayloadOps(payload) {
		op.Rev = seq
		t.insertOp(op)
	}
}

func (t *memtable) insertOp(op wal.Op) {
	k := string(op.Key)
	op.Key = nil // the map key holds it
	t.m[k] = op
}

// applyOps adds decoded operations, which carry their revisions,
// building the map first: Repair gathers what it salvages this way.
func (t *memtable) applyOps(ops []wal.Op) {
	t.build()
	for _, op := range ops {
		t.insertOp(op)
	}
}

// apply adds the operations of the record of sequence number seq, as its
// payload (checked, and not modified while the memtable lives). The caller
// holds the handle's write lock, so no lookup is scanning the records
// meanwhile. Until the map is built the record joins the others: a
// one-shot kv set on a store with a full log builds no map either.
//
// The record is kept in the list even after the map is built (the map's
// values alias it anyway), so that DB.Changes can replay every record.
func (t *memtable) apply(seq uint64, payload []byte) {
	t.records = append(t.records, payload)
	t.seqs = append(t.seqs, seq)
	if !t.built.Load() {
		t.ops += wal.PayloadCount(payload)
		return
	}
	t.insert(seq, payload)
}

func (t *memtable) get(key []byte) (wal.Op, bool) {
	if !t.built.Load() {
		if t.lookups.Add(1) <= lookupsBeforeMap {
			return t.scan(key)
		}
		t.build()
	}
	op, ok := t.m[string(key)]
	if ok {
		op.Key = key
	}
	return op, ok
}

// scan finds key's newest operation in the records: the last one in the
// newest record that holds the key (later operations of a batch win).
func (t *memtable) scan(key []byte) (wal.Op, bool) {
	for i := len(t.records) - 1; i >= 0; i-- {
		var found wal.Op
		ok := false
		for op := range wal.PayloadOps(t.records[i]) {
			if bytes.Equal(op.Key, key) {
				found, ok = op, true
			}
		}
		if ok {
			found.Key, found.Rev = key, t.seqs[i]
			return found, true
		}
	}
	return wal.Op{}, false
}

// sortAll returns every entry in key order.
func (t *memtable) sortAll() []wal.Op {
	if t.built.Load() {
		return t.sorted(nil)
	}
	all := make([]wal.Op, 0, t.ops)
	for i, payload := range t.records {
		for op := range wal.PayloadOps(payload) {
			op.Rev = t.seqs[i]
			all = append(all, op)
		}
	}
	// Records are oldest first and sortBatch keeps the last operation on
	// a key: the newest, as the map would.
	return sortBatch(all)
}

// sorted returns the entries whose key starts with prefix, in key order.
func (t *memtable) sorted(prefix []byte) []wal.Op {
	if len(prefix) == 0 && !t.built.Load() {
		return t.sortAll()
	}
	t.build()
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
