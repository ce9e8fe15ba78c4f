package sstable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
	"sort"
	"sync/atomic"
	"testing"

	"github.com/kvtool/kv/pkg/entry"
)

// tableOf writes sorted keys, each with the value "v-" and the key, and
// opens the table.
func tableOf(t *testing.T, keys [][]byte) *Reader {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, k := range keys {
		if err := w.Add(entry.Op{Kind: entry.KindSet, Key: k, Value: append([]byte("v-"), k...)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	r, err := Open(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// numberedKeys returns n keys printed with format from 0, step, 2*step...
func numberedKeys(format string, n, step int) [][]byte {
	keys := make([][]byte, n)
	for i := range keys {
		keys[i] = fmt.Appendf(nil, format, i*step)
	}
	return keys
}

// TestPrefixIndexAgreesWithSearch: once a reader has served enough lookups
// to build its in-memory prefix index, every lookup answers as before,
// including for keys whose first 16 bytes are equal, keys shorter than 16
// bytes that differ only by trailing zero bytes, and absent keys.
func TestPrefixIndexAgreesWithSearch(t *testing.T) {
	var keys [][]byte
	for i := 0; i < 3000; i++ {
		keys = append(keys, fmt.Appendf(nil, "same-sixteen-byte-prefix/%06d", i)) // ties beyond 16 bytes
		keys = append(keys, fmt.Appendf(nil, "k%05d", i))
	}
	keys = append(keys, []byte("a"), []byte("a\x00"), []byte("a\x00\x00"), []byte("\xff\xff"))
	slices.SortFunc(keys, bytes.Compare)
	r := tableOf(t, keys)
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < prefixIndexAfter+10; i++ {
		if _, _, err := r.Get(keys[rng.IntN(len(keys))]); err != nil {
			t.Fatal(err)
		}
	}
	px := r.prefixes.Load()
	if px == nil {
		t.Fatal("no prefix index after many lookups")
	}
	for _, k := range keys {
		op, ok, err := r.Get(k)
		if err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), k...)) {
			t.Fatalf("Get(%q) = %q %v %v", k, op.Value, ok, err)
		}
		// Now through the key index, before the filter.
		op, ok, err = r.GetLikelyPresent(k)
		if err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), k...)) {
			t.Fatalf("GetLikelyPresent(%q) = %q %v %v", k, op.Value, ok, err)
		}
	}
	// Every block has been searched, so every block's keys are in the index.
	for i := range px.cached {
		if !px.ready(i) {
			t.Fatalf("block %d of %d is not in the key index after a lookup of each key", i, len(px.cached))
		}
	}
	for _, k := range [][]byte{[]byte("a\x00\x00\x00"), []byte("same-sixteen-byte-prefix/"), []byte("same-sixteen-byte-prefix/9"), []byte("k"), []byte("\x00"), []byte("\xff\xff\xff"), []byte("k00001x")} {
		if _, ok, err := r.Get(k); err != nil || ok {
			t.Fatalf("Get(%q) of an absent key: %v %v", k, ok, err)
		}
		if _, ok, err := r.GetLikelyPresent(k); err != nil || ok {
			t.Fatalf("GetLikelyPresent(%q) of an absent key: %v %v", k, ok, err)
		}
	}
	it := r.NewIterator()
	it.SeekGE([]byte("same-sixteen-byte-prefix/001500"))
	if !it.Next() || string(it.Op().Key) != "same-sixteen-byte-prefix/001500" {
		t.Fatalf("SeekGE after the prefix index: %q", it.Op().Key)
	}
}

// TestKeyIndexCollisions: keys that share their hash are told apart by
// comparing them in full. The test enters the keys of the table in the key
// index with the same hash, the worst case: the first maxProbe go in and
// are each found, the rest are refused, and an absent key with that hash
// is not found.
func TestKeyIndexCollisions(t *testing.T) {
	keys := numberedKeys("key%04d", 500, 2)
	r := tableOf(t, keys)
	r.lookups.Store(prefixIndexAfter - 1)
	px := r.prefixIndex()
	if px == nil || px.keyIndex == nil || r.Blocks() < 2 {
		t.Fatalf("prefix index %v over %d blocks", px, r.Blocks())
	}
	same := Hash([]byte("key0001"))
	var added [][]byte
	for i := range int(r.Blocks()) {
		entries, starts, h, err := r.blockWithStarts(i)
		if err != nil {
			t.Fatal(err)
		}
		for j := range len(starts) / 2 {
			off := binary.LittleEndian.Uint16(starts[2*j:])
			k, _, _ := skipEntry(entries[off:])
			if px.keyIndex.add(same, h.offset+uint64(off)) {
				added = append(added, k)
			}
		}
	}
	if len(added) != maxProbe {
		t.Fatalf("%d of %d keys with one hash went in; want maxProbe (%d)", len(added), len(keys), maxProbe)
	}
	for _, k := range added {
		op, ok, err := px.keyIndex.find(r, k, same)
		if err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), k...)) {
			t.Fatalf("find(%q) with every hash equal = %q %v %v", k, op.Value, ok, err)
		}
	}
	if _, ok, err := px.keyIndex.find(r, []byte("key0001"), same); ok || err != nil {
		t.Fatalf("absent key found with every hash equal: %v %v", ok, err)
	}
}

// keyWithHash returns the 8-byte key whose Hash is h: for 8-byte keys,
// Hash is a bijection, undone step by step.
func keyWithHash(h uint64) []byte {
	inverse := func(a uint64) uint64 { // of an odd a, modulo 2^64
		x := a
		for range 6 {
			x *= 2 - a*x
		}
		return x
	}
	h ^= h>>29 ^ h>>58
	h *= inverse(0xbf58476d1ce4e5b9)
	h ^= h >> 32
	h *= inverse(0x94d049bb133111eb)
	h = bits.RotateLeft64(h, -31)
	h *= inverse(0xbf58476d1ce4e5b9)
	seed, length := uint64(0x9e3779b97f4a7c15), uint64(8)
	return binary.LittleEndian.AppendUint64(nil, h^seed^length*0xff51afd7ed558ccd)
}

// TestKeyIndexHashFlooding: keys chosen to share their home slot and their
// tag (Hash has no seed) fill at most maxProbe slots, so no add or lookup
// walks more than that, and every lookup still answers right, through the
// blocks.
func TestKeyIndexHashFlooding(t *testing.T) {
	const base = 0x123456789a000000 | 0xabcdef // one tag, low 24 bits
	var keys [][]byte
	for j := range 3000 {
		h := uint64(base) + uint64(j)<<24
		k := keyWithHash(h)
		if Hash(k) != h {
			t.Fatalf("keyWithHash(%#x) = %x, whose hash is %#x", h, k, Hash(k))
		}
		keys = append(keys, k)
	}
	slices.SortFunc(keys, bytes.Compare)
	r := tableOf(t, keys)
	r.lookups.Store(prefixIndexAfter - 1)
	for range 2 {
		for _, k := range keys {
			for _, get := range []func([]byte) (entry.Op, bool, error){r.Get, r.GetLikelyPresent} {
				if op, ok, err := get(k); err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), k...)) {
					t.Fatalf("Get(%x) = %q %v %v", k, op.Value, ok, err)
				}
			}
		}
	}
	px := r.prefixes.Load()
	if px == nil || px.keyIndex == nil {
		t.Fatal("no key index")
	}
	taken := 0
	for i := range px.keyIndex.slots {
		if px.keyIndex.slots[i].Load() != 0 {
			taken++
		}
	}
	if taken == 0 || taken > maxProbe {
		t.Fatalf("%d slots taken by %d keys sharing home and tag; want 1 to maxProbe (%d)", taken, len(keys), maxProbe)
	}
}

// TestKeyIndexFull: a key index with too few slots, as a footer that
// undercounts the entries would give, fills up, and lookups still answer
// right through the blocks; so they do without a key index.
func TestKeyIndexFull(t *testing.T) {
	keys := numberedKeys("key%04d", 500, 1)
	r := tableOf(t, keys)
	r.lookups.Store(prefixIndexAfter - 1)
	px := r.prefixIndex()
	if px == nil {
		t.Fatal("no prefix index")
	}
	px.keyIndex = &keyIndex{slots: make([]atomic.Uint64, 50)}
	for range 2 {
		for _, k := range keys {
			for _, get := range []func([]byte) (entry.Op, bool, error){r.Get, r.GetLikelyPresent} {
				op, ok, err := get(k)
				if err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), k...)) {
					t.Fatalf("Get(%q) with a full key index = %q %v %v", k, op.Value, ok, err)
				}
			}
		}
		if _, ok, err := r.GetLikelyPresent([]byte("key0000x")); ok || err != nil {
			t.Fatalf("absent key with a full key index: %v %v", ok, err)
		}
	}
	full := 0
	for i := range px.keyIndex.slots {
		if px.keyIndex.slots[i].Load() != 0 {
			full++
		}
	}
	if full != len(px.keyIndex.slots) {
		t.Fatalf("%d of %d slots taken: the test never filled the index", full, len(px.keyIndex.slots))
	}
	// A table too large for a key index has none.
	px.keyIndex = nil
	for _, k := range keys {
		if op, ok, err := r.GetLikelyPresent(k); err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), k...)) {
			t.Fatalf("Get(%q) without a key index = %q %v %v", k, op.Value, ok, err)
		}
	}
}

// TestNarrowAgreesWithSortSearch checks the search through the groups and
// the gallop over tied prefixes against two plain binary searches, on
// sorted prefix arrays of every length up to 70 with long runs of equal
// prefixes, for keys equal to, between, below and above them.
func TestNarrowAgreesWithSortSearch(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for n := 1; n <= 70; n++ {
		for range 20 {
			px := &prefixIndex{keys: make([]prefix, n), groups: make([]prefix, (n+prefixGroup-1)/prefixGroup)}
			var hi, lo uint64 = 1, 1
			for i := range px.keys {
				switch rng.IntN(4) {
				case 0: // tie with the previous block
				case 1:
					lo += uint64(1 + rng.IntN(3))
				default:
					hi, lo = hi+uint64(rng.IntN(2)), uint64(rng.IntN(1<<20))
				}
				if i > 0 && prefixLess(hi, lo, px.keys[i-1].hi, px.keys[i-1].lo) {
					hi, lo = px.keys[i-1].hi, px.keys[i-1].lo
				}
				px.keys[i] = prefix{hi, lo}
			}
			px.fillGroups()
			probes := []prefix{{0, 0}, {^uint64(0), ^uint64(0)}}
			for _, p := range px.keys {
				probes = append(probes, p, prefix{p.hi, p.lo - 1}, prefix{p.hi, p.lo + 1})
			}
			for _, p := range probes {
				key := binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, p.hi), p.lo)
				wantLo := sort.Search(n, func(i int) bool { return !prefixLess(px.keys[i].hi, px.keys[i].lo, p.hi, p.lo) })
				wantHi := sort.Search(n, func(i int) bool { return prefixLess(p.hi, p.lo, px.keys[i].hi, px.keys[i].lo) })
				if lo, hi := px.narrow(key); lo != wantLo || hi != wantHi {
					t.Fatalf("n=%d, key %x: narrow = [%d, %d), want [%d, %d)", n, key, lo, hi, wantLo, wantHi)
				}
			}
		}
	}
}

// TestKeyIndexConcurrentLookups: lookups from several goroutines build the
// key index together, racing to claim blocks and slots, and every one of
// them answers right, before, during and after.
func TestKeyIndexConcurrentLookups(t *testing.T) {
	keys := numberedKeys("key%06d", 4000, 2)
	r := tableOf(t, keys)
	r.lookups.Store(prefixIndexAfter - 100)
	inParallel(t, 4, func(g int) error {
		rng := rand.New(rand.NewPCG(uint64(g), 11))
		for range 2 * len(keys) {
			i := rng.IntN(len(keys))
			get := r.Get
			if rng.IntN(2) == 0 {
				get = r.GetLikelyPresent
			}
			op, ok, err := get(keys[i])
			if err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), keys[i]...)) {
				return fmt.Errorf("Get(%q) = %q %v %v", keys[i], op.Value, ok, err)
			}
			absent := fmt.Appendf(nil, "key%06d", i*2+1)
			if _, ok, err := get(absent); ok || err != nil {
				return fmt.Errorf("Get(%q) of an absent key: %v %v", absent, ok, err)
			}
		}
		return nil
	})
	if r.prefixes.Load() == nil {
		t.Fatal("the lookups never built the prefix index")
	}
}
