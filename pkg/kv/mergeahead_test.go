package kv

import (
	"errors"
	"fmt"
	"testing"

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
