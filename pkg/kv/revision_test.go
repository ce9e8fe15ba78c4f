package kv_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"testing"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/entry"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// revOf reads key's entry and fails the test if it is not there.
func revOf(t *testing.T, db *kv.DB, key string) uint64 {
	t.Helper()
	e, err := db.GetEntry([]byte(key))
	if err != nil {
		t.Fatalf("GetEntry(%s): %v", key, err)
	}
	return e.Rev
}

func storeRev(t *testing.T, db *kv.DB) uint64 {
	t.Helper()
	r, err := db.Revision()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestRevisions: every batch takes the next revision, a key's entry shows
// the revision of the batch that last wrote it, and both survive a
// reopen, flushes into tables, merges, a compaction, a large batch
// written as a table of its own, Backup and Repair; the store's revision
// never goes back, so no revision is given twice.
func TestRevisions(t *testing.T) {
	mem := vfs.NewMemFS()
	opts := memOptions(mem, 2<<10)
	db, err := kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if r := storeRev(t, db); r != 0 {
		t.Fatalf("a new store's revision is %d, want 0", r)
	}
	want := map[string]uint64{}
	for i := range 300 {
		k := fmt.Sprintf("k%03d", i%70)
		if err := db.Set([]byte(k), bytes.Repeat([]byte("v"), 40)); err != nil {
			t.Fatal(err)
		}
		want[k] = uint64(i + 1)
		if r := storeRev(t, db); r != uint64(i+1) {
			t.Fatalf("after %d batches the revision is %d", i+1, r)
		}
	}
	var b kv.Batch
	b.Set([]byte("k000"), []byte("batched"))
	b.Delete([]byte("k001"))
	b.Set([]byte("big"), bytes.Repeat([]byte("B"), 8<<10)) // larger than the log: a table of its own
	if err := db.Apply(&b); err != nil {
		t.Fatal(err)
	}
	want["k000"], want["big"] = 301, 301
	delete(want, "k001")
	check := func(db *kv.DB, when string, rev uint64) {
		t.Helper()
		if r := storeRev(t, db); r != rev {
			t.Fatalf("%s: store revision %d, want %d", when, r, rev)
		}
		for k, w := range want {
			if got := revOf(t, db, k); got != w {
				t.Fatalf("%s: %s has revision %d, want %d", when, k, got, w)
			}
		}
		if _, err := db.GetEntry([]byte("k001")); !errors.Is(err, kv.ErrNotFound) {
			t.Fatalf("%s: deleted k001: %v", when, err)
		}
		n := 0
		err := db.Scan(nil, func(e kv.Entry) error {
			n++
			if e.Rev != want[string(e.Key)] {
				return fmt.Errorf("scan: %s has revision %d, want %d", e.Key, e.Rev, want[string(e.Key)])
			}
			return nil
		})
		if err != nil || n != len(want) {
			t.Fatalf("%s: %d entries, %v", when, n, err)
		}
	}
	check(db, "after the writes", 301)
	if st, err := db.Stats(); err != nil || st.Revision != 301 || len(st.Tables) == 0 {
		t.Fatalf("stats: revision %d, %d tables, %v", st.Revision, len(st.Tables), err)
	}
	db.Close()
	if db, err = kv.Open(memDir, opts); err != nil {
		t.Fatal(err)
	}
	check(db, "reopened", 301)
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	check(db, "compacted", 301)
	if err := db.Set([]byte("after"), []byte("x")); err != nil {
		t.Fatal(err)
	}
	want["after"] = 302
	check(db, "written after the compaction", 302)

	backup := memDir + "-copy"
	if err := db.Backup(backup); err != nil {
		t.Fatal(err)
	}
	db.Close()
	copied, err := kv.Open(backup, opts)
	if err != nil {
		t.Fatal(err)
	}
	check(copied, "the backup", 302)
	copied.Set([]byte("in-copy"), nil)
	if got := revOf(t, copied, "in-copy"); got != 303 {
		t.Fatalf("the backup's next write took revision %d, want 303", got)
	}
	copied.Close()

	// Repair with no manifest: everything kept, numbering continued.
	if err := mem.Remove(path.Join(memDir, manifest.FileName)); err != nil {
		t.Fatal(err)
	}
	rep, err := kv.Repair(memDir, &kv.RepairOptions{Options: *opts})
	if err != nil || !rep.Repaired || rep.Revision != 302 {
		t.Fatalf("repair: %+v, %v", rep, err)
	}
	if db, err = kv.Open(memDir, opts); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	check(db, "repaired", 302)
	db.Set([]byte("after-repair"), nil)
	if got := revOf(t, db, "after-repair"); got != 303 {
		t.Fatalf("the repaired store's next write took revision %d, want 303", got)
	}
}

// TestTxnRevision: inside Update a key reads with its committed revision,
// and a key the transaction wrote with the revision its commit takes.
func TestTxnRevision(t *testing.T) {
	db, err := kv.Open(memDir, memOptions(vfs.NewMemFS(), 0))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Set([]byte("a"), []byte("1"))
	db.Set([]byte("b"), []byte("2"))
	err = db.Update(func(tx *kv.Txn) error {
		if e, err := tx.GetEntry([]byte("a")); err != nil || e.Rev != 1 {
			return fmt.Errorf("a: %+v %v", e, err)
		}
		tx.Set([]byte("a"), []byte("3"))
		if e, err := tx.GetEntry([]byte("a")); err != nil || e.Rev != 3 || string(e.Value) != "3" {
			return fmt.Errorf("a after the staged write: %+v %v", e, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := revOf(t, db, "a"); got != 3 {
		t.Fatalf("a committed at revision %d, want 3", got)
	}
}

// TestRepairIgnoresSupersededTable is issue 17's case without the
// directory sync that makes the removal durable: the replaced table comes
// back (as a filesystem that lost the removal would leave it) and the
// manifest is lost. The compaction's output, empty but for its cover,
// says that the table was replaced: Repair names it as superseded and the
// deleted key stays deleted.
func TestRepairIgnoresSupersededTable(t *testing.T) {
	mem := vfs.NewMemFS()
	opts := memOptions(mem, 1<<10)
	db, err := kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("k"), bytes.Repeat([]byte("v"), 4<<10)); err != nil {
		t.Fatal(err)
	}
	st, err := db.Stats()
	if err != nil || len(st.Tables) != 1 {
		t.Fatalf("the 4 KiB value should be in a table of its own: %+v %v", st, err)
	}
	stale := path.Join(memDir, st.Tables[0].File)
	staleBytes, _ := mem.ReadAll(stale)
	db.Delete([]byte("k"))
	db.Set([]byte("other"), []byte("o"))
	db.Delete([]byte("other"))
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	mem.WriteAll(stale, staleBytes)
	if err := mem.Remove(path.Join(memDir, manifest.FileName)); err != nil {
		t.Fatal(err)
	}
	rep, err := kv.Repair(memDir, &kv.RepairOptions{Options: *opts})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Superseded) != 1 || rep.Superseded[0] != st.Tables[0].File || rep.Keys != 0 {
		t.Fatalf("repair report: superseded %v, %d keys; want %s and 0", rep.Superseded, rep.Keys, st.Tables[0].File)
	}
	if db, err = kv.Open(memDir, opts); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.Get([]byte("k")); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("the deleted k came back with %d bytes (%v)", len(v), err)
	}
	if _, found := mem.ReadAll(stale); found {
		t.Error("the superseded table is still in the directory")
	}
	if r := storeRev(t, db); r != 4 {
		t.Errorf("revision after the repair: %d, want 4", r)
	}
}

// version2Table encodes ops as a table of version 2, the format before
// revisions: a version 3 table of entries without revisions and with no
// cover, its footer cut to the 64 bytes of version 2 and resealed.
func version2Table(t *testing.T, ops []entry.Op) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := sstable.NewWriter(&buf)
	for _, op := range ops {
		if err := w.Add(op); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Finish(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	v2 := append(bytes.Clone(data[:len(data)-sstable.FooterSize]), data[len(data)-64:]...)
	foot := v2[len(v2)-64:]
	binary.LittleEndian.PutUint32(foot[44:48], 2)
	binary.LittleEndian.PutUint32(foot[60:64], crc32c.Checksum(foot[:60]))
	return v2
}

// TestStoreBeforeRevisions: a store whose table was written before
// revisions (version 2) opens as it is; its values report revision 1, the
// log's writes their own, new writes continue the numbering, and a
// compaction and a repair keep all of it.
func TestStoreBeforeRevisions(t *testing.T) {
	mem := vfs.NewMemFS()
	opts := memOptions(mem, 0)
	db, err := kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("logged"), []byte("l")) // revision 1
	db.Set([]byte("logged"), []byte("L")) // revision 2
	db.Close()
	old := version2Table(t, []entry.Op{
		{Kind: entry.KindSet, Key: []byte("a"), Value: []byte("old-a")},
		{Kind: entry.KindDelete, Key: []byte("gone")},
		{Kind: entry.KindSet, Key: []byte("z"), Value: []byte("old-z")},
	})
	man, err := manifest.Read(mem, memDir)
	if err != nil {
		t.Fatal(err)
	}
	num := man.NextFile
	mem.WriteAll(path.Join(memDir, manifest.TableName(num)), old)
	man.Tables = []manifest.Table{{Num: num, Size: int64(len(old))}}
	man.NextFile = num + 1
	if err := manifest.Write(mem, memDir, man); err != nil {
		t.Fatal(err)
	}
	want := map[string]uint64{"a": 1, "z": 1, "logged": 2}
	check := func(when string, rev uint64) {
		t.Helper()
		db, err := kv.Open(memDir, opts)
		if err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		defer db.Close()
		if r := storeRev(t, db); r != rev {
			t.Fatalf("%s: store revision %d, want %d", when, r, rev)
		}
		for k, w := range want {
			if got := revOf(t, db, k); got != w {
				t.Fatalf("%s: %s has revision %d, want %d", when, k, got, w)
			}
		}
	}
	check("opened", 2)
	db, err = kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("new"), nil)
	want["new"] = 3
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	check("compacted", 3)
	if err := mem.Remove(path.Join(memDir, manifest.FileName)); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Repair(memDir, &kv.RepairOptions{Options: *opts}); err != nil {
		t.Fatal(err)
	}
	check("repaired", 3)
}

// TestRepairRevisionAboveDamagedLog: a log damaged in its middle may have
// held later records than any readable one; the repaired store's next
// revision is above every seq a log of that size could have held.
func TestRepairRevisionAboveDamagedLog(t *testing.T) {
	mem := vfs.NewMemFS()
	opts := memOptions(mem, 0)
	db, err := kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		db.Set(fmt.Appendf(nil, "k%02d", i), []byte("v"))
	}
	db.Close()
	man, _ := manifest.Read(mem, memDir)
	name := path.Join(memDir, manifest.WALName(man.WAL))
	data, _ := mem.ReadAll(name)
	data[len(data)/2] ^= 0xff
	mem.WriteAll(name, data)
	rep, err := kv.Repair(memDir, &kv.RepairOptions{Options: *opts})
	if err != nil || !rep.Repaired {
		t.Fatalf("repair: %+v %v", rep, err)
	}
	bound := uint64(1 + (len(data)-wal.HeaderSize)/wal.MinRecordSize)
	if rep.Revision < bound {
		t.Fatalf("repaired revision %d, below %d, the most a log of %d bytes could have given", rep.Revision, bound, len(data))
	}
	db, err = kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Set([]byte("next"), nil)
	if got := revOf(t, db, "next"); got != rep.Revision+1 {
		t.Fatalf("next write took revision %d, want %d", got, rep.Revision+1)
	}
}

// TestChanges: the log's batches replay whole, in order, with their
// revisions, from any revision it holds; before that, a CompactedError
// names the oldest it holds.
func TestChanges(t *testing.T) {
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 0))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Set([]byte("a"), []byte("1"))
	var b kv.Batch
	b.Set([]byte("b"), []byte("2"))
	b.Delete([]byte("a"))
	db.Apply(&b)
	db.Set([]byte("c"), []byte("3"))
	var got []string
	collect := func(c kv.Change) error {
		for _, op := range c.Ops {
			got = append(got, fmt.Sprintf("%d:%s%s=%s", c.Rev, op.Kind, op.Key, op.Value))
		}
		return nil
	}
	if err := db.Changes(2, collect); err != nil {
		t.Fatal(err)
	}
	if want := "[2:setb=2 2:dela= 3:setc=3]"; fmt.Sprint(got) != want {
		t.Fatalf("changes from 2: %v, want %s", got, want)
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("d"), []byte("4"))
	got = nil
	if err := db.Changes(4, collect); err != nil || fmt.Sprint(got) != "[4:setd=4]" {
		t.Fatalf("changes from 4 after the compaction: %v %v", got, err)
	}
	var ce *kv.CompactedError
	if err := db.Changes(3, collect); !errors.As(err, &ce) || ce.Oldest != 4 || !errors.Is(err, kv.ErrCompacted) {
		t.Fatalf("changes from 3 after the compaction: %v", err)
	}
}
