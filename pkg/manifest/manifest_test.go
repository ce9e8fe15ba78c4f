package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/internal/testsummary"
	"github.com/kvtool/kv/pkg/vfs"
)

// seal appends the checksum line to a manifest body.
func seal(body string) []byte {
	return []byte(body + fmt.Sprintf("crc32c %08x\n", crc32c.Checksum([]byte(body))))
}

func sample() *Manifest {
	return &Manifest{WAL: 9, NextFile: 12, Tables: []Table{{Num: 11, Size: 4096}, {Num: 7, Size: 0}, {Num: 3, Size: 1 << 40}}}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range []*Manifest{
		sample(),
		{WAL: 1, NextFile: 2},
		{WAL: 123456789, NextFile: MaxFileNum + 1, Tables: []Table{{Num: MaxFileNum, Size: 1}}},
	} {
		enc := m.Encode()
		if !bytes.Equal(enc, m.Encode()) {
			t.Fatal("Encode is not deterministic")
		}
		got, err := Decode(enc)
		if err != nil {
			t.Fatalf("Decode(%q): %v", enc, err)
		}
		if len(m.Tables) == 0 {
			m.Tables = nil
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("round trip: %+v, want %+v", got, m)
		}
	}
	want := "kv-manifest 1\nwal 000009.wal\nnext-file 12\ntable 000011.sst 4096\ntable 000007.sst 0\ntable 000003.sst 1099511627776\n"
	if enc := string(sample().Encode()); !strings.HasPrefix(enc, want) || !strings.HasPrefix(enc[len(want):], "crc32c ") {
		t.Errorf("encoding:\n%s", enc)
	}
}

func TestParseName(t *testing.T) {
	good := map[string]uint64{"000001.sst": 1, "000001.wal": 1, "123456789.sst": 123456789, "4611686018427387904.wal": MaxFileNum}
	for name, num := range good {
		if n, _, ok := ParseName(name); !ok || n != num {
			t.Errorf("ParseName(%q) = %d, %v", name, n, ok)
		}
	}
	for _, name := range []string{"", "000000.sst", "00001.sst", "000001.txt", "000001", "../000001.sst", "/000001.sst",
		"000001.sst/..", "a00001.sst", "000001.sst.tmp", "18446744073709551616.sst", "18446744073709551615.sst", "4611686018427387905.sst", "000001.SST", "0000-1.sst", "+00001.sst",
		"000001.sst\x00", "000001 .sst", "MANIFEST", "LOCK", "dir/000001.sst", `..\000001.sst`, "000001.wal.sst"} {
		if _, _, ok := ParseName(name); ok {
			t.Errorf("ParseName(%q) accepted", name)
		}
	}
}

func TestDecodeRejects(t *testing.T) {
	head := "kv-manifest 1\nwal 000001.wal\nnext-file 10\n"
	tooMany := head
	for i := 0; i <= MaxTables; i++ {
		tooMany += fmt.Sprintf("table %06d.sst 1\n", i+100)
	}
	tooMany = strings.Replace(tooMany, "next-file 10", "next-file 100000", 1)
	good := seal(head + "table 000002.sst 5\n")
	flipped := bytes.Clone(good)
	flipped[20] ^= 1
	cases := map[string][]byte{
		"dot-dot table":         seal(head + "table ../000002.sst 5\n"),
		"dot-dot wal":           seal("kv-manifest 1\nwal ../../000001.wal\nnext-file 10\n"),
		"dot-dot in the name":   seal(head + "table 000002.sst/../../../etc/passwd 5\n"),
		"absolute table":        seal(head + "table /tmp/000002.sst 5\n"),
		"absolute wal":          seal("kv-manifest 1\nwal /var/000001.wal\nnext-file 10\n"),
		"subdirectory":          seal(head + "table sub/000002.sst 5\n"),
		"wal named as table":    seal(head + "table 000002.wal 5\n"),
		"table named as wal":    seal("kv-manifest 1\nwal 000001.sst\nnext-file 10\n"),
		"bad checksum":          flipped,
		"checksum of another":   append(bytes.Clone(good[:len(good)-9]), "00000000\n"...),
		"no checksum line":      []byte(head),
		"malformed checksum":    []byte(head + "crc32c xyz\n"),
		"short checksum":        []byte(head + "crc32c 1234567\n"),
		"no final newline":      good[:len(good)-1],
		"empty":                 nil,
		"oversize":              seal(head + strings.Repeat("x", MaxSize)),
		"duplicate table":       seal(head + "table 000002.sst 5\ntable 000002.sst 5\n"),
		"table reuses the wal":  seal(head + "table 000001.sst 5\n"),
		"two wal lines":         seal(head + "wal 000003.wal\n"),
		"two next-file lines":   seal(head + "next-file 11\n"),
		"next-file past limit":  seal("kv-manifest 1\nwal 000001.wal\nnext-file 4611686018427387906\n"),
		"number not below next": seal(head + "table 000010.sst 5\n"),
		"wal not below next":    seal("kv-manifest 1\nwal 000010.wal\nnext-file 10\n"),
		"missing wal":           seal("kv-manifest 1\nnext-file 10\n"),
		"missing next-file":     seal("kv-manifest 1\nwal 000001.wal\n"),
		"negative size":         seal(head + "table 000002.sst -5\n"),
		"size not a number":     seal(head + "table 000002.sst 5k\n"),
		"bad next-file":         seal("kv-manifest 1\nwal 000001.wal\nnext-file -1\n"),
		"not a manifest":        seal("something 1\nwal 000001.wal\nnext-file 10\n"),
		"malformed version":     seal("kv-manifest 01\nwal 000001.wal\nnext-file 10\n"),
		"empty version":         seal("kv-manifest \nwal 000001.wal\nnext-file 10\n"),
		"unknown line":          seal(head + "compact now\n"),
		"extra field":           seal(head + "table 000002.sst 5 x\n"),
		"blank line":            seal(head + "\n"),
		"too many tables":       seal(tooMany),
	}
	if _, err := Decode(good); err != nil {
		t.Fatalf("good manifest: %v", err)
	}
	for name, data := range cases {
		m, err := Decode(data)
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Decode = %+v, %v; want a *CorruptError", name, m, err)
			continue
		}
		if ce.Offset < 0 || ce.Offset > int64(len(data)) {
			t.Errorf("%s: offset %d outside %d bytes", name, ce.Offset, len(data))
		}
	}
	// An intact manifest of another store format version was written by
	// a newer kv: reported as such, not as damage.
	if _, err := Decode(seal("kv-manifest 2\nwal 000001.wal\nnext-file 10\n")); !errors.Is(err, ErrUnsupportedVersion) || errors.Is(err, ErrCorrupt) {
		t.Errorf("other version: %v, want ErrUnsupportedVersion only", err)
	}
	// The offset names the bad line.
	data := seal(head + "table ../000002.sst 5\n")
	var ce *CorruptError
	if _, err := Decode(data); !errors.As(err, &ce) || ce.Offset != int64(len(head)) || !strings.Contains(ce.Reason, "line 4") {
		t.Errorf("bad line reported as %v", err)
	}
}

func TestReadWrite(t *testing.T) {
	mem := vfs.NewMemFS()
	const dir = "/store"
	if err := mem.MkdirAll(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(mem, dir); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of a missing manifest: %v", err)
	}
	m := sample()
	if err := Write(mem, dir, m); err != nil {
		t.Fatal(err)
	}
	got, err := Read(mem, dir)
	if err != nil || !reflect.DeepEqual(got, m) {
		t.Fatalf("Read: %+v, %v", got, err)
	}
	if names := mem.Names(); !reflect.DeepEqual(names, []string{"/store/MANIFEST"}) {
		t.Errorf("files after Write: %v", names)
	}
	// A manifest above the size limit is refused before it is read.
	mem.WriteAll("/store/MANIFEST", make([]byte, MaxSize+1))
	if _, err := Read(mem, dir); !errors.Is(err, ErrCorrupt) {
		t.Errorf("oversize manifest: %v", err)
	}
}

// TestWriteAtomic crashes a manifest replacement at every operation it
// makes (an injected failure from that operation on, then a power loss
// keeping none, half or all of the unsynced bytes, with or without the
// unsynced directory entries): the manifest found afterwards is always the
// old or the new one, and the new one whenever Write returned nil.
func TestWriteAtomic(t *testing.T) {
	old := &Manifest{WAL: 1, NextFile: 5, Tables: []Table{{Num: 3, Size: 100}}}
	next := &Manifest{WAL: 6, NextFile: 8, Tables: []Table{{Num: 7, Size: 200}, {Num: 3, Size: 100}}}
	const dir = "/store"
	points, crashes := 0, 0
	for i := 1; ; i++ {
		mem := vfs.NewMemFS()
		mem.MkdirAll(dir)
		if err := Write(mem, dir, old); err != nil {
			t.Fatal(err)
		}
		for _, persistent := range []bool{false, true} {
			mem := mem.Crash(vfs.CrashOptions{UnsyncedFraction: 1, KeepUnsyncedEntries: true})
			efs := vfs.NewErrorFS(mem, i, persistent, nil)
			err := Write(efs, dir, next)
			if !efs.Injected() {
				if err != nil {
					t.Fatalf("Write without injection: %v", err)
				}
				testsummary.Log(t, "manifest replacement: %d injection points × 2 (single, persistent) × 6 crash kinds = %d crashes, always the old or the new manifest", points, crashes)
				return
			}
			if err == nil && persistent {
				t.Fatalf("op %d: Write returned nil though every operation from it on failed", i)
			}
			// The running process sees one of the two, whole.
			check := func(what string, fsys vfs.FS, mustBeNew bool) {
				t.Helper()
				got, rerr := Read(fsys, dir)
				if rerr != nil {
					t.Fatalf("op %d persistent=%v %s: Read: %v", i, persistent, what, rerr)
				}
				isNew := reflect.DeepEqual(got, next)
				if !isNew && !reflect.DeepEqual(got, old) {
					t.Fatalf("op %d %s: manifest is neither old nor new: %+v", i, what, got)
				}
				if mustBeNew && !isNew {
					t.Fatalf("op %d %s: Write returned nil but the old manifest is back", i, what)
				}
			}
			check("no crash", mem, err == nil)
			if err != nil && !persistent {
				for _, n := range mem.Names() {
					if IsTemp(n[len(dir)+1:]) {
						t.Errorf("op %d: a failed Write left %s behind", i, n)
					}
				}
			}
			for _, frac := range []float64{0, 0.5, 1} {
				for _, keep := range []bool{false, true} {
					crashes++
					check(fmt.Sprintf("crash(%v, keep entries %v)", frac, keep), mem.Crash(vfs.CrashOptions{UnsyncedFraction: frac, KeepUnsyncedEntries: keep}), err == nil)
				}
			}
		}
		points++
	}
}
