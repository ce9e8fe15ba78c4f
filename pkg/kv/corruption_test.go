package kv_test

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"strings"
	"testing"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/inspect"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// logOps is the history written into the log of the corruption tests:
// sets, overwrites, deletes and batches, each one record.
func logOps() []op {
	return []op{
		setOp("alpha", "1"),
		setOp("beta", "2"),
		batchOp(setOp("gamma", "3"), setOp("delta", "4"), delOp("alpha")),
		setOp("beta", "two"),
		delOp("gamma"),
		setOp("epsilon", strings.Repeat("e", 300)),
		batchOp(setOp("zeta", "6"), setOp("alpha", "back")),
		setOp("eta", "7"),
		setOp("theta", strings.Repeat("t", 150)),
	}
}

// logStore writes ops into a fresh store whose log never flushes, and
// returns the filesystem, the log's path and the offsets of its records
// (with the end of the log as the last element).
func logStore(t *testing.T, ops []op) (*vfs.MemFS, string, []int64) {
	t.Helper()
	mem := writtenStore(t, ops, 0)
	man, err := manifest.Read(mem, memDir)
	if err != nil || len(man.Tables) != 0 {
		t.Fatalf("manifest %+v, %v: want a store with no table", man, err)
	}
	name := path.Join(memDir, manifest.WALName(man.WAL))
	data, _ := mem.ReadAll(name)
	var offs []int64
	res, err := wal.Scan(data, func(r wal.Record) error { offs = append(offs, r.Offset); return nil })
	if err != nil || len(offs) != len(ops) {
		t.Fatalf("log holds %d records (%v), want %d", len(offs), err, len(ops))
	}
	return mem, name, append(offs, res.End)
}

func modelOf(ops []op) state {
	s := state{}
	for _, o := range ops {
		s.applyInPlace(o)
	}
	return s
}

// TestTornLogTail cuts the log at every byte offset of its last two
// records: the store must open (read-only and read-write) with exactly the
// complete records, and go on working: a later write and a reopen show
// every complete record plus the new one, and Verify is clean.
func TestTornLogTail(t *testing.T) {
	ops := logOps()
	orig, name, offs := logStore(t, ops)
	all := universe(append(ops, setOp("after", ""))...)
	full, _ := orig.ReadAll(name)
	n := len(ops)
	cases := 0
	for cut := offs[n-2]; cut < offs[n]; cut++ {
		complete := n - 2
		for complete < n && offs[complete+1] <= cut {
			complete++
		}
		want := modelOf(ops[:complete])
		mem := orig.Crash(vfs.CrashOptions{UnsyncedFraction: 1})
		mem.WriteAll(name, full[:cut])
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("log cut at %d (%d complete records): %s", cut, complete, fmt.Sprintf(format, args...))
		}
		// A reader ignores the torn tail and changes nothing.
		if err := openAndCheck(mem, &kv.Options{FS: mem, ReadOnly: true, LockTimeout: -1}, want, all); err != nil {
			fail("read-only: %v", err)
		}
		if data, _ := mem.ReadAll(name); len(data) != int(cut) {
			fail("a read-only open changed the log to %d bytes", len(data))
		}
		rep := verifyClean(t, mem, "before the writer's open")
		torn := cut != offs[complete]
		if torn && (len(rep.Notes) == 0 || !strings.Contains(strings.Join(rep.Notes, "\n"), "torn tail")) {
			fail("Verify notes %q, want a torn tail", rep.Notes)
		}
		// A writer cuts the tail off and goes on.
		if err := recoverAndWrite(mem, want, all); err != nil {
			fail("%v", err)
		}
		verifyClean(t, mem, "after recovery")
		cases++
	}
	summary(t, "torn tails (cuts): %d cut points over the last 2 records, each opened with exactly its complete records, then written and reopened cleanly", cases)
}

// TestLogBitRot flips bytes inside records that have intact records after
// them: Open refuses with an error naming the log and the record's offset,
// Verify reports the same, and Repair keeps every other record.
func TestLogBitRot(t *testing.T) {
	ops := logOps()
	orig, name, offs := logStore(t, ops)
	all := universe(ops...)
	full, _ := orig.ReadAll(name)
	cases := 0
	for rec := 0; rec < len(ops)-1; rec++ {
		for _, at := range []int64{offs[rec], offs[rec] + 5, offs[rec] + 12, offs[rec+1] - 1} {
			mem := orig.Crash(vfs.CrashOptions{UnsyncedFraction: 1})
			damaged := bytes.Clone(full)
			damaged[at] ^= 0x20
			mem.WriteAll(name, damaged)
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("flip at %d (record %d at %d): %s", at, rec, offs[rec], fmt.Sprintf(format, args...))
			}
			for _, ro := range []bool{false, true} {
				db, err := kv.Open(memDir, &kv.Options{FS: mem, ReadOnly: ro, LockTimeout: -1})
				var ce *kv.CorruptionError
				if err == nil {
					db.Close()
					fail("Open(read-only %v) succeeded", ro)
				}
				if !errors.Is(err, kv.ErrCorrupt) || !errors.As(err, &ce) || ce.File != name || ce.Offset != offs[rec] {
					fail("Open(read-only %v) error %v, want corruption of %s at %d", ro, err, name, offs[rec])
				}
				if !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), fmt.Sprint(offs[rec])) {
					fail("error message %q does not name the file and offset", err)
				}
			}
			rep, err := inspect.Verify(memDir, &kv.Options{FS: mem, LockTimeout: -1})
			if err != nil || rep.OK() || rep.Problems[0].File != name || rep.Problems[0].Offset != offs[rec] {
				fail("Verify: %+v, %v", rep, err)
			}
			rr, err := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: mem, LockTimeout: -1}})
			if err != nil || !rr.Repaired || rr.Records != len(ops)-1 {
				fail("Repair: %+v, %v", rr, err)
			}
			// The damaged log was copied aside, byte for byte.
			kept, ok := mem.ReadAll(path.Join(rr.MovedTo, path.Base(name)))
			if !ok || !bytes.Equal(kept, damaged) {
				fail("no copy of the damaged log in %s", rr.MovedTo)
			}
			want := modelOf(append(append([]op{}, ops[:rec]...), ops[rec+1:]...))
			if err := openAndCheck(mem, memOptions(mem, 0), want, all); err != nil {
				fail("after repair: %v", err)
			}
			verifyClean(t, mem, "after repair")
			cases++
		}
	}
	summary(t, "log bit rot (middle records): %d flips in records followed by intact ones, each refused with file and offset, reported by Verify, repaired keeping the %d other records", cases, len(ops)-1)
}

// tableStore makes a store whose contents are one table (keys t000..t199)
// and a log (keys w0..w4), and returns it with the table's path.
func tableStore(t *testing.T) (*vfs.MemFS, string, state) {
	t.Helper()
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := state{}
	for i := 0; i < 200; i++ {
		k, v := fmt.Sprintf("t%03d", i), strings.Repeat(fmt.Sprint(i), 20)
		want[k] = v
		if err := db.Set([]byte(k), []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		k := fmt.Sprintf("w%d", i)
		want[k] = "log"
		db.Set([]byte(k), []byte("log"))
	}
	db.Close()
	man, _ := manifest.Read(mem, memDir)
	if len(man.Tables) != 1 {
		t.Fatalf("%d tables", len(man.Tables))
	}
	return mem, path.Join(memDir, manifest.TableName(man.Tables[0].Num)), want
}

func keysOf(s state) []string {
	var out []string
	for k := range s {
		out = append(out, k)
	}
	return out
}

// TestTableDamage damages the table of a store in several ways: opening or
// reading reports corruption naming the table, Verify reports it, and
// Repair keeps everything that is intact.
func TestTableDamage(t *testing.T) {
	orig, table, full := tableStore(t)
	all := keysOf(full)
	data, _ := orig.ReadAll(table)
	r, err := sstable.Open(data)
	if err != nil || r.Blocks() < 3 {
		t.Fatalf("table: %v blocks, %v", r.Blocks(), err)
	}
	logOnly := state{}
	for k, v := range full {
		if k[0] == 'w' {
			logOnly[k] = v
		}
	}
	cases := []struct {
		name   string
		damage func(mem *vfs.MemFS)
		// openFails: Open itself refuses; otherwise reads fail.
		openFails bool
		// want is the content after Repair; nil: compute it with
		// sstable.Salvage of the damaged bytes, plus the log.
		want state
	}{
		{"table deleted", func(mem *vfs.MemFS) { mem.Remove(table) }, true, logOnly},
		{"table emptied", func(mem *vfs.MemFS) { mem.WriteAll(table, nil) }, true, logOnly},
		{"table cut short", func(mem *vfs.MemFS) { mem.WriteAll(table, data[:len(data)/2]) }, true, nil},
		{"footer flipped", func(mem *vfs.MemFS) { mem.WriteAll(table, flip(data, len(data)-20)) }, true, full},
		{"data block flipped", func(mem *vfs.MemFS) { mem.WriteAll(table, flip(data, 100)) }, false, nil},
		{"last data block flipped", func(mem *vfs.MemFS) { mem.WriteAll(table, flip(data, int(r.Size())/2)) }, false, nil},
	}
	for _, c := range cases {
		mem := orig.Crash(vfs.CrashOptions{UnsyncedFraction: 1})
		c.damage(mem)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%s: %s", c.name, fmt.Sprintf(format, args...))
		}
		db, err := kv.Open(memDir, memOptions(mem, 0))
		var ce *kv.CorruptionError
		if c.openFails {
			if err == nil {
				db.Close()
				fail("Open succeeded")
			}
			if !errors.Is(err, kv.ErrCorrupt) || !errors.As(err, &ce) || ce.File != table {
				fail("Open error %v, want corruption of %s", err, table)
			}
		} else {
			if err != nil {
				fail("Open: %v", err)
			}
			_, serr := contents(db)
			if !errors.Is(serr, kv.ErrCorrupt) || !errors.As(serr, &ce) || ce.File != table || ce.Offset < 0 {
				fail("Scan error %v, want corruption of %s with an offset", serr, table)
			}
			// Every Get is right or an error naming the table; some fail.
			bad := 0
			for k, v := range full {
				got, err := db.Get([]byte(k))
				switch {
				case err == nil && string(got) != v:
					fail("Get(%s) = %q, want %q", k, got, v)
				case err != nil && !errors.As(err, &ce):
					fail("Get(%s): %v", k, err)
				case err != nil:
					bad++
				}
			}
			if bad == 0 {
				fail("no Get reported the damage")
			}
			db.Close()
		}
		rep, err := inspect.Verify(memDir, &kv.Options{FS: mem, LockTimeout: -1})
		if err != nil || rep.OK() || rep.Problems[0].File != table {
			fail("Verify: %+v, %v", rep, err)
		}
		want := c.want
		if want == nil {
			dmg, _ := mem.ReadAll(table)
			ops, _ := sstable.Salvage(dmg)
			want = logOnly.clone()
			for _, o := range ops {
				want[string(o.Key)] = string(o.Value)
			}
			if len(want) == len(full) || len(want) <= len(logOnly) {
				fail("the damage should lose some entries but not all (%d of %d kept)", len(want), len(full))
			}
		}
		rr, err := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: mem, LockTimeout: -1}})
		if err != nil || !rr.Repaired || rr.Keys != len(want) {
			fail("Repair: %+v, %v (want %d keys)", rr, err, len(want))
		}
		if err := openAndCheck(mem, memOptions(mem, 0), want, all); err != nil {
			fail("after repair: %v", err)
		}
		verifyClean(t, mem, c.name+", after repair")
	}
	summary(t, "table damage: %d kinds (deleted, emptied, cut short, footer and data blocks flipped), each reported with the table's name by Open or reads and by Verify; Repair kept every intact block and log record", len(cases))
}

func flip(data []byte, at int) []byte {
	out := bytes.Clone(data)
	out[at] ^= 0x08
	return out
}

// seal returns a manifest body with its checksum line.
func seal(body string) []byte {
	return []byte(body + fmt.Sprintf("crc32c %08x\n", crc32c.Checksum([]byte(body))))
}

// TestManifestDamage damages the manifest: Open refuses naming it, Verify
// reports it, and Repair rebuilds the store from the files, losing nothing.
func TestManifestDamage(t *testing.T) {
	orig, table, full := tableStore(t)
	all := keysOf(full)
	mname := path.Join(memDir, manifest.FileName)
	mdata, _ := orig.ReadAll(mname)
	man, _ := manifest.Decode(mdata)
	hostile := fmt.Sprintf("kv-manifest 1\nwal %s\nnext-file %d\ntable ../%s %d\n", manifest.WALName(man.WAL), man.NextFile, path.Base(table), man.Tables[0].Size)
	cases := []struct {
		name   string
		damage func(mem *vfs.MemFS)
	}{
		{"flipped byte", func(mem *vfs.MemFS) { mem.WriteAll(mname, flip(mdata, 20)) }},
		{"truncated", func(mem *vfs.MemFS) { mem.WriteAll(mname, mdata[:len(mdata)-5]) }},
		{"emptied", func(mem *vfs.MemFS) { mem.WriteAll(mname, nil) }},
		{"deleted", func(mem *vfs.MemFS) { mem.Remove(mname) }},
		{"names ../ with a right checksum", func(mem *vfs.MemFS) { mem.WriteAll(mname, seal(hostile)) }},
	}
	for _, c := range cases {
		mem := orig.Crash(vfs.CrashOptions{UnsyncedFraction: 1})
		c.damage(mem)
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("manifest %s: %s", c.name, fmt.Sprintf(format, args...))
		}
		for _, ro := range []bool{false, true} {
			db, err := kv.Open(memDir, &kv.Options{FS: mem, ReadOnly: ro, LockTimeout: -1})
			var ce *kv.CorruptionError
			if err == nil {
				// Even a reader must not take a lost manifest for an
				// empty store.
				db.Close()
				fail("Open(read-only %v) succeeded", ro)
			}
			if !errors.Is(err, kv.ErrCorrupt) || !errors.As(err, &ce) || ce.File != mname {
				fail("Open(read-only %v): %v, want corruption of %s", ro, err, mname)
			}
		}
		rep, err := inspect.Verify(memDir, &kv.Options{FS: mem, LockTimeout: -1})
		if err != nil || rep.OK() || rep.Problems[0].File != mname {
			fail("Verify: %+v, %v", rep, err)
		}
		rr, err := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: mem, LockTimeout: -1}})
		if err != nil || !rr.Repaired {
			fail("Repair: %+v, %v", rr, err)
		}
		if err := openAndCheck(mem, memOptions(mem, 0), full, all); err != nil {
			fail("after repair: %v", err)
		}
		verifyClean(t, mem, "manifest "+c.name+", after repair")
	}
	summary(t, "manifest damage: %d kinds, each refused by writers and readers and reported by Verify; Repair rebuilt all %d keys", len(cases), len(full))
}

// TestMissingLog removes the live log: Open refuses, naming it.
func TestMissingLog(t *testing.T) {
	mem, name, _ := logStore(t, logOps())
	mem.Remove(name)
	_, err := kv.Open(memDir, memOptions(mem, 0))
	var ce *kv.CorruptionError
	if !errors.As(err, &ce) || ce.File != name || !errors.Is(err, kv.ErrCorrupt) {
		t.Fatalf("Open without its log: %v", err)
	}
}

// TestRepairCrash interrupts Repair at every filesystem operation (an
// error there only, or from there on; then a power loss keeping none, half or all of the
// unsynced bytes, or a restart): running Repair again must always finish
// and keep every intact record.
func TestRepairCrash(t *testing.T) {
	ops := logOps()
	orig, name, offs := logStore(t, ops)
	full, _ := orig.ReadAll(name)
	damaged := flip(full, int(offs[3])+2)
	want := modelOf(append(append([]op{}, ops[:3]...), ops[4:]...))
	all := universe(ops...)
	points := 0
	for _, persistent := range []bool{false, true} {
		for i := 1; ; i++ {
			mem := orig.Crash(vfs.CrashOptions{UnsyncedFraction: 1})
			mem.WriteAll(name, damaged)
			efs := vfs.NewErrorFS(mem, i, persistent, vfs.EIO)
			_, rerr := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: efs, LockTimeout: -1}})
			if !efs.Injected() {
				if rerr != nil {
					t.Fatalf("Repair without faults: %v", rerr)
				}
				break
			}
			if rerr == nil {
				// The failure went unreported: the repair must be whole.
				db, err := kv.Open(memDir, memOptions(mem, 0))
				if err != nil {
					t.Fatalf("op %d: Repair succeeded but the store does not open: %v", i, err)
				}
				if err := checkStore(db, want, all); err != nil {
					t.Fatalf("op %d: Repair succeeded despite an I/O error and lost data: %v", i, err)
				}
				db.Close()
			}
			points++
			for _, ck := range crashKinds {
				c := ck.crash(mem)
				rep, err := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: c, LockTimeout: -1}})
				if err != nil {
					t.Fatalf("Repair interrupted at op %d (%v), then %s: second Repair: %v", i, rerr, ck.name, err)
				}
				db, err := kv.Open(memDir, memOptions(c, 0))
				if err != nil {
					t.Fatalf("op %d, %s: open after repair (%+v): %v", i, ck.name, rep, err)
				}
				if err := checkStore(db, want, all); err != nil {
					t.Fatalf("op %d, %s: after repair: %v", i, ck.name, err)
				}
				db.Close()
				verifyClean(t, c, fmt.Sprintf("op %d, %s, after repair", i, ck.name))
			}
		}
	}
	summary(t, "repair interrupted: %d injection points (single and persistent) × %d reopen kinds, a second Repair always kept all %d intact records", points, len(crashKinds), len(ops)-1)
}

// TestRepairReadError: an I/O error while Repair reads the manifest or a
// file is not damage. Repair must fail, changing nothing, rather than
// rebuild the store from every file in the directory (which would revive
// a deleted key from a leftover table) or without the unreadable file.
func TestRepairReadError(t *testing.T) {
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 0))
	if err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("gone"), []byte("old"))
	db.Set([]byte("kept"), []byte("yes"))
	db.Compact()
	man, _ := manifest.Read(mem, memDir)
	oldTable := path.Join(memDir, manifest.TableName(man.Tables[0].Num))
	oldBytes, _ := mem.ReadAll(oldTable)
	db.Delete([]byte("gone"))
	db.Compact() // the bottom table no longer holds "gone" at all
	db.Close()
	mem.WriteAll(oldTable, oldBytes) // a leftover the next writer would remove
	// Damage the log so that Repair has work to do.
	man, _ = manifest.Read(mem, memDir)
	logName := path.Join(memDir, manifest.WALName(man.WAL))
	db, _ = kv.Open(memDir, &kv.Options{FS: mem, LockTimeout: -1})
	db.Set([]byte("l1"), []byte("1"))
	db.Set([]byte("l2"), []byte("2"))
	db.Set([]byte("l3"), []byte("3"))
	db.Close()
	mem.WriteAll(oldTable, oldBytes) // the open removed it: put it back
	logData, _ := mem.ReadAll(logName)
	mem.WriteAll(logName, flip(logData, wal.HeaderSize+3))
	want := state{"kept": "yes", "l2": "2", "l3": "3"}
	for i := 1; ; i++ {
		c := mem.Crash(vfs.CrashOptions{UnsyncedFraction: 1, KeepUnsyncedEntries: true})
		efs := vfs.NewErrorFS(c, i, false, vfs.EIO)
		_, err := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: efs, LockTimeout: -1}})
		if !efs.Injected() {
			break
		}
		if err != nil {
			// Retrying after the error must give the full result.
			if _, err := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: c, LockTimeout: -1}}); err != nil {
				t.Fatalf("op %d: Repair again: %v", i, err)
			}
		}
		db, err := kv.Open(memDir, &kv.Options{FS: c, LockTimeout: -1})
		if err != nil {
			t.Fatalf("op %d: open after repair: %v", i, err)
		}
		if err := checkStore(db, want, []string{"gone", "kept", "l1", "l2", "l3"}); err != nil {
			t.Fatalf("read error at op %d during Repair: %v", i, err)
		}
		db.Close()
	}
}
