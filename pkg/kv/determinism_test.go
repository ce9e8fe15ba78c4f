package kv_test

import (
	"bytes"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
)

var fixedNow = func() time.Time { return time.Unix(1_700_000_000, 0) }

// history writes a varied sequence of operations, with flushes (small
// log threshold), merges, an ingested batch, expiring values, reopens and
// compactions.
func history(t *testing.T, fsys vfs.FS, dir string, snap func(stage string)) {
	t.Helper()
	opts := &kv.Options{FS: fsys, LockTimeout: -1, FlushThreshold: 700, Now: fixedNow}
	db, err := kv.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 60; i++ {
		must(db.Set([]byte(fmt.Sprintf("k%03d", i*7%60)), bytes.Repeat([]byte{byte(i)}, i)))
		if i%9 == 0 {
			must(db.Delete([]byte(fmt.Sprintf("k%03d", i/2))))
		}
		if i%13 == 0 {
			must(db.SetExpiring([]byte(fmt.Sprintf("e%02d", i)), []byte("soon"), fixedNow().Add(time.Duration(i-30)*time.Minute)))
		}
	}
	var b kv.Batch
	for i := 0; i < 40; i++ {
		b.Set([]byte(fmt.Sprintf("b%03d", i)), bytes.Repeat([]byte("B"), 30))
	}
	must(db.Apply(&b)) // above the threshold: a table of its own
	must(db.Close())
	snap("before compaction")
	db, err = kv.Open(dir, opts)
	must(err)
	_, err = db.Compact()
	must(err)
	must(db.Set([]byte("after"), []byte("compaction")))
	must(db.Close())
	snap("end")
}

// TestDeterministicFiles runs the same history twice, in two MemFS and
// two directories of the real filesystem: every file must be byte for
// byte the same.
func TestDeterministicFiles(t *testing.T) {
	snapshots := map[string][]map[string][]byte{}
	run := func(fsys vfs.FS, dir string, read func() map[string][]byte) {
		history(t, fsys, dir, func(stage string) { snapshots[stage] = append(snapshots[stage], read()) })
	}
	for i := 0; i < 2; i++ {
		mem := vfs.NewMemFS()
		run(mem, memDir, func() map[string][]byte {
			out := map[string][]byte{}
			for _, n := range mem.Names() {
				out[path.Base(n)], _ = mem.ReadAll(n)
			}
			return out
		})
		dir := filepath.Join(t.TempDir(), "store")
		run(vfs.Default, dir, func() map[string][]byte { return readDir(t, dir) })
	}
	files := 0
	for stage, snaps := range snapshots {
		if len(snaps) != 4 {
			t.Fatalf("%s: %d snapshots", stage, len(snaps))
		}
		ref := snaps[0]
		if len(ref) < 3 {
			t.Fatalf("%s: only %v", stage, keysSorted(ref))
		}
		for i, snap := range snaps[1:] {
			if !slices.Equal(keysSorted(snap), keysSorted(ref)) {
				t.Fatalf("%s: run %d has files %v, run 0 %v", stage, i+1, keysSorted(snap), keysSorted(ref))
			}
			for n, data := range ref {
				if !bytes.Equal(data, snap[n]) {
					t.Errorf("%s: %s differs between run 0 and run %d", stage, n, i+1)
				}
			}
		}
		files += len(ref)
		t.Logf("determinism %s: files %v byte-identical across 2 MemFS and 2 OS directories", stage, keysSorted(ref))
	}
	summary(t, "determinism: %d files at 2 stages, all byte-identical", files)
}

func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = data
	}
	return out
}

func keysSorted(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestCompactionCanonical builds the same live contents through different
// histories: the digest is the same, before and after Compact. The same
// history, with its flushes and merges at other points, compacts to the
// same table bytes; a different one gives the same entries with other
// revisions, so only its digest is compared.
func TestCompactionCanonical(t *testing.T) {
	final := map[string]string{}
	for i := 0; i < 150; i++ {
		final[fmt.Sprintf("key%03d", i)] = fmt.Sprintf("value-%d-%s", i, bytes.Repeat([]byte("v"), i%40))
	}
	// History 1: each key once, in order, log threshold never reached.
	h1 := func(db *kv.DB) {
		for i := 0; i < 150; i++ {
			k := fmt.Sprintf("key%03d", i)
			db.Set([]byte(k), []byte(final[k]))
		}
	}
	// History 2: reverse order, overwrites, deleted extra keys, an expired
	// value, batches, flushes and a reopen in between (done by the caller).
	h2 := func(db *kv.DB) {
		for i := 149; i >= 0; i-- {
			k := fmt.Sprintf("key%03d", i)
			db.Set([]byte(k), []byte("old"))
			db.Set([]byte("extra"+k), []byte("gone soon"))
		}
		db.SetExpiring([]byte("key000-expired"), []byte("x"), fixedNow().Add(-time.Second))
		var b kv.Batch
		for i := 0; i < 150; i += 2 {
			k := fmt.Sprintf("key%03d", i)
			b.Set([]byte(k), []byte(final[k]))
			b.Delete([]byte("extra" + k))
		}
		db.Apply(&b)
		db.Compact()
		for i := 1; i < 150; i += 2 {
			k := fmt.Sprintf("key%03d", i)
			db.Delete([]byte("extra" + k))
			db.Set([]byte(k), []byte(final[k]))
		}
		db.Set([]byte("key000-expired"), []byte("back"))
		db.Delete([]byte("key000-expired"))
	}
	compact := func(name string, fill func(*kv.DB), threshold int64) ([]byte, string, string) {
		mem := vfs.NewMemFS()
		opts := &kv.Options{FS: mem, LockTimeout: -1, FlushThreshold: threshold, Now: fixedNow}
		db, err := kv.Open(memDir, opts)
		if err != nil {
			t.Fatal(err)
		}
		fill(db)
		db.Close()
		if db, err = kv.Open(memDir, opts); err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		got, err := contents(db)
		if err != nil || len(got) != len(final) {
			t.Fatalf("%s: %d keys, %v", name, len(got), err)
		}
		before, err := db.Digest()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Compact(); err != nil {
			t.Fatal(err)
		}
		after, _ := db.Digest()
		if after != before {
			t.Errorf("%s: compaction changed the digest", name)
		}
		man, err := manifest.Read(mem, memDir)
		if err != nil || len(man.Tables) != 1 {
			t.Fatalf("%s: manifest %+v, %v", name, man, err)
		}
		data, _ := mem.ReadAll(path.Join(memDir, manifest.TableName(man.Tables[0].Num)))
		return data, before, manifest.TableName(man.Tables[0].Num)
	}
	t1, d1, n1 := compact("ordered", h1, 0)
	t2, d2, n2 := compact("shuffled with flushes", h2, 900)
	if d1 != d2 {
		t.Errorf("digests differ: %s and %s", d1, d2)
	}
	t3, _, n3 := compact("shuffled, flushed elsewhere", h2, 300)
	if !bytes.Equal(t2, t3) {
		t.Errorf("compacted tables differ: %s (%d bytes) and %s (%d bytes)", n2, len(t2), n3, len(t3))
	}
	t4, _, n4 := compact("ordered, with flushes", h1, 700)
	if !bytes.Equal(t1, t4) {
		t.Errorf("compacted tables differ: %s (%d bytes) and %s (%d bytes)", n1, len(t1), n4, len(t4))
	}
	summary(t, "canonical compaction: 2 histories with equal contents give digest %.16s…; each, flushed at other points, gives byte-identical tables (%d bytes, %s and %s; %d bytes, %s and %s)", d1, len(t2), n2, n3, len(t1), n1, n4)
}
