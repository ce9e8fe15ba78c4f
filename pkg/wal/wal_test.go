package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/kvtool/kv/pkg/entry"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/internal/testsummary"
)

// batches is the content of the test log: several records of different
// shapes, the last one large enough to span many 512-byte sectors.
func batches() [][]Op {
	big := bytes.Repeat([]byte("0123456789abcdef"), 320) // 5120 bytes
	return [][]Op{
		{{Kind: KindSet, Key: []byte("a"), Value: []byte("1")}},
		{{Kind: KindSet, Key: []byte("b"), Value: []byte{}}, {Kind: KindDelete, Key: []byte("a")}},
		{{Kind: KindSetExpiring, Key: []byte("c"), Value: []byte("expiring"), ExpiresAt: 1234567890123}},
		{{Kind: KindSet, Key: []byte("d"), Value: bytes.Repeat([]byte{0xff}, 300)}, {Kind: KindSet, Key: []byte("e"), Value: []byte("x")}},
		{{Kind: KindDelete, Key: []byte("b")}},
		{{Kind: KindSet, Key: []byte("big"), Value: big}},
	}
}

const firstSeq = 100

// buildLog returns a log of the test batches and the start offset of every
// record, plus the end offset as the last element.
func buildLog() ([]byte, []int64) {
	data := AppendHeader(nil, firstSeq)
	offs := []int64{int64(len(data))}
	for i, ops := range batches() {
		data = AppendRecord(data, firstSeq+uint64(i), ops)
		offs = append(offs, int64(len(data)))
	}
	return data, offs
}

// normOps makes nil and empty values compare equal.
func normOps(ops []Op) []Op {
	out := make([]Op, len(ops))
	for i, op := range ops {
		if op.Value == nil && op.Kind != KindDelete {
			op.Value = []byte{}
		}
		if op.Kind == KindDelete {
			op.Value = nil
		}
		out[i] = op
	}
	return out
}

func TestRecordRoundTrip(t *testing.T) {
	data, offs := buildLog()
	var got []Record
	res, err := Scan(data, func(r Record) error { got = append(got, r); return nil })
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	want := batches()
	if res.Torn != nil || res.Records != len(want) || res.End != int64(len(data)) ||
		res.FirstSeq != firstSeq || res.NextSeq != firstSeq+uint64(len(want)) {
		t.Fatalf("result %+v, want %d records ending at %d", res, len(want), len(data))
	}
	for i, r := range got {
		if r.Offset != offs[i] || r.Size != int(offs[i+1]-offs[i]) || r.Seq != firstSeq+uint64(i) {
			t.Errorf("record %d at %d size %d seq %d; want %d, %d, %d", i, r.Offset, r.Size, r.Seq, offs[i], offs[i+1]-offs[i], firstSeq+i)
		}
		if !reflect.DeepEqual(normOps(r.Ops), normOps(want[i])) {
			t.Errorf("record %d ops %+v, want %+v", i, r.Ops, want[i])
		}
		if EncodedSize(want[i]) != r.Size {
			t.Errorf("EncodedSize %d, record size %d", EncodedSize(want[i]), r.Size)
		}
		// DecodePayload of the raw payload gives the same ops.
		ops, err := DecodePayload(data[r.Offset+RecordHeaderSize : r.Offset+int64(r.Size)])
		if err != nil || !reflect.DeepEqual(normOps(ops), normOps(want[i])) {
			t.Errorf("DecodePayload record %d: %v %+v", i, err, ops)
		}
	}
	// fn's error stops the scan and comes back as is.
	stop := errors.New("stop")
	n := 0
	if _, err := Scan(data, func(Record) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Scan with failing fn: err %v after %d calls", err, n)
	}
	// An empty log is valid.
	res, err = Scan(AppendHeader(nil, 7), nil)
	if err != nil || res.Records != 0 || res.End != HeaderSize || res.NextSeq != 7 || res.Torn != nil {
		t.Errorf("empty log: %+v, %v", res, err)
	}
}

func TestDecodePayloadRejects(t *testing.T) {
	good := AppendRecord(nil, 1, []Op{{Kind: KindSet, Key: []byte("k"), Value: []byte("v")}})[RecordHeaderSize:]
	cases := map[string][]byte{
		"empty":              {},
		"zero count":         {0},
		"count 4 billion":    append(binary.AppendUvarint(nil, 1<<32), good[1:]...),
		"count above bytes":  append([]byte{2}, good[1:]...),
		"trailing bytes":     append(bytes.Clone(good), 0),
		"bad op":             {1, 7, 1, 'k'},
		"overlong count":     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
		"second op cut":      append([]byte{2}, append(good[1:], byte(KindSet), 1, 'x', 9)...),
		"key length 4 GiB":   append([]byte{1, byte(KindDelete)}, binary.AppendUvarint(nil, 4<<30)...),
		"value length 10GiB": append([]byte{1, byte(KindSet), 1, 'k'}, binary.AppendUvarint(nil, 10<<30)...),
		// A revision belongs to tables: a record's seq is its revision.
		"op with a revision": append([]byte{1}, entry.AppendOp(nil, Op{Kind: KindDelete, Key: []byte("k"), Rev: 9})...),
	}
	for name, p := range cases {
		if ops, err := DecodePayload(p); !errors.Is(err, ErrBadPayload) {
			t.Errorf("%s: ops %v, err %v; want ErrBadPayload", name, ops, err)
		}
	}
	if ops, err := DecodePayload(good); err != nil || len(ops) != 1 {
		t.Errorf("good payload: %v %v", ops, err)
	}
}

func TestHeader(t *testing.T) {
	h := AppendHeader([]byte("xx"), 42)[2:]
	if len(h) != HeaderSize {
		t.Fatalf("header of %d bytes", len(h))
	}
	if seq, err := DecodeHeader(h); err != nil || seq != 42 {
		t.Fatalf("DecodeHeader: %d, %v", seq, err)
	}
	reseal := func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[16:], crc32c.Checksum(b[:16]))
		return b
	}
	badVersion := bytes.Clone(h)
	binary.LittleEndian.PutUint32(badVersion[4:], Version+1)
	badMagic := bytes.Clone(h)
	copy(badMagic, "KVTB")
	cases := map[string][]byte{
		"short":          h[:HeaderSize-1],
		"empty":          nil,
		"bad magic":      reseal(badMagic),
		"bad checksum":   append(bytes.Clone(h[:16]), 0, 0, 0, 0),
		"flipped seq":    func() []byte { b := bytes.Clone(h); b[9] ^= 1; return b }(),
		"another format": []byte("KVTABLE1xxxxxxxxxxxxxxxxxxxx"),
	}
	// An intact header of an unknown version is a newer kv's log, not
	// damage: reported as such, by DecodeHeader and by Scan.
	if _, err := DecodeHeader(reseal(badVersion)); !errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrBadHeader) {
		t.Errorf("unknown version: %v, want ErrUnsupportedVersion only", err)
	}
	var vce *CorruptError
	if _, err := Scan(reseal(badVersion), nil); !errors.Is(err, ErrUnsupportedVersion) || errors.As(err, &vce) {
		t.Errorf("unknown version: Scan error %v, want ErrUnsupportedVersion and no *CorruptError", err)
	}
	// A damaged version field is caught by the header CRC first.
	if _, err := DecodeHeader(append(bytes.Clone(badVersion[:16]), h[16:20]...)); !errors.Is(err, ErrBadHeader) || errors.Is(err, ErrUnsupportedVersion) {
		t.Errorf("damaged version field: %v, want ErrBadHeader", err)
	}
	for name, b := range cases {
		if _, err := DecodeHeader(b); !errors.Is(err, ErrBadHeader) {
			t.Errorf("%s: %v, want ErrBadHeader", name, err)
		}
		// Scan reports a damaged header as corruption at offset 0.
		var ce *CorruptError
		if _, err := Scan(b, nil); !errors.As(err, &ce) || ce.Offset != 0 {
			t.Errorf("%s: Scan error %v, want *CorruptError at 0", name, err)
		}
	}
}

// outcome is what a scan of a damaged log must give.
type outcome struct {
	records int   // intact records recovered, from the first
	torn    int64 // offset of the torn tail, -1 for none
	corrupt int64 // offset of the corruption, -1 for none
}

func TestCorruptionTable(t *testing.T) {
	orig, offs := buildLog()
	n := len(offs) - 1 // records
	end := offs[n]
	want := batches()

	type tcase struct {
		name   string
		damage func([]byte) []byte
		want   outcome
	}
	var cases []tcase
	clean := func(records int) outcome { return outcome{records, -1, -1} }
	torn := func(records int) outcome { return outcome{records, offs[records], -1} }
	corruptAt := func(rec int) outcome { return outcome{rec, -1, offs[rec]} }

	cases = append(cases, tcase{"intact", func(b []byte) []byte { return b }, clean(n)})
	// Truncation at every byte offset of the last two records.
	for cut := offs[n-2]; cut < end; cut++ {
		cut := cut
		recs := 0
		for recs < n && offs[recs+1] <= cut {
			recs++
		}
		w := torn(recs)
		if cut == offs[recs] {
			w = clean(recs) // cut exactly on a record boundary
		}
		cases = append(cases, tcase{fmt.Sprintf("truncate at %d", cut), func(b []byte) []byte { return b[:cut] }, w})
	}
	zero := func(from, to int64) func([]byte) []byte {
		return func(b []byte) []byte {
			clear(b[from:to])
			return b
		}
	}
	cases = append(cases, tcase{"zero the tail record", zero(offs[n-1], end), torn(n - 1)})
	cases = append(cases, tcase{"zero the tail record's header", zero(offs[n-1], offs[n-1]+RecordHeaderSize), torn(n - 1)})
	cases = append(cases, tcase{"zero the last two records", zero(offs[n-2], end), torn(n - 2)})
	// Zero each 512-byte sector of the large tail record (only the part of
	// the sector that the record occupies: the bytes before it were
	// written by earlier, completed writes).
	sectors := 0
	for s := offs[n-1] / 512 * 512; s < end; s += 512 {
		from, to := max(s, offs[n-1]), min(s+512, end)
		cases = append(cases, tcase{fmt.Sprintf("zero sector at %d", s), zero(from, to), torn(n - 1)})
		sectors++
	}
	if sectors < 10 {
		t.Fatalf("tail record spans only %d sectors", sectors)
	}
	for _, z := range []int{1, 15, 16, 17, 19, 512, 4096} {
		cases = append(cases, tcase{fmt.Sprintf("append %d zeros", z), func(b []byte) []byte { return append(b, make([]byte, z)...) },
			outcome{n, end, -1}})
	}
	cases = append(cases, tcase{"append a record header only", func(b []byte) []byte {
		return append(b, AppendRecord(nil, firstSeq+uint64(n), want[0])[:RecordHeaderSize]...)
	}, outcome{n, end, -1}})
	cases = append(cases, tcase{"append garbage", func(b []byte) []byte { return append(b, "garbage after the last record"...) }, outcome{n, end, -1}})
	// A tail record whose length field is damaged is still whole: its
	// checksum holds over the bytes to the end of the file. Bit rot, not a
	// torn write.
	cases = append(cases, tcase{"tail record's length claims 4 GiB", func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[offs[n-1]+4:], 0xffffffff)
		return b
	}, corruptAt(n - 1)})
	for bit := 0; bit < 32; bit++ {
		cases = append(cases, tcase{fmt.Sprintf("flip bit %d of the tail record's length", bit), func(b []byte) []byte {
			b[offs[n-1]+4+int64(bit/8)] ^= 1 << (bit % 8)
			return b
		}, corruptAt(n - 1)})
	}
	// A flip anywhere in a middle record is corruption at that record,
	// never a torn tail: records follow it.
	for _, rec := range []int{0, 2, 3, n - 2} {
		for p := offs[rec]; p < offs[rec+1]; p++ {
			p := p
			cases = append(cases, tcase{fmt.Sprintf("flip byte %d of record %d", p-offs[rec], rec),
				func(b []byte) []byte { b[p] ^= 0x40; return b }, corruptAt(rec)})
		}
	}
	cases = append(cases, tcase{"zero a middle record", zero(offs[2], offs[3]), corruptAt(2)})
	cases = append(cases, tcase{"middle record's length claims 4 GiB", func(b []byte) []byte {
		binary.LittleEndian.PutUint32(b[offs[1]+4:], 0xffffffff)
		return b
	}, corruptAt(1)})
	cases = append(cases, tcase{"duplicate a middle record", func(b []byte) []byte {
		return append(append(bytes.Clone(b[:offs[3]]), b[offs[2]:offs[3]]...), b[offs[3]:]...)
	}, corruptAt(3)})
	cases = append(cases, tcase{"drop a middle record", func(b []byte) []byte {
		return append(bytes.Clone(b[:offs[2]]), b[offs[3]:]...)
	}, corruptAt(2)})
	// A flip anywhere in the tail record is bit rot too: a crash cuts the
	// record short or leaves sectors of zeros, it does not change a byte
	// of a record written whole.
	for p := offs[n-1]; p < end; p++ {
		p := p
		cases = append(cases, tcase{fmt.Sprintf("flip byte %d of the tail record", p-offs[n-1]),
			func(b []byte) []byte { b[p] ^= 0x40; return b }, corruptAt(n - 1)})
	}
	for p := 0; p < HeaderSize; p++ {
		p := p
		cases = append(cases, tcase{fmt.Sprintf("flip header byte %d", p), func(b []byte) []byte { b[p] ^= 0x01; return b }, outcome{0, -1, 0}})
	}
	cases = append(cases, tcase{"truncate inside the header", func(b []byte) []byte { return b[:HeaderSize-3] }, outcome{0, -1, 0}})
	cases = append(cases, tcase{"empty file", func(b []byte) []byte { return b[:0] }, outcome{0, -1, 0}})

	var nTorn, nCorrupt, nClean int
	for _, c := range cases {
		data := c.damage(bytes.Clone(orig))
		var got []Record
		res, err := Scan(data, func(r Record) error { got = append(got, r); return nil })
		fail := func(format string, args ...any) {
			t.Helper()
			t.Errorf("%s: "+format, append([]any{c.name}, args...)...)
		}
		if len(got) != c.want.records {
			fail("recovered %d records, want %d", len(got), c.want.records)
		}
		for i, r := range got {
			if i < len(want) && (r.Seq != firstSeq+uint64(i) || !reflect.DeepEqual(normOps(r.Ops), normOps(want[i]))) {
				fail("record %d differs: seq %d ops %v", i, r.Seq, r.Ops)
			}
		}
		var ce *CorruptError
		switch {
		case c.want.corrupt >= 0:
			nCorrupt++
			if !errors.As(err, &ce) || ce.Offset != c.want.corrupt {
				fail("err %v (result %+v), want *CorruptError at %d", err, res, c.want.corrupt)
			}
		case err != nil:
			fail("unexpected error %v", err)
		case c.want.torn >= 0:
			nTorn++
			if res.Torn == nil || res.Torn.Offset != c.want.torn || res.End != c.want.torn {
				fail("result %+v (torn %+v), want a torn tail at %d", res, res.Torn, c.want.torn)
			}
			if res.NextSeq != firstSeq+uint64(c.want.records) || res.Records != c.want.records {
				fail("NextSeq %d Records %d", res.NextSeq, res.Records)
			}
		default:
			nClean++
			if res.Torn != nil || res.End != int64(len(data)) {
				fail("result %+v, want clean to the end", res)
			}
		}
	}
	testsummary.Log(t, "wal corruption table: %d cases (%d torn tails, %d corruptions, %d clean), all classified as expected", len(cases), nTorn, nCorrupt, nClean)
}

// A record whose checksum holds but whose payload does not decode was
// written whole by a foreign writer: corruption even at the tail.
func TestMalformedPayloadIsCorrupt(t *testing.T) {
	data := AppendHeader(nil, 1)
	data = AppendRecord(data, 1, []Op{{Kind: KindSet, Key: []byte("a"), Value: []byte("1")}})
	off := int64(len(data))
	payload := []byte{1, 9, 1, 'k'} // one op of unknown kind 9
	rec := make([]byte, RecordHeaderSize, RecordHeaderSize+len(payload))
	rec = append(rec, payload...)
	binary.LittleEndian.PutUint32(rec[4:], uint32(len(payload)))
	binary.LittleEndian.PutUint64(rec[8:], 2)
	binary.LittleEndian.PutUint32(rec[0:], crc32c.Checksum(rec[4:]))
	data = append(data, rec...)
	var ce *CorruptError
	res, err := Scan(data, nil)
	if !errors.As(err, &ce) || ce.Offset != off || !strings.Contains(ce.Reason, "unknown kind") {
		t.Fatalf("Scan: %+v %v, want corruption at %d", res, err, off)
	}
	if res.Records != 1 {
		t.Errorf("%d records before the damage, want 1", res.Records)
	}
}

// A whole record with the wrong sequence number after the good ones is
// refused as a record; followed by a good record, it is corruption.
func TestSequenceChecked(t *testing.T) {
	data := AppendHeader(nil, 1)
	data = AppendRecord(data, 1, batches()[0])
	off := int64(len(data))
	data = AppendRecord(data, 1, batches()[1]) // repeats seq 1
	data = AppendRecord(data, 3, batches()[2])
	var ce *CorruptError
	if _, err := Scan(data, nil); !errors.As(err, &ce) || ce.Offset != off || !strings.Contains(ce.Reason, "sequence") {
		t.Fatalf("err %v, want a sequence corruption at %d", err, off)
	}
}

func TestSalvage(t *testing.T) {
	orig, offs := buildLog()
	n := len(offs) - 1
	seqs := func(rs []Record) []uint64 {
		var s []uint64
		for _, r := range rs {
			s = append(s, r.Seq)
		}
		return s
	}
	all := func(except ...int) []uint64 {
		var s []uint64
		for i := 0; i < n; i++ {
			skip := false
			for _, e := range except {
				skip = skip || e == i
			}
			if !skip {
				s = append(s, firstSeq+uint64(i))
			}
		}
		return s
	}
	cases := []struct {
		name    string
		damage  func([]byte) []byte
		seqs    []uint64
		damaged [][2]int64
	}{
		{"intact", func(b []byte) []byte { return b }, all(), nil},
		{"flip in record 2", func(b []byte) []byte { b[offs[2]+20] ^= 1; return b }, all(2), [][2]int64{{offs[2], offs[3]}}},
		{"flips in records 1 and 3", func(b []byte) []byte { b[offs[1]+3] ^= 1; b[offs[3]+30] ^= 1; return b }, all(1, 3),
			[][2]int64{{offs[1], offs[2]}, {offs[3], offs[4]}}},
		{"damaged header", func(b []byte) []byte { b[2] ^= 1; return b }, all(), [][2]int64{{0, HeaderSize}}},
		{"torn tail", func(b []byte) []byte { return b[:offs[n]-7] }, all(n - 1), [][2]int64{{offs[n-1], offs[n] - 7}}},
		{"garbage inserted after record 1", func(b []byte) []byte {
			return append(append(bytes.Clone(b[:offs[2]]), "GARBAGE"...), b[offs[2]:]...)
		}, all(), [][2]int64{{offs[2], offs[2] + 7}}},
		{"record 0 zeroed", func(b []byte) []byte { clear(b[offs[0]:offs[1]]); return b }, all(0), [][2]int64{{offs[0], offs[1]}}},
	}
	for _, c := range cases {
		recs, damaged := Salvage(c.damage(bytes.Clone(orig)))
		if !reflect.DeepEqual(seqs(recs), c.seqs) {
			t.Errorf("%s: salvaged seqs %v, want %v", c.name, seqs(recs), c.seqs)
		}
		if !reflect.DeepEqual(damaged, c.damaged) {
			t.Errorf("%s: damaged %v, want %v", c.name, damaged, c.damaged)
		}
		want := batches()
		for _, r := range recs {
			if !reflect.DeepEqual(normOps(r.Ops), normOps(want[r.Seq-firstSeq])) {
				t.Errorf("%s: record %d has wrong ops", c.name, r.Seq)
			}
		}
	}
	if recs, damaged := Salvage(nil); len(recs) != 0 || len(damaged) != 1 {
		t.Errorf("Salvage(nil): %v %v", recs, damaged)
	}
}

// TestScanHostileHeadersBounded: a tail of fake record headers, each with
// a plausible sequence number and a length reaching the end of the file,
// once made the search for intact records quadratic (minutes for a 4 MiB
// log). The search's checksum work is capped, and such bytes are reported
// as corruption, which no crash can leave.
func TestScanHostileHeadersBounded(t *testing.T) {
	data := AppendHeader(nil, 1)
	data = AppendRecord(data, 1, []Op{{Kind: KindSet, Key: []byte("k"), Value: []byte("v")}})
	size := len(data) + 1<<20 // a whole number of fake headers
	for len(data)+RecordHeaderSize <= size {
		var h [RecordHeaderSize]byte
		binary.LittleEndian.PutUint32(h[0:4], 0xdeadbeef) // never the right checksum
		binary.LittleEndian.PutUint32(h[4:8], uint32(size-len(data)-RecordHeaderSize))
		binary.LittleEndian.PutUint64(h[8:16], 2)
		data = append(data, h[:]...)
	}
	res, err := Scan(data, nil)
	var ce *CorruptError
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "record-like headers") {
		t.Fatalf("Scan = %+v, %v; want corruption naming the record-like headers", res, err)
	}
	if res.Records != 1 {
		t.Fatalf("%d records before the damage, want 1", res.Records)
	}
}
