package sstable

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/entry"
)

// rawTable assembles a table from raw block bodies and index keys, with
// every checksum right, so that tests can build tables the Writer refuses
// to write (keys out of order, keys above the limit, a lying index).
func rawTable(bodies [][]byte, lastKeys [][]byte, bloomKeys [][]byte) []byte {
	var top [][]byte
	for i := range lastKeys {
		if (i+1)%TopStride == 0 || i == len(lastKeys)-1 {
			top = append(top, lastKeys[i])
		}
	}
	return rawTableWithTop(bodies, lastKeys, bloomKeys, top)
}

// rawTableVersion1 is rawTable in the format before the top index.
func rawTableVersion1(bodies [][]byte, lastKeys [][]byte, bloomKeys [][]byte) []byte {
	return rawTableOf(1, bodies, lastKeys, bloomKeys, nil)
}

// rawTableWithTop is rawTable with the top index's keys given.
func rawTableWithTop(bodies [][]byte, lastKeys [][]byte, bloomKeys [][]byte, topKeys [][]byte) []byte {
	return rawTableOf(Version, bodies, lastKeys, bloomKeys, topKeys)
}

func rawTableOf(version uint32, bodies [][]byte, lastKeys [][]byte, bloomKeys [][]byte, topKeys [][]byte) []byte {
	var data, index, offsets []byte
	for i, body := range bodies {
		off := len(data)
		body = withStarts(body)
		data = append(data, body...)
		data = binary.LittleEndian.AppendUint32(data, crc32c.Checksum(body))
		offsets = binary.LittleEndian.AppendUint32(offsets, uint32(len(index)))
		index = binary.AppendUvarint(index, uint64(len(lastKeys[i])))
		index = append(index, lastKeys[i]...)
		index = binary.AppendUvarint(index, uint64(off))
		index = binary.AppendUvarint(index, uint64(len(body)+4))
	}
	var hashes []uint64
	for _, k := range bloomKeys {
		hashes = append(hashes, Hash(k))
	}
	meta := append(index, offsets...)
	topBase := len(meta)
	var topOffsets []byte
	for _, k := range topKeys {
		topOffsets = binary.LittleEndian.AppendUint32(topOffsets, uint32(len(meta)))
		meta = binary.AppendUvarint(meta, uint64(len(k)))
		meta = append(meta, k...)
	}
	meta = append(meta, topOffsets...)
	indexLen := len(meta)
	meta = append(meta, buildBloom(hashes)...)
	var sums []byte
	for i := 0; i < len(meta); i += ChunkSize {
		sums = binary.LittleEndian.AppendUint32(sums, crc32c.Checksum(meta[i:min(i+ChunkSize, len(meta))]))
	}
	out := append(append(data, meta...), sums...)
	return append(out, footer{
		dataLen: uint64(len(data)), indexLen: uint64(indexLen), bloomLen: uint64(len(meta) - indexLen),
		blocks: uint64(len(bodies)), entries: uint64(len(bloomKeys)), sumsCRC: crc32c.Checksum(sums),
		topLen: uint32(indexLen - topBase), version: version,
	}.encode()...)
}

// withStarts appends a block's array of entry offsets and its length,
// parsing the entries leniently (no limits) so that hand-built blocks with
// oversized keys still get a well-formed array.
func withStarts(body []byte) []byte {
	var starts []uint16
	for p := 0; p < len(body); {
		starts = append(starts, uint16(p))
		kind := body[p]
		p++
		kl, n := binary.Uvarint(body[p:])
		p += n + int(kl)
		if entry.Kind(kind) != entry.KindDelete && p < len(body) {
			vl, m := binary.Uvarint(body[p:])
			p += m + int(vl)
		}
		if entry.Kind(kind) == entry.KindSetExpiring {
			p += 8
		}
	}
	out := append([]byte(nil), body...)
	for _, o := range starts {
		out = binary.LittleEndian.AppendUint16(out, o)
	}
	return binary.LittleEndian.AppendUint16(out, uint16(len(starts)))
}

// resealTable recomputes, in place, every checksum of a table that its
// footer and index let it find: data blocks, chunk sums, footer. The fuzzer
// can then change lengths, offsets and keys and reach the code behind the
// checksums.
func resealTable(data []byte) []byte {
	if len(data) < FooterSize {
		return data
	}
	size := uint64(len(data) - FooterSize)
	whole := data[size:]
	ft := whole[FooterSize-footerSizeV2:] // the fields every version shares
	copy(ft[48:56], Magic)
	binary.LittleEndian.PutUint32(ft[44:], Version)
	dataLen := binary.LittleEndian.Uint64(ft[0:])
	indexLen := binary.LittleEndian.Uint64(ft[8:])
	bloomLen := binary.LittleEndian.Uint64(ft[16:])
	blocks := binary.LittleEndian.Uint64(ft[24:])
	if dataLen <= size && indexLen <= size-dataLen && bloomLen <= size-dataLen-indexLen {
		meta := data[dataLen : dataLen+indexLen+bloomLen]
		if blocks <= indexLen/4 {
			index := meta[:indexLen-4*blocks]
			offsets := meta[indexLen-4*blocks : indexLen]
			for i := uint64(0); i < blocks && i < 1<<16; i++ {
				p := uint64(binary.LittleEndian.Uint32(offsets[i*4:]))
				if p >= uint64(len(index)) {
					continue
				}
				e := index[p:]
				kl, n := binary.Uvarint(e)
				if n <= 0 || kl > uint64(len(e)-n) {
					continue
				}
				e = e[uint64(n)+kl:]
				off, n := binary.Uvarint(e)
				if n <= 0 {
					continue
				}
				ln, n2 := binary.Uvarint(e[n:])
				if n2 <= 0 || ln < 5 || off > dataLen || ln > dataLen-off {
					continue
				}
				b := data[off : off+ln]
				binary.LittleEndian.PutUint32(b[ln-4:], crc32c.Checksum(b[:ln-4]))
			}
		}
		sums := data[dataLen+uint64(len(meta)) : size]
		if uint64(len(sums)) == chunkCount(uint64(len(meta)))*4 {
			for c := 0; c*ChunkSize < len(meta); c++ {
				binary.LittleEndian.PutUint32(sums[c*4:], crc32c.Checksum(meta[c*ChunkSize:min((c+1)*ChunkSize, len(meta))]))
			}
			binary.LittleEndian.PutUint32(ft[40:], crc32c.Checksum(sums))
		}
	}
	binary.LittleEndian.PutUint32(ft[60:], crc32c.Checksum(whole[:FooterSize-4]))
	return data
}

// FuzzTable opens, verifies, salvages, reads and iterates arbitrary table
// bytes: nothing may panic, a table that Verify passes must read
// consistently through Get, the iterator, SeekGE and Salvage, and a reader
// of the file (OpenAt) must answer exactly as a reader of the bytes.
func FuzzTable(f *testing.F) {
	for _, s := range tableSeeds() {
		f.Add(s.data, s.reseal)
	}
	f.Fuzz(func(t *testing.T, data []byte, reseal bool) {
		if reseal {
			data = resealTable(bytes.Clone(data))
		}
		probs := Verify(data)
		salvaged, lost := Salvage(data)
		r, err := Open(data)
		fr, ferr := openFile(data)
		if errText(err) != errText(ferr) {
			t.Fatalf("Open = %v, but OpenAt = %v", err, ferr)
		}
		if err != nil {
			if len(probs) == 0 {
				t.Fatalf("Open fails (%v) but Verify is clean", err)
			}
			return
		}
		var all []entry.Op
		it := r.NewIterator()
		for it.Next() {
			all = append(all, it.Op())
			if len(all) > len(data) {
				t.Fatal("iterator yields more entries than bytes")
			}
		}
		probes := [][]byte{[]byte("k"), []byte("key-000100"), {0}, {0xff, 0xff}}
		for i := 0; i < len(all) && i < 64; i++ {
			probes = append(probes, all[i].Key)
		}
		for _, k := range probes {
			r.Get(k)
			r.MayContain(k)
			it := r.NewIterator()
			it.SeekGE(k)
			for j := 0; j < 3 && it.Next(); j++ {
			}
		}
		// A long-lived reader (prefix index built, blocks cached on their
		// first search) runs the same lookups: twice each, so the second
		// goes through the key index, and then as GetLikelyPresent,
		// which reads the key index before the filter.
		lr, err := Open(data)
		if err != nil {
			t.Fatalf("second Open: %v", err)
		}
		lr.lookups.Store(prefixIndexAfter - 1)
		for _, k := range probes {
			lr.Get(k)
			lr.Get(k)
			lr.GetLikelyPresent(k)
		}
		// A reader of the file judges the bytes as a reader of them does.
		sameAnswers(t, "file reader", r, fr, probes)
		if len(probs) != 0 {
			return
		}
		// The table verified clean: every path must agree.
		for _, k := range probes {
			want, wfound, werr := r.Get(k)
			got, found, err := lr.Get(k)
			if found != wfound || (err == nil) != (werr == nil) || found && !sameOp(got, want) {
				t.Fatalf("clean table: Get(%q) through the caches = %+v %v %v, plain = %+v %v %v", k, got, found, err, want, wfound, werr)
			}
			got, found, err = lr.GetLikelyPresent(k)
			if found != wfound || (err == nil) != (werr == nil) || found && !sameOp(got, want) {
				t.Fatalf("clean table: GetLikelyPresent(%q) = %+v %v %v, Get = %+v %v %v", k, got, found, err, want, wfound, werr)
			}
		}
		if it.Err() != nil || uint64(len(all)) != r.Entries() {
			t.Fatalf("clean table: iteration gave %d of %d entries, %v", len(all), r.Entries(), it.Err())
		}
		if len(lost) != 0 || len(salvaged) != len(all) {
			t.Fatalf("clean table: Salvage kept %d of %d, lost %v", len(salvaged), len(all), lost)
		}
		for i, op := range all {
			if i > 0 && bytes.Compare(all[i-1].Key, op.Key) >= 0 {
				t.Fatalf("clean table: keys out of order at %d", i)
			}
			if !sameOp(salvaged[i], op) {
				t.Fatalf("clean table: salvaged entry %d differs", i)
			}
			got, found, err := r.Get(op.Key)
			if err != nil || !found || !sameOp(got, op) {
				t.Fatalf("clean table: Get(%q) = %+v %v %v, iterator says %+v", op.Key, got, found, err, op)
			}
			for range 2 {
				if got, found, err := lr.Get(op.Key); err != nil || !found || !sameOp(got, op) {
					t.Fatalf("clean table: Get(%q) through the caches = %+v %v %v, iterator says %+v", op.Key, got, found, err, op)
				}
			}
			if got, found, err := lr.GetLikelyPresent(op.Key); err != nil || !found || !sameOp(got, op) {
				t.Fatalf("clean table: GetLikelyPresent(%q) = %+v %v %v, iterator says %+v", op.Key, got, found, err, op)
			}
			it := r.NewIterator()
			it.SeekGE(op.Key)
			if !it.Next() || !sameOp(it.Op(), op) {
				t.Fatalf("clean table: SeekGE(%q) lands on %q", op.Key, it.Op().Key)
			}
		}
	})
}

type tableSeed struct {
	name   string
	data   []byte
	reseal bool
}

func tableSeeds() []tableSeed {
	small := func() []byte {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, op := range mixedOps(120, 11) {
			w.Add(op)
		}
		w.Finish()
		return buf.Bytes()
	}
	one := func() []byte {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		w.Add(entry.Op{Kind: entry.KindSet, Key: []byte("k"), Value: []byte("v")})
		w.Finish()
		return buf.Bytes()
	}
	revisions := func() []byte {
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for i, op := range mixedOps(120, 12) {
			op.Rev = uint64(1000 + i*37)
			w.Add(op)
		}
		w.SetCover(5, 9000)
		w.Finish()
		return buf.Bytes()
	}
	empty := func() []byte {
		var buf bytes.Buffer
		NewWriter(&buf).Finish()
		return buf.Bytes()
	}
	setFooter := func(b []byte, field int, v uint64) []byte {
		binary.LittleEndian.PutUint64(b[len(b)-footerSizeV2+field*8:], v)
		return b
	}
	// The first index entry's block offset moved past the end of the file.
	indexOutside := func() []byte {
		b := one()
		r, _ := Open(b)
		pos := r.metaOff + int64(binary.LittleEndian.Uint32(r.meta[r.ixLen:]))
		b[pos+2] = 0x7f // keylen(1) key(1) offset(1): offset 127 > data
		return b
	}
	offsetsOutside := func() []byte {
		b := one()
		r, _ := Open(b)
		binary.LittleEndian.PutUint32(b[r.metaOff+int64(r.ixLen):], 1<<30)
		return b
	}
	longKey := bytes.Repeat([]byte("k"), entry.MaxKeySize+1)
	longEntry := append([]byte{byte(entry.KindSet)}, binary.AppendUvarint(nil, uint64(len(longKey)))...)
	longEntry = append(append(longEntry, longKey...), 1, 'v')
	outOfOrder := append(entry.AppendOp(nil, entry.Op{Kind: entry.KindSet, Key: []byte("b"), Value: []byte("1")}),
		entry.AppendOp(nil, entry.Op{Kind: entry.KindSet, Key: []byte("a"), Value: []byte("2")})...)
	// 130 blocks of one entry each: three top index entries, so lookups
	// search the top index before the index.
	manyBlocks := func() []byte {
		var bodies, keys [][]byte
		for i := 0; i < 2*TopStride+2; i++ {
			k := fmt.Appendf(nil, "k%03d", i)
			bodies = append(bodies, entry.AppendOp(nil, entry.Op{Kind: entry.KindSet, Key: k, Value: []byte("v")}))
			keys = append(keys, k)
		}
		return rawTable(bodies, keys, keys)
	}
	return []tableSeed{
		{"many-blocks", manyBlocks(), false},
		{"many-blocks-resealed", manyBlocks(), true},
		{"small", small(), false},
		{"small-resealed", small(), true},
		{"one", one(), false},
		{"empty", empty(), false},
		{"short", one()[:FooterSize-1], false},
		{"data-10GiB", setFooter(one(), 0, 10<<30), true},
		{"index-4GiB", setFooter(one(), 1, 4<<30), true},
		{"blocks-huge", setFooter(one(), 3, 1<<62), true},
		{"entries-huge", setFooter(one(), 4, 1<<40), true},
		{"index-offset-outside-file", indexOutside(), true},
		{"offsets-outside-index", offsetsOutside(), true},
		{"key-above-limit", rawTable([][]byte{longEntry}, [][]byte{longKey[:entry.MaxKeySize]}, [][]byte{longKey}), false},
		{"index-key-above-limit", rawTable([][]byte{entry.AppendOp(nil, entry.Op{Kind: entry.KindSet, Key: []byte("k"), Value: nil})}, [][]byte{longKey}, [][]byte{[]byte("k")}), false},
		{"version-1", rawTableVersion1([][]byte{entry.AppendOp(nil, entry.Op{Kind: entry.KindSet, Key: []byte("k"), Value: []byte("v")})}, [][]byte{[]byte("k")}, [][]byte{[]byte("k")}), false},
		{"version-2", rawTableOf(2, [][]byte{entry.AppendOp(nil, entry.Op{Kind: entry.KindSet, Key: []byte("k"), Value: []byte("v")})}, [][]byte{[]byte("k")}, [][]byte{[]byte("k")}, [][]byte{[]byte("k")}), false},
		{"revisions", revisions(), false},
		{"revisions-resealed", revisions(), true},
		{"keys-out-of-order", rawTable([][]byte{outOfOrder}, [][]byte{[]byte("a")}, [][]byte{[]byte("b"), []byte("a")}), false},
	}
}

// Verify checks more than checksums: tables with every checksum right but
// a wrong structure are reported.
func TestVerifyStructure(t *testing.T) {
	set := func(k string) []byte {
		return entry.AppendOp(nil, entry.Op{Kind: entry.KindSet, Key: []byte(k), Value: []byte("v")})
	}
	keys := func(ks ...string) [][]byte {
		var out [][]byte
		for _, k := range ks {
			out = append(out, []byte(k))
		}
		return out
	}
	good := rawTable([][]byte{append(set("a"), set("b")...), set("c")}, keys("b", "c"), keys("a", "b", "c"))
	if p := Verify(good); len(p) != 0 {
		t.Fatalf("hand-built table: %v", p)
	}
	cases := []struct {
		name, want string
		data       []byte
	}{
		{"keys out of order in a block", "out of order", rawTable([][]byte{append(set("b"), set("a")...)}, keys("a"), keys("a", "b"))},
		{"keys out of order across blocks", "out of order", rawTable([][]byte{set("b"), set("a")}, keys("b", "a"), keys("a", "b"))},
		{"duplicate key", "out of order", rawTable([][]byte{append(set("a"), set("a")...)}, keys("a"), keys("a"))},
		{"index key differs", "index key", rawTable([][]byte{set("a"), set("c")}, keys("a", "b"), keys("a", "c"))},
		{"filter misses a key", "bloom", rawTable([][]byte{set("a")}, keys("a"), keys("q"))},
		{"entry count wrong", "counts", rawTable([][]byte{set("a")}, keys("a"), keys("a", "x"))},
		{"top index key differs", "top index entry 0", rawTableWithTop([][]byte{set("a"), set("c")}, keys("a", "c"), keys("a", "c"), keys("b"))},
	}
	for _, c := range cases {
		probs := Verify(c.data)
		found := false
		for _, p := range probs {
			found = found || strings.Contains(p.Reason, c.want)
		}
		if !found {
			t.Errorf("%s: problems %v, want one about %q", c.name, probs, c.want)
		}
	}
}
