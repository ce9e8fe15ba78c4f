package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/entry"
)

// topTable builds a table of about 2,000 blocks: 31 top index entries.
func topTable(t *testing.T) ([]byte, [][]byte) {
	t.Helper()
	var keys [][]byte
	var buf bytes.Buffer
	w := NewWriter(&buf)
	value := bytes.Repeat([]byte("v"), 1000)
	for i := 0; i < 8000; i++ {
		k := fmt.Appendf(nil, "key-%06d", 2*i) // odd numbers are absent
		keys = append(keys, k)
		if err := w.Add(entry.Op{Kind: entry.KindSet, Key: k, Value: value}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), keys
}

func checkedChunks(r *Reader) int {
	n := 0
	for c := 0; c < int(chunkCount(uint64(len(r.meta)))); c++ {
		if r.checkedMeta.has(c) {
			n++
		}
	}
	return n
}

// A lookup searches the top index and then one stretch of TopStride index
// entries, and answers exactly as a search of the whole index does.
func TestTopIndex(t *testing.T) {
	data, keys := topTable(t)
	r, err := Open(data)
	if err != nil {
		t.Fatal(err)
	}
	if want := int((r.Blocks() + TopStride - 1) / TopStride); r.topN != want || want < 20 {
		t.Fatalf("%d blocks, %d top entries, want %d (and at least 20 for this test)", r.Blocks(), r.topN, want)
	}
	// One lookup on a fresh reader checks a few chunks of the meta region;
	// the same lookup without the top index checks more.
	probe := keys[len(keys)/3]
	if _, ok, err := r.Get(probe); err != nil || !ok {
		t.Fatalf("Get(%s): %v %v", probe, ok, err)
	}
	withTop := checkedChunks(r)
	plain, _ := Open(data)
	plain.topN = 0
	if _, ok, err := plain.Get(probe); err != nil || !ok {
		t.Fatalf("Get(%s) without the top index: %v %v", probe, ok, err)
	}
	without := checkedChunks(plain)
	t.Logf("meta chunks checked by one lookup: %d with the top index, %d without (of %d)", withTop, without, chunkCount(uint64(len(r.meta))))
	if withTop > 5 || withTop >= without {
		t.Fatalf("one lookup checked %d meta chunks with the top index, %d without", withTop, without)
	}
	for i, k := range keys {
		op, ok, err := r.Get(k)
		if err != nil || !ok || !bytes.Equal(op.Key, k) {
			t.Fatalf("Get(%s) = %q %v %v", k, op.Key, ok, err)
		}
		absent := fmt.Appendf(nil, "key-%06d", 2*i+1)
		if _, ok, err := r.Get(absent); err != nil || ok {
			t.Fatalf("Get(%s) of an absent key: %v %v", absent, ok, err)
		}
	}
	for _, k := range []string{"a", "key-", "key-999999", "z"} {
		if _, ok, err := r.Get([]byte(k)); err != nil || ok {
			t.Fatalf("Get(%s) outside the key range: %v %v", k, ok, err)
		}
	}
	if p := Verify(data); len(p) != 0 {
		t.Fatalf("Verify: %v", p)
	}
}

// Damage in the top index is caught by its chunk checksum on the lookup
// that reads it, and reported by Verify with its offset.
func TestTopIndexDamage(t *testing.T) {
	data, keys := topTable(t)
	r, _ := Open(data)
	at := r.metaOff + int64(r.topStart) + 3
	bad := bytes.Clone(data)
	bad[at] ^= 0x10
	br, err := Open(bad)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := br.Get(keys[100]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("lookup through a damaged top index: %v, want ErrCorrupt", err)
	}
	chunk := r.metaOff + (at-r.metaOff)/ChunkSize*ChunkSize
	probs := Verify(bad)
	found := false
	for _, p := range probs {
		found = found || p.Offset == chunk
	}
	if !found {
		t.Fatalf("Verify of a damaged top index: %v, want a problem at offset %d", probs, chunk)
	}
}

// Tables written before the top index (version 1) are still read, by a
// search of the whole index.
func TestVersion1TableStillRead(t *testing.T) {
	set := func(k string) []byte {
		return entry.AppendOp(nil, entry.Op{Kind: entry.KindSet, Key: []byte(k), Value: []byte("v-" + k)})
	}
	bodies, last, keys := [][]byte{append(set("a"), set("b")...), set("c")}, [][]byte{[]byte("b"), []byte("c")}, [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	v3 := rawTable(bodies, last, keys)
	v2 := rawTableOf(2, bodies, last, keys, [][]byte{[]byte("c")})
	v1 := rawTableVersion1(bodies, last, keys)
	for name, data := range map[string][]byte{"version 1": v1, "version 2": v2, "version 3": v3} {
		r, err := Open(data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if v := binary.LittleEndian.Uint32(data[len(data)-20:]); fmt.Sprint("version ", v) != name {
			t.Fatalf("%s: footer says version %d", name, v)
		}
		for _, k := range []string{"a", "b", "c"} {
			op, ok, err := r.Get([]byte(k))
			if err != nil || !ok || string(op.Value) != "v-"+k {
				t.Fatalf("%s: Get(%s) = %q %v %v", name, k, op.Value, ok, err)
			}
		}
		if p := Verify(data); len(p) != 0 {
			t.Fatalf("%s: Verify: %v", name, p)
		}
	}
}

// An intact footer of an unknown version is a newer kv's table, not damage;
// a damaged version field is caught by the footer CRC first.
func TestUnknownVersion(t *testing.T) {
	data, _ := topTable(t)
	f := func(version uint32, reseal bool) []byte {
		b := bytes.Clone(data)
		foot := b[len(b)-footerSizeV2:]
		binary.LittleEndian.PutUint32(foot[44:48], version)
		if reseal {
			binary.LittleEndian.PutUint32(foot[60:64], crc32c.Checksum(b[len(b)-FooterSize:len(b)-4]))
		}
		return b
	}
	if _, err := Open(f(Version+1, true)); !errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("version %d: %v, want ErrUnsupportedVersion only", Version+1, err)
	}
	if _, err := Open(f(Version+1, false)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("damaged version field: %v, want ErrCorrupt", err)
	}
	if _, err := Open(f(0, true)); !errors.Is(err, ErrUnsupportedVersion) {
		t.Fatalf("version 0: %v, want ErrUnsupportedVersion", err)
	}
}
