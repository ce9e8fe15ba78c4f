package sstable

import (
	"bufio"
	"bytes"
	"io"
	"math/rand"
	"strings"
	"testing"

	"github.com/kvtool/kv/pkg/entry"
)

// fileBuffer is a growing buffer read at offsets, as a file written
// through a bufio.Writer is; corrupt, when set, changes what a read
// returns.
type fileBuffer struct {
	bytes.Buffer
	corrupt func(p []byte, off int64)
}

func (f *fileBuffer) ReadAt(p []byte, off int64) (int, error) {
	if off >= int64(f.Len()) {
		return 0, io.EOF
	}
	n := copy(p, f.Bytes()[off:])
	if f.corrupt != nil {
		f.corrupt(p[:n], off)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// buildReadBack writes ops as build does, but with ReadBack through a
// small buffer, reading back a table of more than from keys.
func buildReadBack(t testing.TB, ops []entry.Op, f *fileBuffer, from int) ([]byte, error) {
	t.Helper()
	defer func(n int) { readBackFrom = n }(readBackFrom)
	readBackFrom = from
	bw := bufio.NewWriterSize(f, 4096)
	w := NewWriter(bw)
	w.ReadBack(f, bw.Flush)
	for _, op := range ops {
		if err := w.Add(op); err != nil {
			t.Fatalf("Add(%q): %v", op.Key, err)
		}
	}
	n, err := w.Finish()
	if err != nil {
		return nil, err
	}
	if err := bw.Flush(); err != nil {
		t.Fatal(err)
	}
	if n != int64(f.Len()) {
		t.Fatalf("Finish reports %d bytes, wrote %d", n, f.Len())
	}
	return f.Bytes(), nil
}

// readBackOps is a table's worth of small entries of every kind, with
// values large enough to be streamed here and there.
func readBackOps() []entry.Op {
	rng := rand.New(rand.NewSource(5))
	var ops []entry.Op
	for i := range 20000 {
		op := entry.Op{Kind: entry.KindSet, Key: key(i), Rev: uint64(i%7) + 1}
		switch {
		case i%500 == 17:
			op.Value = make([]byte, 64<<10+rng.Intn(100<<10))
		case i%11 == 3:
			op.Kind = entry.KindDelete
		default:
			op.Value = make([]byte, rng.Intn(300))
		}
		rng.Read(op.Value)
		if i%13 == 5 && op.Kind == entry.KindSet {
			op.Kind, op.ExpiresAt = entry.KindSetExpiring, int64(i)<<20
		}
		ops = append(ops, op)
	}
	return ops
}

// TestReadBackSameBytes: a filter built from the keys read back gives
// the same table, byte for byte, as one built from every key's hash
// kept while writing, with streamed values among the blocks, whether
// the table is read back from its first key, from halfway or not at
// all (fewer keys than readBackFrom).
func TestReadBackSameBytes(t *testing.T) {
	ops := readBackOps()
	want := build(t, ops)
	for _, from := range []int{0, len(ops) / 2, len(ops)} {
		got, err := buildReadBack(t, ops, &fileBuffer{}, from)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("with ReadBack from %d keys: %d bytes that differ from the %d without", from, len(got), len(want))
		}
		checkTable(t, got, ops)
	}
	// One key, and none but a streamed value.
	for _, ops := range [][]entry.Op{ops[:1], {{Kind: entry.KindSet, Key: []byte("k"), Value: make([]byte, 200<<10)}}} {
		got, err := buildReadBack(t, ops, &fileBuffer{}, 0)
		if err != nil || !bytes.Equal(got, build(t, ops)) {
			t.Errorf("%d entries: ReadBack gives other bytes (%v)", len(ops), err)
		}
	}
}

// TestReadBackDetectsChange: a block that reads back other than it was
// written (a failing disk, another writer) fails Finish rather than
// leaving a filter that would hide its keys.
func TestReadBackDetectsChange(t *testing.T) {
	var ops []entry.Op
	for _, op := range readBackOps()[:2000] {
		if len(op.Value) < streamFrom { // read back, not kept
			ops = append(ops, op)
		}
	}
	f := &fileBuffer{corrupt: func(p []byte, off int64) {
		if off <= 50000 && 50000 < off+int64(len(p)) {
			p[50000-off] ^= 0x10
		}
	}}
	if _, err := buildReadBack(t, ops, f, 0); err == nil || !strings.Contains(err.Error(), "reads back other than it was written") {
		t.Errorf("a changed byte: Finish = %v", err)
	}
	f = &fileBuffer{corrupt: func(p []byte, off int64) { clear(p) }}
	if _, err := buildReadBack(t, ops, f, 0); err == nil {
		t.Error("zeroed blocks: Finish succeeded")
	}
}
