package sstable

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/kvtool/kv/pkg/wal"
)

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
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < prefixIndexAfter+10; i++ {
		if _, _, err := r.Get(keys[rng.IntN(len(keys))]); err != nil {
			t.Fatal(err)
		}
	}
	if r.prefixes.Load() == nil {
		t.Fatal("no prefix index after many lookups")
	}
	for _, k := range keys {
		op, ok, err := r.Get(k)
		if err != nil || !ok || !bytes.Equal(op.Value, append([]byte("v-"), k...)) {
			t.Fatalf("Get(%q) = %q %v %v", k, op.Value, ok, err)
		}
	}
	for _, k := range [][]byte{[]byte("a\x00\x00\x00"), []byte("same-sixteen-byte-prefix/"), []byte("same-sixteen-byte-prefix/9"), []byte("k"), []byte("\x00"), []byte("\xff\xff\xff"), []byte("k00001x")} {
		if _, ok, err := r.Get(k); err != nil || ok {
			t.Fatalf("Get(%q) of an absent key: %v %v", k, ok, err)
		}
	}
	it := r.NewIterator()
	it.SeekGE([]byte("same-sixteen-byte-prefix/001500"))
	if !it.Next() || string(it.Op().Key) != "same-sixteen-byte-prefix/001500" {
		t.Fatalf("SeekGE after the prefix index: %q", it.Op().Key)
	}
}
