package sstable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/kvtool/kv/pkg/wal"
)

// tableOf writes sorted keys, each with the value "v-" and the key, and
// opens the table.
func tableOf(t *testing.T, keys [][]byte) *Reader {
	t.Helper()
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, k := range keys {
		if err := w.Add(wal.Op{Kind: wal.KindSet, Key: k, Value: append([]byte("v-"), k...)}); err != nil {
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
		// Now through the block's cache, without the filter.
		op, ok, err = r.GetLikelyPresent(k)
		if err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), k...)) {
			t.Fatalf("GetLikelyPresent(%q) = %q %v %v", k, op.Value, ok, err)
		}
	}
	// Every block has been searched, so every block has its cache.
	for i := range px.blocks {
		if px.ready(i) == nil {
			t.Fatalf("block %d of %d has no cache after a lookup of each key", i, len(px.blocks))
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

// TestBlockHashCollisions: keys of a block that share their hash are told
// apart by comparing them in full. The test gives every key of every block
// the same hash, the worst case, and still finds each key and no absent
// one.
func TestBlockHashCollisions(t *testing.T) {
	var keys [][]byte
	for i := 0; i < 500; i++ {
		keys = append(keys, fmt.Appendf(nil, "key%04d", i*2))
	}
	r := tableOf(t, keys)
	r.lookups.Store(prefixIndexAfter - 1)
	px := r.prefixIndex()
	if px == nil || len(px.blocks) < 2 {
		t.Fatalf("prefix index %v over %d blocks", px, r.Blocks())
	}
	absent := keyHash32(Hash([]byte("key0001")))
	for i := range px.blocks {
		entries, starts, h, err := r.blockWithStarts(i)
		if err != nil {
			t.Fatal(err)
		}
		bc := px.cacheBlock(i, h.offset, entries, starts)
		for j := range bc.n() {
			bc.words[j] = absent
		}
	}
	for _, k := range keys {
		op, ok, err := getHashedForTest(r, k, absent)
		if err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), k...)) {
			t.Fatalf("Get(%q) with every hash equal = %q %v %v", k, op.Value, ok, err)
		}
	}
	if _, ok, err := getHashedForTest(r, []byte("key0001"), absent); ok || err != nil {
		t.Fatalf("absent key found with every hash equal: %v %v", ok, err)
	}
}

// getHashedForTest runs a lookup through the block caches as Get does,
// with hash32 standing for the key's hash.
func getHashedForTest(r *Reader, key []byte, hash32 uint32) (wal.Op, bool, error) {
	i, err := r.seekBlock(key)
	if err != nil || i >= int(r.Blocks()) {
		return wal.Op{}, false, err
	}
	px := r.prefixes.Load()
	return px.ready(i).get(r, i, key, uint64(hash32)<<32)
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
