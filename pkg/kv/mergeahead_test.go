package kv

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// errIter yields ops and then fails.
type errIter struct {
	sliceIter
	err error
}

func (e *errIter) Err() error { return e.err }

func aheadOps(n int) []wal.Op {
	ops := make([]wal.Op, n)
	for i := range ops {
		ops[i] = wal.Op{Kind: wal.KindSet, Key: fmt.Appendf(nil, "k%06d", i), Value: []byte("v")}
		if i%3 == 0 {
			ops[i].Kind = wal.KindDelete
		}
	}
	return ops
}

// The writer receives every operation in order, in chunks, the last one
// short; at the bottom, tombstones are left out; the iterator's error
// arrives after the last chunk.
func TestMergeAheadDeliversInOrder(t *testing.T) {
	db := &DB{opts: Options{}.withDefaults()}
	ops := aheadOps(3*aheadChunk + 7)
	for _, bottom := range []bool{false, true} {
		boom := errors.New("boom")
		m := db.mergeAhead(&errIter{sliceIter: sliceIter{ops: ops}, err: boom}, bottom)
		var got []wal.Op
		for chunk := range m.chunks {
			got = append(got, chunk...)
			m.done(chunk, false)
		}
		var want []wal.Op
		for _, op := range ops {
			if !bottom || op.Kind != wal.KindDelete {
				want = append(want, op)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("bottom=%v: got %d ops, want %d, or out of order", bottom, len(got), len(want))
		}
		if m.err != boom {
			t.Fatalf("bottom=%v: iterator error %v, want %v", bottom, m.err, boom)
		}
	}
}

// A writer that fails stops the merge: the rest drains and the goroutine
// ends (the test would hang otherwise).
func TestMergeAheadStopsOnWriterError(t *testing.T) {
	db := &DB{opts: Options{}.withDefaults()}
	m := db.mergeAhead(&sliceIter{ops: aheadOps(100 * aheadChunk)}, false)
	chunks := 0
	for chunk := range m.chunks {
		chunks++
		m.done(chunk, true)
	}
	if chunks > 8 {
		t.Fatalf("the merge went on for %d chunks after the writer failed", chunks)
	}
}

// scribbleFS maps a copy of each file and overwrites the pages a scan
// drops: a drop of pages whose bytes are still to be used (by the table
// writer, behind the merge) then shows as wrong bytes written, where a
// real drop would only fault them back in, to stay resident.
type scribbleFS struct{ vfs.FS }

func (s scribbleFS) Map(name string) ([]byte, func() error, error) {
	data, release, err := s.FS.Map(name)
	if err != nil {
		return nil, nil, err
	}
	c := bytes.Clone(data)
	if err := release(); err != nil {
		return nil, nil, err
	}
	return c, func() error { return nil }, nil
}

func (scribbleFS) DropPages(b []byte) {
	for i := range b {
		b[i] = 0xEE
	}
}

// A rewrite drops the source tables' pages only once the table writer
// has used every operation that points into them: compacting tables of
// several megabytes on a filesystem whose drops destroy the bytes keeps
// every value.
func TestRewriteDropsPagesOnlyOnceUsed(t *testing.T) {
	db, err := Open("/drops", &Options{FS: scribbleFS{vfs.NewMemFS()}, NoSync: true, FlushThreshold: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	value := func(i int) []byte { return bytes.Repeat(fmt.Appendf(nil, "%07d", i), 150) }
	const n = 6000
	for i := 0; i < n; i += 500 { // tables of about 1 MiB
		var b Batch
		for j := i; j < i+500; j++ {
			b.Set(fmt.Appendf(nil, "k%07d", j), value(j))
		}
		if err := db.Apply(&b); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // the second compacts the first's single table
		if _, err := db.Compact(); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			v, err := db.Get(fmt.Appendf(nil, "k%07d", i))
			if err != nil || !bytes.Equal(v, value(i)) {
				t.Fatalf("key %d after a compaction: %.20q, %v", i, v, err)
			}
		}
	}
}
