package wal

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/kvtool/kv/internal/fuzzseed"
	"github.com/kvtool/kv/pkg/entry"
)

type scanSeed struct {
	name string
	data []byte
	mode uint8
}

// record builds one record with a raw payload, its length field and CRC
// set as given (length -1: the payload's true length).
func rawRecord(seq uint64, payload []byte, length int64) []byte {
	rec := make([]byte, RecordHeaderSize, RecordHeaderSize+len(payload))
	if length < 0 {
		length = int64(len(payload))
	}
	binary.LittleEndian.PutUint32(rec[4:], uint32(length))
	binary.LittleEndian.PutUint64(rec[8:], seq)
	return append(rec, payload...)
}

// scanSeeds are the committed seeds of FuzzScan: real logs and hostile
// shapes. Seeds with mode 1 or 2 get their checksums fixed by the harness.
func scanSeeds() []scanSeed {
	log, offs := buildLog()
	hdr := AppendHeader(nil, 1)
	set := func(k, v string) []byte {
		return entry.AppendOp(nil, Op{Kind: KindSet, Key: []byte(k), Value: []byte(v)})
	}
	one := append([]byte{1}, set("k", "v")...)
	longKey := append([]byte{1, byte(KindSet)}, binary.AppendUvarint(nil, MaxKeySize+1)...)
	longKey = append(append(longKey, bytes.Repeat([]byte("k"), MaxKeySize+1)...), 1, 'v')
	badVersion := bytes.Clone(hdr)
	binary.LittleEndian.PutUint32(badVersion[4:], 99)
	return []scanSeed{
		{"log", log, fuzzRaw},
		{"log-resealed", bytes.Clone(log), fuzzResealSeq},
		{"torn-tail", log[:offs[len(offs)-1]-100], fuzzRaw},
		{"zeroed-tail", append(bytes.Clone(log[:offs[3]]), make([]byte, 600)...), fuzzRaw},
		{"flipped-middle", func() []byte { b := bytes.Clone(log); b[offs[2]+17] ^= 4; return b }(), fuzzRaw},
		{"header-only", hdr, fuzzRaw},
		{"empty", nil, fuzzRaw},
		{"short-header", hdr[:11], fuzzRaw},
		{"bad-version", badVersion, fuzzResealCRC},
		{"length-4GiB", append(bytes.Clone(hdr), rawRecord(1, one, 0xffffffff)...), fuzzResealCRC},
		{"length-above-limit", append(bytes.Clone(hdr), rawRecord(1, one, MaxRecordSize+1)...), fuzzRaw},
		{"length-zero", append(bytes.Clone(hdr), rawRecord(1, nil, 0)...), fuzzResealCRC},
		{"count-4-billion", append(bytes.Clone(hdr), rawRecord(1, append(binary.AppendUvarint(nil, 4<<30), set("k", "v")...), -1)...), fuzzResealCRC},
		{"value-10GiB", append(bytes.Clone(hdr), rawRecord(1, append([]byte{1, byte(KindSet), 1, 'k'}, binary.AppendUvarint(nil, 10<<30)...), -1)...), fuzzResealCRC},
		{"key-above-limit", append(bytes.Clone(hdr), rawRecord(1, longKey, -1)...), fuzzResealCRC},
		{"unknown-kind", append(bytes.Clone(hdr), rawRecord(1, []byte{1, 7, 1, 'k'}, -1)...), fuzzResealCRC},
		{"wrong-seq", append(bytes.Clone(hdr), rawRecord(5, one, -1)...), fuzzResealCRC},
		{"record-in-garbage", append(append(bytes.Clone(hdr), "garbage"...), AppendRecord(nil, 1, []Op{{Kind: KindSet, Key: []byte("k"), Value: []byte("v")}})...), fuzzRaw},
	}
}

func payloadSeeds() [][]byte {
	var out [][]byte
	for i, ops := range batches() {
		if i < 5 {
			out = append(out, AppendRecord(nil, 1, ops)[RecordHeaderSize:])
		}
	}
	return append(out,
		binary.AppendUvarint(nil, 1<<32),
		append([]byte{1, byte(KindSet), 1, 'k'}, binary.AppendUvarint(nil, 10<<30)...),
		append([]byte{1, byte(KindDelete)}, binary.AppendUvarint(nil, 4<<30)...),
		[]byte{1, byte(KindSetExpiring), 1, 'k', 1, 'v', 1, 2},
		[]byte{1, 0x80, 0x00, 1, 'k'},
	)
}

func TestFuzzCorpus(t *testing.T) {
	scan := map[string][]byte{}
	for _, s := range scanSeeds() {
		scan[s.name] = fuzzseed.File(s.data, s.mode)
	}
	fuzzseed.Check(t, "FuzzScan", scan)
	payload := map[string][]byte{}
	for i, p := range payloadSeeds() {
		payload[fmt.Sprint(i)] = fuzzseed.File(p)
	}
	fuzzseed.Check(t, "FuzzDecodePayload", payload)
}
