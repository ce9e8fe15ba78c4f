package wal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/kvtool/kv/internal/crc32c"
)

// Fuzz modes: what the harness repairs in the fuzzer's bytes before the
// scan, so that mutations reach past the checksums into the decoder.
const (
	fuzzRaw       = 0 // the bytes as they are
	fuzzResealCRC = 1 // recompute the header's and every record's CRC
	fuzzResealSeq = 2 // also renumber the records consecutively
)

// reseal rewrites the checksums (and with fuzzResealSeq the sequence
// numbers) of a log in place, following the length fields as far as they
// stay inside the data.
func reseal(data []byte, mode uint8) []byte {
	if mode%3 == fuzzRaw || len(data) < HeaderSize {
		return data
	}
	binary.LittleEndian.PutUint32(data[16:20], crc32c.Checksum(data[:16]))
	seq := binary.LittleEndian.Uint64(data[8:16])
	for off := HeaderSize; off+RecordHeaderSize <= len(data); {
		length := binary.LittleEndian.Uint32(data[off+4:])
		if uint64(length) > uint64(len(data)-off-RecordHeaderSize) {
			break
		}
		end := off + RecordHeaderSize + int(length)
		if mode%3 == fuzzResealSeq {
			binary.LittleEndian.PutUint64(data[off+8:], seq)
			seq++
		}
		binary.LittleEndian.PutUint32(data[off:], crc32c.Checksum(data[off+4:end]))
		off = end
	}
	return data
}

func checkOps(t *testing.T, ops []Op) {
	t.Helper()
	for _, op := range ops {
		if op.Kind != KindSet && op.Kind != KindDelete && op.Kind != KindSetExpiring {
			t.Fatalf("decoded kind %d", op.Kind)
		}
		if len(op.Key) == 0 || len(op.Key) > MaxKeySize || len(op.Value) > MaxValueSize {
			t.Fatalf("decoded key of %d bytes, value of %d", len(op.Key), len(op.Value))
		}
	}
}

// FuzzScan checks that no log, however damaged or hostile, makes Scan or
// Salvage panic or allocate beyond the input, and that what they report is
// consistent.
func FuzzScan(f *testing.F) {
	for _, s := range scanSeeds() {
		f.Add(s.data, s.mode)
	}
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		data = reseal(data, mode)
		var recs []Record
		res, err := Scan(data, func(r Record) error { recs = append(recs, r); return nil })
		var ce *CorruptError
		if err != nil && !errors.As(err, &ce) && !errors.Is(err, ErrUnsupportedVersion) {
			t.Fatalf("Scan returned %T %v", err, err)
		}
		if ce != nil && (ce.Offset < 0 || ce.Offset > int64(len(data))) {
			t.Fatalf("corruption offset %d outside a file of %d bytes", ce.Offset, len(data))
		}
		// Records are contiguous from the header with consecutive seqs.
		off := int64(HeaderSize)
		for i, r := range recs {
			if r.Offset != off || r.Size < RecordHeaderSize || r.Offset+int64(r.Size) > int64(len(data)) {
				t.Fatalf("record %d at %d size %d, expected at %d", i, r.Offset, r.Size, off)
			}
			if r.Seq != res.FirstSeq+uint64(i) || len(r.Ops) == 0 {
				t.Fatalf("record %d seq %d, first %d, %d ops", i, r.Seq, res.FirstSeq, len(r.Ops))
			}
			checkOps(t, r.Ops)
			off += int64(r.Size)
		}
		if err == nil {
			if res.Records != len(recs) || res.End != off || res.NextSeq != res.FirstSeq+uint64(len(recs)) {
				t.Fatalf("result %+v after %d records ending at %d", res, len(recs), off)
			}
			if res.Torn == nil && res.End != int64(len(data)) {
				t.Fatalf("clean scan ended at %d of %d", res.End, len(data))
			}
			if res.Torn != nil && (res.Torn.Offset != res.End || res.End >= int64(len(data))) {
				t.Fatalf("torn tail %+v with end %d of %d", res.Torn, res.End, len(data))
			}
		}
		// ScanPayloads finds the same records, the same result and the same
		// error, and its payloads decode to the same operations.
		var lazy []Record
		lres, lerr := ScanPayloads(data, func(r Record) error { lazy = append(lazy, r); return nil })
		if !reflect.DeepEqual(lres, res) || fmt.Sprint(lerr) != fmt.Sprint(err) || len(lazy) != len(recs) {
			t.Fatalf("ScanPayloads: %+v, %v, %d records; Scan: %+v, %v, %d records", lres, lerr, len(lazy), res, err, len(recs))
		}
		for i, r := range lazy {
			var ops []Op
			for op := range PayloadOps(r.Payload) {
				ops = append(ops, op)
			}
			if r.Ops != nil || r.Offset != recs[i].Offset || PayloadCount(r.Payload) != len(recs[i].Ops) || fmt.Sprint(ops) != fmt.Sprint(recs[i].Ops) {
				t.Fatalf("record %d: ScanPayloads gives %d ops %v, Scan %v", i, PayloadCount(r.Payload), ops, recs[i].Ops)
			}
		}
		salvaged, damaged := Salvage(data)
		prev := int64(0)
		for _, r := range salvaged {
			if r.Offset < prev || r.Offset+int64(r.Size) > int64(len(data)) || len(r.Ops) == 0 {
				t.Fatalf("salvaged record at %d size %d after %d", r.Offset, r.Size, prev)
			}
			checkOps(t, r.Ops)
			prev = r.Offset + int64(r.Size)
		}
		for _, d := range damaged {
			if d[0] < 0 || d[0] > d[1] || (d[0] == d[1] && len(data) > 0) || d[1] > int64(len(data)) {
				t.Fatalf("damaged range %v in a file of %d bytes", d, len(data))
			}
		}
		if err == nil {
			// Salvage keeps at least what Scan accepted.
			if len(salvaged) < len(recs) {
				t.Fatalf("Salvage kept %d records, Scan %d", len(salvaged), len(recs))
			}
			for i := range recs {
				if salvaged[i].Offset != recs[i].Offset || !reflect.DeepEqual(salvaged[i].Ops, recs[i].Ops) {
					t.Fatalf("salvaged record %d differs from scanned", i)
				}
			}
			if res.Torn == nil && (len(damaged) != 0 || len(salvaged) != len(recs)) {
				t.Fatalf("clean log salvaged with damage %v", damaged)
			}
		}
	})
}

// FuzzDecodePayload checks that a payload decodes into valid operations or
// an ErrBadPayload, and that what decodes re-encodes into no more bytes and
// decodes back the same.
func FuzzDecodePayload(f *testing.F) {
	for _, s := range payloadSeeds() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		ops, err := DecodePayload(payload)
		if err != nil {
			if !errors.Is(err, ErrBadPayload) || ops != nil {
				t.Fatalf("error %v with %d ops", err, len(ops))
			}
			return
		}
		if len(ops) == 0 {
			t.Fatal("no ops and no error")
		}
		checkOps(t, ops)
		enc := AppendRecord(nil, 1, ops)[RecordHeaderSize:]
		if len(enc) > len(payload) {
			t.Fatalf("re-encoded %d bytes from %d", len(enc), len(payload))
		}
		again, err := DecodePayload(enc)
		if err != nil || !reflect.DeepEqual(normOps(again), normOps(ops)) {
			t.Fatalf("re-encoded payload decodes to %v, %v", again, err)
		}
		if !bytes.Equal(enc, payload) && len(enc) == len(payload) {
			t.Fatalf("two encodings of the same length for %v", ops)
		}
	})
}
