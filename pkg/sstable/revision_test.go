package sstable

import (
	"bytes"
	"testing"

	"github.com/kvtool/kv/pkg/entry"
)

// TestRevisionsAndCover: a version 3 table keeps each entry's revision and
// the cover its writer set, through Get, the iterator, a file reader and
// Verify; a table with no entries still records its cover, as a rewrite
// that dropped everything must.
func TestRevisionsAndCover(t *testing.T) {
	var ops []entry.Op
	for i, op := range mixedOps(500, 3) {
		op.Rev = uint64(i*3 + 1)
		ops = append(ops, op)
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, op := range ops {
		if err := w.Add(op); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.SetCover(1, 5000); err != nil {
		t.Fatal(err)
	}
	size, err := w.Finish()
	if err != nil {
		t.Fatal(err)
	}
	if size != Size(ops) {
		t.Errorf("Size %d, written %d", Size(ops), size)
	}
	data := buf.Bytes()
	for name, open := range map[string]func([]byte) (*Reader, error){"bytes": Open, "file": openFile} {
		r, err := open(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if lo, hi := r.Cover(); lo != 1 || hi != 5000 || r.Version() != 3 {
			t.Errorf("%s: cover [%d, %d], version %d", name, lo, hi, r.Version())
		}
		for _, op := range ops {
			got, ok, err := r.Get(op.Key)
			if err != nil || !ok || got.Rev != op.Rev || !sameOp(got, op) {
				t.Fatalf("%s: Get(%q) = %+v %v %v, want rev %d", name, op.Key, got, ok, err, op.Rev)
			}
		}
		got, err := iterate(r)
		if err != nil || len(got) != len(ops) {
			t.Fatalf("%s: iterate: %d ops, %v", name, len(got), err)
		}
		for i := range got {
			if got[i].Rev != ops[i].Rev {
				t.Fatalf("%s: entry %d has rev %d, want %d", name, i, got[i].Rev, ops[i].Rev)
			}
		}
	}
	if p := Verify(data); len(p) != 0 {
		t.Fatalf("Verify: %v", p)
	}

	buf.Reset()
	w = NewWriter(&buf)
	w.SetCover(0, 77)
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := r.Cover(); lo != 0 || hi != 77 || r.Entries() != 0 {
		t.Errorf("empty table: cover [%d, %d], %d entries", lo, hi, r.Entries())
	}
	if err := NewWriter(&buf).SetCover(5, 4); err == nil {
		t.Error("SetCover(5, 4) accepted an empty cover")
	}
}
