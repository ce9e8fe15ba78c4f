package kv_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// TestTornTailSectors damages the end of the log the ways a crash does
// besides cutting it short (TestTornLogTail): each 512-byte sector of a
// tail record that spans several is zeroed in turn, the whole tail record
// or its header is zeroed, and runs of zeros (as a filesystem leaves when
// the size reached the disk but the data did not) are appended after the
// last record and after a record cut short. Every case must open with
// exactly the intact records, verify clean, take a write, and after a
// reopen hold that write with no torn tail or checksum error left.
func TestTornTailSectors(t *testing.T) {
	ops := append(logOps(), setOp("big", strings.Repeat("0123456789abcdefghijklmnopqrstuvwxyz", 100)))
	orig, name, offs := logStore(t, ops)
	all := universe(append(ops, setOp("after", ""))...)
	full, _ := orig.ReadAll(name)
	n := len(ops)
	tail, end := offs[n-1], offs[n]
	type tcase struct {
		name     string
		data     []byte
		complete int // intact records
	}
	zero := func(from, to int64) []byte {
		b := bytes.Clone(full)
		clear(b[from:to])
		return b
	}
	var cases []tcase
	sectors := 0
	for s := tail / wal.SectorSize * wal.SectorSize; s < end; s += wal.SectorSize {
		// Only the part of the sector the tail record occupies: the bytes
		// before it belong to earlier, completed writes.
		from, to := max(s, tail), min(s+wal.SectorSize, end)
		cases = append(cases, tcase{fmt.Sprintf("zero sector at %d", s), zero(from, to), n - 1})
		sectors++
	}
	if sectors < 5 {
		t.Fatalf("the tail record spans only %d sectors", sectors)
	}
	cases = append(cases,
		tcase{"zero the tail record", zero(tail, end), n - 1},
		tcase{"zero the tail record's header", zero(tail, tail+wal.RecordHeaderSize), n - 1},
		tcase{"zero the last two records", zero(offs[n-2], end), n - 2})
	for _, z := range []int{1, 7, 15, 16, 17, 100, 511, 512, 4096} {
		cases = append(cases,
			tcase{fmt.Sprintf("append %d zeros", z), append(bytes.Clone(full), make([]byte, z)...), n},
			tcase{fmt.Sprintf("cut the tail record short, append %d zeros", z), append(bytes.Clone(full[:end-700]), make([]byte, z)...), n - 1})
	}
	for _, c := range cases {
		want := modelOf(ops[:c.complete])
		mem := orig.Crash(vfs.CrashOptions{UnsyncedFraction: 1})
		mem.WriteAll(name, c.data)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%s: %s", c.name, fmt.Sprintf(format, args...))
		}
		if err := openAndCheck(mem, &kv.Options{FS: mem, ReadOnly: true, LockTimeout: -1}, want, all); err != nil {
			fail("read-only: %v", err)
		}
		rep := verifyClean(t, mem, c.name+", before the writer's open")
		if !strings.Contains(strings.Join(rep.Notes, "\n"), "torn tail") {
			fail("Verify notes %q, want a torn tail", rep.Notes)
		}
		if err := recoverAndWrite(mem, want, all); err != nil {
			fail("%v", err)
		}
		rep = verifyClean(t, mem, c.name+", after recovery")
		if len(rep.Notes) != 0 {
			fail("Verify notes after recovery: %q", rep.Notes)
		}
		// The new record follows the last intact one directly.
		data, _ := mem.ReadAll(name)
		if !bytes.Equal(data[:offs[c.complete]], full[:offs[c.complete]]) {
			fail("the intact records changed")
		}
		if res, err := wal.Scan(data, nil); err != nil || res.Torn != nil || res.Records != c.complete+1 {
			fail("log after recovery: %+v, %v; want %d whole records and no tail", res, err, c.complete+1)
		}
	}
	summary(t, "torn tails (zeros): %d cases (each of the %d sectors of a %d-byte tail record zeroed, the record or its header zeroed, 1 to 4096 zeros appended after the last record or after one cut short), each opened with exactly its intact records, then a write and a reopen with no torn tail or checksum error",
		len(cases), sectors, end-tail)
}
