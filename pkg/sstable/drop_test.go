package sstable

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/kvtool/kv/pkg/entry"
)

// A scan hands dropPages only bytes it has passed: here the dropped
// bytes are overwritten, so a scan that dropped a block or an index entry
// it still reads, or one ahead of it, would return wrong entries or fail.
// In each region (the data blocks, the index entries, their offsets) the
// dropped ranges go forward (overlapping by less than a page); the data's
// are at least dropChunk long; together they cover most of each region.
func TestIteratorDropsOnlyWhatItPassed(t *testing.T) {
	var ops []entry.Op
	for i := range 200000 {
		ops = append(ops, entry.Op{Kind: entry.KindSet, Key: fmt.Appendf(nil, "key%08d", i), Value: bytes.Repeat([]byte{byte(i)}, 40)})
	}
	data := build(t, ops)
	r, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	ixStart, offStart := int(r.metaOff), int(r.metaOff)+int(r.ixLen)
	offEnd := offStart + 4*int(r.f.blocks)
	regions := []struct {
		name          string
		start, end    int
		minDrop       int
		last, dropped int
	}{
		{name: "data", start: 0, end: ixStart, minDrop: dropChunk},
		{name: "index entries", start: ixStart, end: offStart, minDrop: minPage},
		{name: "index offsets", start: offStart, end: offEnd, minDrop: minPage},
	}
	r.SetDropPages(func(b []byte) {
		start := cap(data) - cap(b) // b is a slice of data
		for i := range regions {
			g := &regions[i]
			if start < g.start || start >= g.end {
				continue
			}
			if start+len(b) > g.end {
				t.Fatalf("%s: dropped [%d, %d), past the region's end %d", g.name, start, start+len(b), g.end)
			}
			// The page the last range ended in comes again, since
			// only whole pages are dropped.
			if start < g.last-minPage {
				t.Fatalf("%s: dropped [%d, %d) after [.., %d)", g.name, start, start+len(b), g.last)
			}
			if len(b) < g.minDrop {
				t.Fatalf("%s: dropped %d bytes, less than %d", g.name, len(b), g.minDrop)
			}
			g.last = start + len(b)
			g.dropped += len(b)
			for i := range b {
				b[i] = 0xAA
			}
			return
		}
		t.Fatalf("dropped [%d, %d), outside the data and the index", start, start+len(b))
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
	for _, g := range regions {
		if g.dropped < (g.end-g.start)/2 {
			t.Errorf("%s: dropped %d of %d bytes", g.name, g.dropped, g.end-g.start)
		}
	}
}

// VerifyMapped drops what it has checked, the index and filter as well
// as the blocks, and still finds every problem: dropping only lets the
// pages go back to the file (here nothing is overwritten, as the check
// reads the index and filter again after the first pass over them).
func TestVerifyMappedDropsTheIndexAndFilter(t *testing.T) {
	var ops []entry.Op
	for i := range 200000 {
		ops = append(ops, entry.Op{Kind: entry.KindSet, Key: fmt.Appendf(nil, "key%08d", i), Value: []byte("v")})
	}
	data := build(t, ops)
	r, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	metaStart, metaEnd := int(r.metaOff), int(r.metaOff)+int(r.metaLen)
	var dataDropped, metaDropped int
	drop := func(b []byte) {
		start := cap(data) - cap(b)
		if start < 0 || start+len(b) > len(data) {
			t.Fatalf("dropped [%d, %d), outside the table", start, start+len(b))
		}
		if start >= metaStart && start+len(b) <= metaEnd {
			metaDropped += len(b)
		} else if start+len(b) <= metaStart {
			dataDropped += len(b)
		} else {
			t.Fatalf("dropped [%d, %d) across the data's end %d or the filter's %d", start, start+len(b), metaStart, metaEnd)
		}
	}
	if probs := VerifyMapped(data, drop); len(probs) != 0 {
		t.Fatalf("an intact table: %v", probs)
	}
	if dataDropped < metaStart/2 {
		t.Errorf("dropped %d of %d bytes of data", dataDropped, metaStart)
	}
	if metaDropped < metaEnd-metaStart {
		t.Errorf("dropped %d bytes of the index and filter, which hold %d", metaDropped, metaEnd-metaStart)
	}
	bad := bytes.Clone(data)
	bad[metaStart+int(r.ixLen)/2] ^= 0xff
	if probs := VerifyMapped(bad, func([]byte) {}); len(probs) == 0 {
		t.Error("a damaged index chunk: no problem found")
	}
}
