package manifest

import (
	"bytes"
	"errors"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/kvtool/kv/internal/fuzzseed"
)

// resealManifest replaces the last line of data with a right checksum
// line, so that the fuzzer's changes reach the parser.
func resealManifest(data []byte) []byte {
	body := data
	if i := bytes.LastIndexByte(bytes.TrimSuffix(data, []byte("\n")), '\n'); i >= 0 {
		body = data[:i+1]
	} else if len(body) > 0 && body[len(body)-1] != '\n' {
		body = append(bytes.Clone(body), '\n')
	}
	return seal(string(body))
}

// FuzzManifestDecode checks that no manifest makes Decode panic, and that
// whatever Decode accepts is safe to act on (plain file names, distinct
// numbers below next-file) and survives an Encode/Decode round trip.
func FuzzManifestDecode(f *testing.F) {
	for _, s := range manifestSeeds() {
		f.Add(s.data, s.reseal)
	}
	f.Fuzz(func(t *testing.T, data []byte, reseal bool) {
		if reseal {
			data = resealManifest(data)
		}
		m, err := Decode(data)
		if err != nil {
			if m != nil || errors.Is(err, ErrCorrupt) == errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("Decode error %v with manifest %+v", err, m)
			}
			return
		}
		if len(m.Tables) > MaxTables {
			t.Fatalf("%d tables", len(m.Tables))
		}
		seen := map[uint64]bool{m.WAL: true}
		for _, tb := range m.Tables {
			if seen[tb.Num] || tb.Num >= m.NextFile || tb.Num == 0 || tb.Size < 0 {
				t.Fatalf("table %+v in %+v", tb, m)
			}
			seen[tb.Num] = true
		}
		for _, name := range append([]string{WALName(m.WAL)}, tableNames(m)...) {
			if filepath.Base(name) != name || !filepath.IsLocal(name) {
				t.Fatalf("unsafe file name %q", name)
			}
		}
		again, err := Decode(m.Encode())
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("round trip of %+v: %+v, %v", m, again, err)
		}
	})
}

func tableNames(m *Manifest) []string {
	var out []string
	for _, t := range m.Tables {
		out = append(out, TableName(t.Num))
	}
	return out
}

type manifestSeed struct {
	name   string
	data   []byte
	reseal bool
}

func manifestSeeds() []manifestSeed {
	head := "kv-manifest 1\nwal 000001.wal\nnext-file 10\n"
	return []manifestSeed{
		{"sample", sample().Encode(), false},
		{"empty-store", (&Manifest{WAL: 1, NextFile: 2}).Encode(), false},
		{"dot-dot", seal(head + "table ../000002.sst 5\n"), false},
		{"dot-dot-unsealed", []byte(head + "table ../../000002.sst 5\ncrc32c 00000000\n"), true},
		{"absolute", seal(head + "table /etc/000002.sst 5\n"), false},
		{"duplicate", seal(head + "table 000002.sst 5\ntable 000002.sst 6\n"), false},
		{"huge-size", seal(head + "table 000002.sst 99999999999999999999\n"), false},
		{"huge-number", seal("kv-manifest 1\nwal 99999999999999999999.wal\nnext-file 18446744073709551615\n"), false},
		{"bad-checksum", append([]byte(head), "crc32c deadbeef\n"...), false},
		{"no-newline", []byte(head), true},
		{"garbage", []byte("\x00\xff\n\n\ncrc32c \n"), false},
	}
}

func TestFuzzCorpus(t *testing.T) {
	files := map[string][]byte{}
	for _, s := range manifestSeeds() {
		files[s.name] = fuzzseed.File(s.data, s.reseal)
	}
	fuzzseed.Check(t, "FuzzManifestDecode", files)
}
