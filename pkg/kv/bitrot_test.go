package kv_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"path"
	"slices"
	"testing"

	"github.com/kvtool/kv/pkg/inspect"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
)

// rotStore builds a store whose live files are a manifest, several tables
// (from flushes and merges, with tombstones) and a log of several records,
// with values of random letters (no long runs of zero bytes, which a crash
// could leave). It returns the filesystem, the expected contents and every
// key ever written.
func rotStore(t *testing.T) (*vfs.MemFS, state, []string) {
	t.Helper()
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 1500))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	val := func() string {
		b := make([]byte, 10+rng.IntN(110))
		for i := range b {
			b[i] = 'a' + byte(rng.IntN(26))
		}
		return string(b)
	}
	want := state{}
	var ops []op
	for i := 0; i < 200; i++ {
		k := fmt.Sprintf("key%03d", i)
		if i >= 150 {
			k = fmt.Sprintf("key%03d", rng.IntN(160))
		}
		var o op
		switch {
		case i%11 == 5:
			o = delOp(k)
		case i%13 == 7:
			o = batchOp(setOp(k, val()), setOp(k+"b", val()), delOp(fmt.Sprintf("key%03d", rng.IntN(160))))
		default:
			o = setOp(k, val())
		}
		if err := write(db, o); err != nil {
			t.Fatal(err)
		}
		want.applyInPlace(o)
		ops = append(ops, o)
		if i == 149 {
			// One large table at the bottom, so that the later flushes
			// stay separate tables above it.
			if _, err := db.Compact(); err != nil {
				t.Fatal(err)
			}
		}
	}
	db.Close()
	man, err := manifest.Read(mem, memDir)
	if err != nil || len(man.Tables) < 2 {
		t.Fatalf("manifest %+v, %v: want at least two tables", man, err)
	}
	return mem, want, universe(ops...)
}

// rotFile is one live file of a store and the positions to damage in it.
type rotFile struct {
	name, kind string
	data       []byte
	positions  []int
}

// rotPositions picks the positions of every live file to flip: every byte
// of the manifest and the log, and of the tables a sample (evenly spaced,
// from a random start) bringing the total to at least total; with total
// 0, every byte of every file.
func rotPositions(t *testing.T, mem *vfs.MemFS, total int) []rotFile {
	t.Helper()
	man, err := manifest.Read(mem, memDir)
	if err != nil {
		t.Fatal(err)
	}
	read := func(name, kind string) rotFile {
		data, ok := mem.ReadAll(path.Join(memDir, name))
		if !ok || len(data) == 0 {
			t.Fatalf("%s: missing or empty", name)
		}
		return rotFile{name: name, kind: kind, data: data}
	}
	files := []rotFile{read(manifest.FileName, "manifest"), read(manifest.WALName(man.WAL), "log")}
	for _, tb := range man.Tables {
		files = append(files, read(manifest.TableName(tb.Num), "table"))
	}
	small, tables := 0, 0
	for _, f := range files {
		if f.kind == "table" {
			tables += len(f.data)
		} else {
			small += len(f.data)
		}
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for i := range files {
		f := &files[i]
		n := len(f.data)
		if f.kind == "table" && total > 0 {
			// This table's share of what the small files leave.
			n = min(n, ((total-small)*len(f.data)+tables-1)/tables+1)
		}
		stride := float64(len(f.data)) / float64(n)
		start := rng.Float64() * stride
		for j := 0; j < n; j++ {
			p := int(start + float64(j)*stride)
			if len(f.positions) == 0 || p != f.positions[len(f.positions)-1] {
				f.positions = append(f.positions, min(p, len(f.data)-1))
			}
		}
	}
	return files
}

// rotReads reads every key of universe and scans the store in db: each
// read returns the right answer or a corruption error, never a wrong value
// or a wrong "not found". It returns how many reads failed with
// corruption and how many were right.
func rotReads(db *kv.DB, want state, universe []string) (corrupt, right int, err error) {
	for _, k := range universe {
		v, gerr := db.Get([]byte(k))
		w, ok := want[k]
		switch {
		case errors.Is(gerr, kv.ErrCorrupt):
			corrupt++
		case gerr != nil && !(errors.Is(gerr, kv.ErrNotFound) && !ok):
			return corrupt, right, fmt.Errorf("Get(%s): %v (want %.20q, present %v)", k, gerr, w, ok)
		case gerr == nil && (!ok || string(v) != w):
			return corrupt, right, fmt.Errorf("Get(%s) = %.20q silently, want %.20q (present %v)", k, v, w, ok)
		default:
			right++
		}
	}
	got, serr := contents(db)
	switch {
	case errors.Is(serr, kv.ErrCorrupt):
		corrupt++
	case serr != nil:
		return corrupt, right, fmt.Errorf("Scan: %v", serr)
	case diff(got, want) != "":
		return corrupt, right, fmt.Errorf("Scan silently wrong: %s", diff(got, want))
	default:
		right++
	}
	return corrupt, right, nil
}

// TestBitRot flips one byte (with a random non-zero mask) at each of at
// least 2,000 positions spread over every live file of a store (every
// byte of the manifest and the log, a sample of the tables; every byte of
// everything with KV_TORTURE=long). Verify must report a problem every
// time, and reads through a reader's or a writer's open must either fail
// with a corruption error or return the right value: never a wrong value,
// never "not found" for a present key.
func TestBitRot(t *testing.T) {
	orig, want, all := rotStore(t)
	total := sample(2000, 5)
	if longRun() {
		total = 0
	}
	files := rotPositions(t, orig, total)
	rng := rand.New(rand.NewPCG(9, 9))
	flips := map[string]int{}
	var cases, detected, refused, readCorrupt, readRight, writerRefused, repaired, stale int
	for _, f := range files {
		full := path.Join(memDir, f.name)
		for _, p := range f.positions {
			mask := byte(1 + rng.IntN(255))
			mem := orig.Crash(vfs.CrashOptions{UnsyncedFraction: 1, KeepUnsyncedEntries: true})
			damaged := bytes.Clone(f.data)
			damaged[p] ^= mask
			mem.WriteAll(full, damaged)
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf("%s byte %d of %d ^= %#02x: %s", f.name, p, len(f.data), mask, fmt.Sprintf(format, args...))
			}
			cases++
			flips[f.kind]++
			rep, err := inspect.Verify(memDir, &kv.Options{FS: mem, LockTimeout: -1})
			switch {
			case err != nil:
				fail("Verify failed instead of reporting: %v", err)
			case rep.OK():
				fail("Verify found nothing (notes %q)", rep.Notes)
			case !slices.ContainsFunc(rep.Problems, func(pr kv.Problem) bool { return pr.File == full }):
				fail("Verify's problems %v do not name the damaged file", rep.Problems)
			}
			detected++
			for _, ro := range []bool{true, false} {
				db, err := kv.Open(memDir, &kv.Options{FS: mem, ReadOnly: ro, LockTimeout: -1})
				if err != nil {
					if !errors.Is(err, kv.ErrCorrupt) {
						fail("Open(read-only %v): %v, want a corruption error", ro, err)
					}
					if ro {
						refused++
					} else {
						writerRefused++
					}
					continue
				}
				c, r, err := rotReads(db, want, all)
				db.Close()
				if err != nil {
					fail("read-only %v: %v", ro, err)
				}
				if ro {
					readCorrupt += c
					readRight += r
				}
			}
			if mem2, ok := mem.ReadAll(full); !ok || !bytes.Equal(mem2, damaged) {
				// A writer must not "repair" damage silently either.
				fail("a writer's open changed the damaged file")
			}
			// Repair may serve an older version of a key whose newest
			// one was in the damage, but never silently: every key it
			// serves a wrong value for, or brings back though it was
			// deleted, is in its report. (A key with no version kept
			// at all is simply absent, and unknown to it.)
			rr, err := kv.Repair(memDir, &kv.RepairOptions{Options: kv.Options{FS: mem, LockTimeout: -1}})
			if err != nil {
				fail("Repair: %v", err)
			}
			repaired++
			db, err := kv.Open(memDir, &kv.Options{FS: mem, ReadOnly: true, LockTimeout: -1})
			if err != nil {
				fail("Open after Repair: %v", err)
			}
			for _, k := range all {
				v, gerr := db.Get([]byte(k))
				w, ok := want[k]
				if gerr != nil && !errors.Is(gerr, kv.ErrNotFound) {
					fail("Get(%s) after Repair: %v", k, gerr)
				}
				if gerr == nil && (!ok || string(v) != w) {
					if !slices.Contains(rr.MayHaveLostNewer, k) {
						fail("after Repair, Get(%s) = %.20q (want %.20q, present %v), and the report does not name it (%d named)", k, v, w, ok, len(rr.MayHaveLostNewer))
					}
					stale++
				}
			}
			db.Close()
		}
	}
	if cases < sample(2000, 5) {
		t.Fatalf("only %d positions", cases)
	}
	summary(t, "bit rot: %d one-byte flips (manifest %d, log %d, tables %d, %d files of %d bytes), Verify detected %d/%d (%.0f%%) naming the file; reader opens refused %d (corruption error), %d reads failed with a corruption error, %d returned the right value, 0 wrong; writer opens refused %d; %d repairs served %d stale or revived values, every one named in the report",
		cases, flips["manifest"], flips["log"], flips["table"], len(files), totalBytes(files), detected, cases, 100*float64(detected)/float64(cases), refused, readCorrupt, readRight, writerRefused, repaired, stale)
}

func totalBytes(files []rotFile) int {
	n := 0
	for _, f := range files {
		n += len(f.data)
	}
	return n
}
