package sstable

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/kvtool/kv/pkg/entry"
)

// A scan hands dropPages only bytes it has passed: here the dropped
// bytes are overwritten, so a scan that dropped a block it still reads,
// or one ahead of it, would return wrong entries. The dropped ranges go
// forward (overlapping by less than a page), each at least dropChunk
// long, and cover most of the table.
func TestIteratorDropsOnlyWhatItPassed(t *testing.T) {
	var ops []entry.Op
	for i := range 60000 {
		ops = append(ops, entry.Op{Kind: entry.KindSet, Key: fmt.Appendf(nil, "key%08d", i), Value: bytes.Repeat([]byte{byte(i)}, 40)})
	}
	data := build(t, ops)
	r, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	var dropped, last int
	r.SetDropPages(func(b []byte) {
		start := cap(data) - cap(b) // b is a slice of data
		// The page the last range ended in comes again, since only
		// whole pages are dropped.
		if start < last-minPage {
			t.Fatalf("dropped [%d, %d) after [.., %d)", start, start+len(b), last)
		}
		if len(b) < dropChunk {
			t.Fatalf("dropped %d bytes, less than %d", len(b), dropChunk)
		}
		last = start + len(b)
		dropped += len(b)
		for i := range b {
			b[i] = 0xAA
		}
	})
	it := r.NewIterator()
	n := 0
	for it.Next() {
		op := it.Op()
		if !bytes.Equal(op.Key, ops[n].Key) || !bytes.Equal(op.Value, ops[n].Value) {
			t.Fatalf("entry %d: got %q, want %q", n, op.Key, ops[n].Key)
		}
		n++
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(ops) {
		t.Fatalf("%d entries, want %d", n, len(ops))
	}
	if dropped < len(data)/2 {
		t.Errorf("dropped %d of %d bytes", dropped, len(data))
	}
}
