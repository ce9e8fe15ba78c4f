package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"sync"
	"testing"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/internal/testsummary"
	"github.com/kvtool/kv/pkg/entry"
)

// build writes ops (sorted, unique keys) as a table.
func build(t testing.TB, ops []entry.Op) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, op := range ops {
		if err := w.Add(op); err != nil {
			t.Fatalf("Add(%q): %v", op.Key, err)
		}
	}
	n, err := w.Finish()
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("Finish reports %d bytes, wrote %d", n, buf.Len())
	}
	return buf.Bytes()
}

func key(i int) []byte { return []byte(fmt.Sprintf("key-%06d", i)) }

// inParallel runs fn(0) … fn(n-1) in n goroutines and fails the test with
// the first error any of them returns.
func inParallel(t *testing.T, n int, fn func(g int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		wg.Go(func() {
			if err := fn(g); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// mixedOps returns n entries with every kind: values of varied sizes
// (empty ones too), tombstones and expiring values.
func mixedOps(n int, seed int64) []entry.Op {
	rng := rand.New(rand.NewSource(seed))
	ops := make([]entry.Op, n)
	for i := range ops {
		k := key(i * 2) // odd numbers stay absent
		switch i % 7 {
		case 3:
			ops[i] = entry.Op{Kind: entry.KindDelete, Key: k}
		case 5:
			ops[i] = entry.Op{Kind: entry.KindSetExpiring, Key: k, Value: []byte(fmt.Sprintf("exp-%d", i)), ExpiresAt: int64(i) * 1e9}
		case 6:
			ops[i] = entry.Op{Kind: entry.KindSet, Key: k, Value: []byte{}}
		default:
			v := make([]byte, rng.Intn(200))
			rng.Read(v)
			ops[i] = entry.Op{Kind: entry.KindSet, Key: k, Value: v}
		}
	}
	return ops
}

func sameOp(a, b entry.Op) bool {
	return a.Kind == b.Kind && bytes.Equal(a.Key, b.Key) && bytes.Equal(a.Value, b.Value) && a.ExpiresAt == b.ExpiresAt
}

func iterate(r *Reader) ([]entry.Op, error) {
	var out []entry.Op
	it := r.NewIterator()
	for it.Next() {
		out = append(out, it.Op())
	}
	return out, it.Err()
}

func checkTable(t *testing.T, data []byte, ops []entry.Op) *Reader {
	t.Helper()
	r, err := Open(data)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if r.Entries() != uint64(len(ops)) || r.Size() != int64(len(data)) {
		t.Fatalf("Entries %d Size %d, want %d, %d", r.Entries(), r.Size(), len(ops), len(data))
	}
	if probs := Verify(data); len(probs) != 0 {
		t.Fatalf("Verify of a good table: %v", probs)
	}
	for _, op := range ops {
		got, found, err := r.Get(op.Key)
		if err != nil || !found || !sameOp(got, op) {
			t.Fatalf("Get(%q) = %+v, %v, %v; want %+v", op.Key, got, found, err, op)
		}
		if ok, err := r.MayContain(op.Key); err != nil || !ok {
			t.Fatalf("bloom filter rejects stored key %q (%v)", op.Key, err)
		}
	}
	all, err := iterate(r)
	if err != nil || len(all) != len(ops) {
		t.Fatalf("iteration: %d entries, %v; want %d", len(all), err, len(ops))
	}
	for i := range all {
		if !sameOp(all[i], ops[i]) {
			t.Fatalf("entry %d: %+v, want %+v", i, all[i], ops[i])
		}
	}
	salvaged, lost := Salvage(data)
	if len(lost) != 0 || len(salvaged) != len(ops) {
		t.Fatalf("Salvage of a good table: %d entries, lost %v", len(salvaged), lost)
	}
	return r
}

func TestRoundTripManyKeys(t *testing.T) {
	const n = 20000
	ops := mixedOps(n, 1)
	data := build(t, ops)
	r := checkTable(t, data, ops)
	if r.Blocks() < 100 {
		t.Fatalf("only %d blocks for %d entries", r.Blocks(), n)
	}
	// Absent keys: before the first, between every pair, after the last.
	absent := [][]byte{[]byte("a"), []byte("key-"), []byte("zzz"), append(key(2*n), 0)}
	for i := 0; i < n; i += 7 {
		absent = append(absent, key(2*i+1), append(key(2*i), 0))
	}
	falsePositives := 0
	for _, k := range absent {
		if _, found, err := r.Get(k); err != nil || found {
			t.Fatalf("Get(absent %q): found %v, %v", k, found, err)
		}
		if ok, _ := r.MayContain(k); ok {
			falsePositives++
		}
	}
	if rate := float64(falsePositives) / float64(len(absent)); rate > 0.05 {
		t.Errorf("bloom false-positive rate %.3f", rate)
	}
	// SeekGE to present keys, absent keys in between, and past the end.
	for _, i := range []int{0, 1, 2, 99, 100, 101, 4567, 2*n - 3, 2*n - 2, 2*n - 1} {
		it := r.NewIterator()
		it.SeekGE(key(i))
		want := (i + 1) / 2 // first entry with key >= key(i)
		for j := 0; j < 3; j++ {
			if want+j >= n {
				if it.Next() {
					t.Fatalf("SeekGE(%q): entry past the end", key(i))
				}
				break
			}
			if !it.Next() || !sameOp(it.Op(), ops[want+j]) {
				t.Fatalf("SeekGE(%q) step %d: %q (%v), want %q", key(i), j, it.Op().Key, it.Err(), ops[want+j].Key)
			}
		}
	}
	it := r.NewIterator()
	it.SeekGE([]byte("a"))
	if !it.Next() || !bytes.Equal(it.Op().Key, ops[0].Key) {
		t.Fatal("SeekGE before the first key")
	}
	it = r.NewIterator()
	it.SeekGE([]byte("zzz"))
	if it.Next() || it.Err() != nil {
		t.Fatal("SeekGE past the last key yields an entry")
	}
	t.Logf("round trip: %d entries in %d blocks (%d bytes), bloom false positives %d/%d", n, r.Blocks(), len(data), falsePositives, len(absent))
}

func TestBigValues(t *testing.T) {
	rng := rand.New(rand.NewSource(2))
	var ops []entry.Op
	for i, size := range []int{0, 1, BlockSize - 10, BlockSize, BlockSize + 1, 3 * BlockSize, 300 << 10, 5, 0} {
		v := make([]byte, size)
		rng.Read(v)
		kind := entry.KindSet
		if i%2 == 1 {
			kind = entry.KindSetExpiring
		}
		ops = append(ops, entry.Op{Kind: kind, Key: key(i), Value: v, ExpiresAt: map[bool]int64{true: 1 << 40}[kind == entry.KindSetExpiring]})
	}
	ops = append(ops, entry.Op{Kind: entry.KindSet, Key: bytes.Repeat([]byte("z"), entry.MaxKeySize), Value: []byte("max key")})
	r := checkTable(t, build(t, ops), ops)
	if r.Blocks() < 6 {
		t.Errorf("%d blocks: big values should each fill one", r.Blocks())
	}
}

// TestStreamedValuesSameBytes: a value large enough to be written where
// it is (streamFrom) gives the same table bytes as one copied into its
// block, whatever precedes and follows it in the block, and reads back.
func TestStreamedValuesSameBytes(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	var ops []entry.Op
	for i, size := range []int{10, 200 << 10, 70 << 10, 100, BlockSize - 50, 64 << 10, 1 << 20, 3} {
		v := make([]byte, size)
		rng.Read(v)
		op := entry.Op{Kind: entry.KindSet, Key: key(i), Value: v, Rev: uint64(i % 3)}
		if i%2 == 1 {
			op.Kind, op.ExpiresAt = entry.KindSetExpiring, 1<<41
		}
		ops = append(ops, op)
	}
	streamed := build(t, ops)
	defer func(n int) { streamFrom = n }(streamFrom)
	streamFrom = math.MaxInt
	if copied := build(t, ops); !bytes.Equal(streamed, copied) {
		t.Fatalf("streamed values give %d bytes that differ from the copied values' %d", len(streamed), len(copied))
	}
	checkTable(t, streamed, ops)
}

func TestTombstonesAndExpiry(t *testing.T) {
	ops := []entry.Op{
		{Kind: entry.KindDelete, Key: []byte("a")},
		{Kind: entry.KindSetExpiring, Key: []byte("b"), Value: []byte("v"), ExpiresAt: -1},
		{Kind: entry.KindSetExpiring, Key: []byte("c"), Value: []byte{}, ExpiresAt: 1<<63 - 1},
		{Kind: entry.KindDelete, Key: []byte("d")},
	}
	r := checkTable(t, build(t, ops), ops)
	op, found, err := r.Get([]byte("a"))
	if err != nil || !found || op.Kind != entry.KindDelete || op.Value != nil {
		t.Errorf("tombstone: %+v %v %v", op, found, err)
	}
}

func TestEmptyTable(t *testing.T) {
	data := build(t, nil)
	r := checkTable(t, data, nil)
	if r.Blocks() != 0 {
		t.Errorf("%d blocks", r.Blocks())
	}
	if _, found, err := r.Get([]byte("k")); found || err != nil {
		t.Errorf("Get in an empty table: %v %v", found, err)
	}
}

func TestWriterRejects(t *testing.T) {
	add := func(keys ...string) error {
		w := NewWriter(&bytes.Buffer{})
		var err error
		for _, k := range keys {
			if err = w.Add(entry.Op{Kind: entry.KindSet, Key: []byte(k)}); err != nil {
				break
			}
		}
		return err
	}
	for name, keys := range map[string][]string{
		"out of order": {"b", "a"},
		"duplicate":    {"a", "a"},
		"empty key":    {""},
		"key too long": {string(bytes.Repeat([]byte("k"), entry.MaxKeySize+1))},
	} {
		if err := add(keys...); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A failing writer's error is returned.
	w := NewWriter(failWriter{})
	for i := 0; i < 1000; i++ {
		w.Add(entry.Op{Kind: entry.KindSet, Key: key(i), Value: make([]byte, 100)})
	}
	if _, err := w.Finish(); !errors.Is(err, errDiskFull) {
		t.Errorf("Finish over a failing writer: %v", err)
	}
}

var errDiskFull = errors.New("disk full")

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestDeterministic(t *testing.T) {
	ops := mixedOps(3000, 3)
	a, b := build(t, ops), build(t, mixedOps(3000, 3))
	if !bytes.Equal(a, b) {
		t.Fatal("the same entries gave different table bytes")
	}
}

// regionOf names the region of a table a byte offset falls in.
func regionOf(r *Reader, off int64) string {
	switch {
	case off < int64(r.f.dataLen):
		return "data"
	case off < int64(r.f.dataLen+r.f.indexLen):
		return "index"
	case off < int64(r.f.dataLen+r.f.indexLen+r.f.bloomLen):
		return "filter"
	case off < int64(len(r.data))-FooterSize:
		return "checksums"
	}
	return "footer"
}

// blockOf returns the index of the data block holding off, or -1.
func blockOf(t *testing.T, r *Reader, off int64) int {
	for i := 0; i < int(r.f.blocks); i++ {
		h, err := r.indexEntry(i)
		if err != nil {
			t.Fatal(err)
		}
		if off >= int64(h.offset) && off < int64(h.offset+h.len) {
			return i
		}
	}
	return -1
}

// TestEveryByteFlip flips every byte of a small table in turn. Verify must
// report every flip; Get, iteration and Salvage must never return a value
// that was not stored: each either gives the right answer or an error.
func TestEveryByteFlip(t *testing.T) {
	ops := mixedOps(200, 4)
	orig := build(t, ops)
	good, err := Open(orig)
	if err != nil {
		t.Fatal(err)
	}
	if good.Blocks() < 4 {
		t.Fatalf("table too small: %d blocks", good.Blocks())
	}
	// Keys to look up: every stored one and some absent ones.
	blockEntries := map[int][]entry.Op{}
	for b := 0; b < int(good.Blocks()); b++ {
		body, _, err := good.block(b)
		if err != nil {
			t.Fatal(err)
		}
		for p := body; len(p) > 0; {
			op, rest, err := entry.DecodeOp(p)
			if err != nil {
				t.Fatal(err)
			}
			blockEntries[b] = append(blockEntries[b], op)
			p = rest
		}
	}
	stats := map[string]int{}
	var openFails, getErrors, getRight, detected, salvagedAll, tried int
	for pos := 0; pos < len(orig); pos += flipStride {
		tried++
		data := bytes.Clone(orig)
		data[pos] ^= 0x10
		region := regionOf(good, int64(pos))
		stats[region]++
		if probs := Verify(data); len(probs) > 0 {
			detected++
		} else {
			t.Errorf("flip at %d (%s): Verify found nothing", pos, region)
		}
		// Salvage keeps exactly the entries of the intact data blocks.
		var want []entry.Op
		damagedBlock := -1
		if region == "data" {
			damagedBlock = blockOf(t, good, int64(pos))
		}
		for b := 0; b < int(good.Blocks()); b++ {
			if b != damagedBlock {
				want = append(want, blockEntries[b]...)
			}
		}
		salvaged, lost := Salvage(data)
		if len(salvaged) != len(want) || (damagedBlock >= 0 && len(lost) == 0) {
			t.Errorf("flip at %d (%s, block %d): salvaged %d of %d entries, lost %v", pos, region, damagedBlock, len(salvaged), len(want), lost)
		} else {
			for i := range want {
				if !sameOp(salvaged[i], want[i]) {
					t.Errorf("flip at %d: salvaged entry %d is %q, want %q", pos, i, salvaged[i].Key, want[i].Key)
					break
				}
			}
		}
		if len(salvaged) == len(want) {
			salvagedAll++
		}
		r, err := Open(data)
		if err != nil {
			var ce *CorruptError
			if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
				t.Errorf("flip at %d: Open error %v is not a *CorruptError", pos, err)
			}
			openFails++
			continue
		}
		for i, op := range ops {
			if i%3 != pos%3 {
				continue // a third of the keys per flip keeps the test fast
			}
			got, found, err := r.Get(op.Key)
			switch {
			case err != nil:
				getErrors++
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("flip at %d: Get error %v does not wrap ErrCorrupt", pos, err)
				}
			case !found || !sameOp(got, op):
				t.Fatalf("flip at %d (%s): Get(%q) = %+v, found %v: wrong answer without an error", pos, region, op.Key, got, found)
			default:
				getRight++
			}
			absent := key(2*i + 1)
			if _, found, err := r.Get(absent); found && err == nil {
				t.Fatalf("flip at %d: absent key %q found", pos, absent)
			}
		}
		all, err := iterate(r)
		for i := range all {
			if i >= len(ops) || !sameOp(all[i], ops[i]) {
				t.Fatalf("flip at %d: iteration yields a wrong entry %d", pos, i)
			}
		}
		if len(all) != len(ops) && err == nil {
			t.Fatalf("flip at %d: iteration stops after %d of %d entries without an error", pos, len(all), len(ops))
		}
	}
	if detected != tried || salvagedAll != tried {
		t.Errorf("detected %d, salvaged every intact block %d, of %d flips", detected, salvagedAll, tried)
	}
	testsummary.Log(t, "table byte flips: %d of %d positions (regions %v): Verify detected %d (%.0f%%); Salvage kept every intact block %d times; Open refused %d; Get gave %d right answers and %d errors, 0 wrong",
		tried, len(orig), stats, detected, 100*float64(detected)/float64(tried), salvagedAll, openFails, getRight, getErrors)
}

// Random multi-byte damage, on a larger table: Verify still reports it.
func TestRandomDamage(t *testing.T) {
	ops := mixedOps(3000, 5)
	orig := build(t, ops)
	rng := rand.New(rand.NewSource(6))
	for trial := 0; trial < 300; trial++ {
		data := bytes.Clone(orig)
		flips := 1 + rng.Intn(8)
		for i := 0; i < flips; i++ {
			data[rng.Intn(len(data))] ^= byte(1 + rng.Intn(255))
		}
		if bytes.Equal(data, orig) {
			continue
		}
		if probs := Verify(data); len(probs) == 0 {
			t.Fatalf("trial %d: %d flips undetected", trial, flips)
		}
		r, err := Open(data)
		if err != nil {
			continue
		}
		for _, op := range ops[:200] {
			if got, found, err := r.Get(op.Key); err == nil && (!found || !sameOp(got, op)) {
				t.Fatalf("trial %d: wrong Get answer for %q", trial, op.Key)
			}
		}
	}
}

func TestTruncatedAndExtended(t *testing.T) {
	orig := build(t, mixedOps(500, 7))
	for _, n := range []int{0, 1, FooterSize - 1, FooterSize, len(orig) / 2, len(orig) - 1} {
		if _, err := Open(orig[:n]); !errors.Is(err, ErrCorrupt) {
			t.Errorf("table cut to %d bytes: %v", n, err)
		}
		if len(Verify(orig[:n])) == 0 {
			t.Errorf("Verify of a table cut to %d bytes is clean", n)
		}
	}
	for _, prefix := range [][]byte{{0}, make([]byte, 4096)} {
		if _, err := Open(append(prefix, orig...)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("table with %d bytes before it: %v", len(prefix), err)
		}
	}
}

func TestSalvageSkipsDamagedBlocks(t *testing.T) {
	ops := mixedOps(1000, 8)
	data := build(t, ops)
	r, _ := Open(data)
	h1, _ := r.indexEntry(1)
	h3, _ := r.indexEntry(3)
	data[h1.offset+3] ^= 1
	data[h3.offset+h3.len-1] ^= 1 // the block's own CRC
	salvaged, lost := Salvage(data)
	if len(lost) != 2 || lost[0].Offset != int64(h1.offset) || lost[1].Offset != int64(h3.offset) {
		t.Fatalf("lost %v, want blocks at %d and %d", lost, h1.offset, h3.offset)
	}
	keep := map[string]bool{}
	for _, op := range salvaged {
		keep[string(op.Key)] = true
	}
	b1, _ := Open(build(t, ops))
	for i := 0; i < int(b1.Blocks()); i++ {
		body, _, _ := b1.block(i)
		first, _, _ := entry.DecodeOp(body)
		if keep[string(first.Key)] == (i == 1 || i == 3) {
			t.Errorf("block %d: salvaged %v", i, keep[string(first.Key)])
		}
	}
	if len(salvaged) >= len(ops) {
		t.Error("nothing lost")
	}
}

// Damage to the footer, checksums or index loses no intact data block, and
// a table cut short keeps its complete blocks.
func TestSalvageWithoutIndex(t *testing.T) {
	ops := mixedOps(2000, 9)
	orig := build(t, ops)
	r, _ := Open(orig)
	metaStart := int(r.f.dataLen)
	cases := map[string]func([]byte) []byte{
		"footer flipped":       func(b []byte) []byte { b[len(b)-10] ^= 1; return b },
		"checksums zeroed":     func(b []byte) []byte { clear(b[len(b)-FooterSize-4 : len(b)-FooterSize]); return b },
		"index zeroed":         func(b []byte) []byte { clear(b[metaStart : metaStart+int(r.f.indexLen)]); return b },
		"footer and meta gone": func(b []byte) []byte { return b[:metaStart] },
	}
	for name, damage := range cases {
		salvaged, lost := Salvage(damage(bytes.Clone(orig)))
		if len(salvaged) != len(ops) || len(lost) == 0 {
			t.Errorf("%s: salvaged %d of %d entries, lost %v", name, len(salvaged), len(ops), lost)
			continue
		}
		for i := range ops {
			if !sameOp(salvaged[i], ops[i]) {
				t.Fatalf("%s: entry %d differs", name, i)
			}
		}
	}
	// Cut in the middle of the data: the complete blocks before the cut.
	h, _ := r.indexEntry(5)
	salvaged, _ := Salvage(orig[:h.offset+h.len/2])
	first6, _ := Open(orig)
	var want int
	for i := 0; i < 5; i++ {
		body, _, _ := first6.block(i)
		for p := body; len(p) > 0; want++ {
			_, p, _ = entry.DecodeOp(p)
		}
	}
	if len(salvaged) != want {
		t.Errorf("table cut inside block 5: salvaged %d entries, want the %d of blocks 0-4", len(salvaged), want)
	}
}

// chunkSums over pieces equals the checksums of each ChunkSize chunk of
// the pieces joined, wherever the pieces split the chunks.
func TestChunkSumsAcrossPieces(t *testing.T) {
	joined := make([]byte, 3*ChunkSize+123)
	for i := range joined {
		joined[i] = byte(i*7 + i/ChunkSize)
	}
	var want []byte
	for i := 0; i < len(joined); i += ChunkSize {
		want = binary.LittleEndian.AppendUint32(want, crc32c.Checksum(joined[i:min(i+ChunkSize, len(joined))]))
	}
	for _, cuts := range [][]int{nil, {1}, {ChunkSize}, {ChunkSize - 1, ChunkSize + 1}, {10, 10, 2*ChunkSize + 5}, {len(joined)}} {
		var pieces [][]byte
		at := 0
		for _, c := range cuts {
			pieces = append(pieces, joined[at:c])
			at = c
		}
		pieces = append(pieces, joined[at:])
		if got := chunkSums(pieces, uint64(len(joined))); !bytes.Equal(got, want) {
			t.Errorf("cuts %v: sums differ", cuts)
		}
	}
}
