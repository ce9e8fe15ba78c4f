package kv_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
)

// faultThreshold is the log size that triggers a flush in the fault tests:
// small, so that the workload flushes and merges several times.
const faultThreshold = 450

type stepKind int

const (
	stepWrite stepKind = iota
	stepCompact
	stepReopen
)

type step struct {
	kind stepKind
	op   op
}

// faultWorkload is a history that exercises every path that writes:
// single sets and deletes, batches, flushes (the log passes faultThreshold
// every few writes) with merges, a batch too large for the log (written as
// a table of its own), a full compaction and reopens.
func faultWorkload() []step {
	var steps []step
	w := func(o op) { steps = append(steps, step{kind: stepWrite, op: o}) }
	val := func(i int) string { return fmt.Sprintf("v%03d-%s", i, strings.Repeat("x", 40+i%17)) }
	i := 0
	next := func() string { i++; return val(i) }
	for k := 0; k < 10; k++ {
		w(setOp(fmt.Sprintf("k%02d", k), next()))
	}
	w(delOp("k03"))
	w(batchOp(setOp("k10", next()), setOp("k11", next()), delOp("k04"), setOp("k00", next())))
	for k := 0; k < 8; k++ {
		w(setOp(fmt.Sprintf("k%02d", k*2), next()))
	}
	// Enough flushes for mergeWidth tables to pile up and merge.
	for k := 0; k < 8; k++ {
		w(setOp(fmt.Sprintf("k%02d", k*2+1), next()))
	}
	w(delOp("k06"))
	w(delOp("never-written"))
	steps = append(steps, step{kind: stepReopen})
	w(batchOp(delOp("k01"), delOp("k02"), setOp("k12", next())))
	big := batchOp()
	for k := 20; k < 40; k++ {
		big.batch = append(big.batch, setOp(fmt.Sprintf("k%02d", k), next()))
	}
	w(big) // larger than faultThreshold: ingested as a table
	for k := 0; k < 6; k++ {
		w(setOp(fmt.Sprintf("k%02d", 20+k*3), next()))
	}
	steps = append(steps, step{kind: stepCompact})
	w(setOp("k05", next()))
	w(delOp("k21"))
	w(batchOp(setOp("k50", next()), delOp("k00"), setOp("k51", next())))
	steps = append(steps, step{kind: stepReopen})
	w(setOp("k52", next()))
	return steps
}

func workloadUniverse(steps []step) []string {
	var ops []op
	for _, s := range steps {
		if s.kind == stepWrite {
			ops = append(ops, s.op)
		}
	}
	return universe(append(ops, setOp("probe", ""))...)
}

// faultRun runs the workload over an ErrorFS and keeps track of what the
// store must hold: model has every acknowledged write; pending is the one
// write whose error leaves it unknown whether it reached the disk.
type faultRun struct {
	t          *testing.T
	name       string
	efs        *vfs.ErrorFS
	persistent bool
	// inject is the error the ErrorFS injects; every error reported
	// must wrap it (or say the handle is broken by it).
	inject  error
	db      *kv.DB
	model   state
	pending *op
	all     []string
	stopped bool
	errors  int
}

func (r *faultRun) fatalf(format string, args ...any) {
	r.t.Helper()
	r.t.Fatalf("%s: %s", r.name, fmt.Sprintf(format, args...))
}

// open opens the store, retrying once after a single failure, and checks
// that it holds the model (resolving the pending write).
func (r *faultRun) open() bool {
	r.t.Helper()
	db, err := kv.Open(memDir, memOptions(r.efs, faultThreshold))
	if err != nil {
		r.errors++
		r.checkClear(err, "open")
		if r.persistent {
			return false
		}
		if db, err = kv.Open(memDir, memOptions(r.efs, faultThreshold)); err != nil {
			r.fatalf("open after a single failure: %v", err)
		}
	}
	r.db = db
	got, err := contents(db)
	if r.readFailed(err) {
		if r.db == nil {
			return false
		}
		got, err = contents(db)
	}
	if err != nil {
		r.fatalf("scan after open: %v", err)
	}
	r.resolve(got, "reopen")
	return true
}

// readFailed reports whether err is the injected error, met by a read of
// a table (tables are read from their files as lookups need them): it is
// reported to that read, and the handle goes on. When the fault persists,
// the process stops there.
func (r *faultRun) readFailed(err error) bool {
	r.t.Helper()
	if err == nil || r.inject == nil || !errors.Is(err, r.inject) {
		return false
	}
	r.errors++
	if r.persistent {
		r.db.Close()
		r.db = nil
		r.stopped = true
	}
	return true
}

// resolve checks that got is the model, or the model with the pending
// write applied whole, and settles the model accordingly.
func (r *faultRun) resolve(got state, when string) {
	r.t.Helper()
	if d := diff(got, r.model); d == "" {
		r.pending = nil
		return
	}
	if r.pending != nil {
		after := r.model.apply(*r.pending)
		if diff(got, after) == "" {
			r.model, r.pending = after, nil
			return
		}
		r.fatalf("%s: contents are neither before nor after %v: %s", when, *r.pending, diff(got, r.model))
	}
	r.fatalf("%s: contents differ from the acknowledged writes: %s", when, diff(got, r.model))
}

// checkClear fails the test unless err reports the injected error: it
// must wrap it (errors.Is), so that its message says what went wrong, not
// "corrupt data" or something vaguer.
func (r *faultRun) checkClear(err error, what string) {
	r.t.Helper()
	if r.inject != nil && !errors.Is(err, r.inject) {
		r.fatalf("%s failed with %v, which does not wrap the injected %v", what, err, r.inject)
	}
}

// fail handles an error from an operation of the open handle.
func (r *faultRun) fail(err error, o *op) {
	r.t.Helper()
	r.errors++
	r.checkClear(err, "operation")
	if errors.Is(err, kv.ErrNoSpace) {
		// Undone in full: the write (an ingest) is not applied, the
		// compaction changed nothing, and the handle stays usable.
		return
	}
	if o != nil && !errors.Is(err, kv.ErrBroken) {
		if r.pending != nil {
			r.fatalf("a second write (%v) failed with %v while %v is unresolved: the handle should be broken", *o, err, *r.pending)
		}
		r.pending = o
	}
	// After a failure the handle refuses writes.
	if werr := r.db.Set([]byte("probe"), []byte("p")); !errors.Is(werr, kv.ErrBroken) {
		r.fatalf("after %v, a write returned %v, want ErrBroken", err, werr)
	}
	r.db.Close()
	r.db = nil
	if r.persistent {
		r.stopped = true
	}
}

func (r *faultRun) run(steps []step) {
	r.t.Helper()
	if !r.open() {
		return
	}
	for _, s := range steps {
		if r.db == nil && (r.stopped || !r.open()) {
			return
		}
		switch s.kind {
		case stepWrite:
			o := s.op
			if err := write(r.db, o); err != nil {
				r.fail(err, &o)
				continue
			}
			r.model.applyInPlace(o)
		case stepCompact:
			if _, err := r.db.Compact(); err != nil {
				r.fail(err, nil)
			}
		case stepReopen:
			if err := r.db.Close(); err != nil {
				r.fatalf("close: %v", err)
			}
			r.db = nil
		}
		r.checkPutOff()
		if r.db != nil {
			err := checkStore(r.db, r.model, nil)
			if r.readFailed(err) {
				if r.db == nil {
					return
				}
				err = checkStore(r.db, r.model, nil)
			}
			if err != nil {
				r.fatalf("after %v: %v", s.op, err)
			}
		}
	}
	if r.db != nil {
		r.db.Close()
	}
}

// checkPutOff counts a flush put off for lack of room as the report of
// the injected error: the write before it succeeded, and the handle goes on.
func (r *faultRun) checkPutOff() {
	r.t.Helper()
	if r.db == nil {
		return
	}
	if err := r.db.FlushPutOff(); err != nil {
		if !errors.Is(err, kv.ErrNoSpace) || !vfs.IsNoSpace(r.inject) {
			r.fatalf("a flush was put off with %v, injecting %v", err, r.inject)
		}
		r.checkClear(err, "put-off flush")
		r.errors++
	}
}

// crashKinds are what the final check reopens the store on: the files as
// the process left them, and four power losses.
type crashKind struct {
	name  string
	crash func(*vfs.MemFS) *vfs.MemFS
}

var crashKinds = []crashKind{
	{"restart", func(m *vfs.MemFS) *vfs.MemFS {
		return m.Crash(vfs.CrashOptions{UnsyncedFraction: 1, KeepUnsyncedEntries: true})
	}},
	{"crash(0)", func(m *vfs.MemFS) *vfs.MemFS { return m.Crash(vfs.CrashOptions{UnsyncedFraction: 0}) }},
	{"crash(0.5)", func(m *vfs.MemFS) *vfs.MemFS { return m.Crash(vfs.CrashOptions{UnsyncedFraction: 0.5}) }},
	{"crash(1)", func(m *vfs.MemFS) *vfs.MemFS { return m.Crash(vfs.CrashOptions{UnsyncedFraction: 1}) }},
	// Unsynced sectors written back out of order: some zeroed, later
	// ones kept.
	{"crash(holes)", func(m *vfs.MemFS) *vfs.MemFS {
		return m.Crash(vfs.CrashOptions{UnsyncedFraction: 1, HoleSeed: 7})
	}},
}

// checkAfter reopens the store on fsys (no injection) and checks it holds
// every acknowledged write, the pending one whole or not at all, verifies
// clean before and after, and takes a new write.
func (r *faultRun) checkAfter(fsys *vfs.MemFS, kind string) {
	r.t.Helper()
	name := r.name + " " + kind
	verifyClean(r.t, fsys, name+", before reopening")
	db, err := kv.Open(memDir, memOptions(fsys, faultThreshold))
	if err != nil {
		r.t.Fatalf("%s: open: %v", name, err)
	}
	got, err := contents(db)
	if err != nil {
		r.t.Fatalf("%s: scan: %v", name, err)
	}
	ok := diff(got, r.model) == ""
	if !ok && r.pending != nil {
		ok = diff(got, r.model.apply(*r.pending)) == ""
	}
	if !ok {
		r.t.Fatalf("%s: acknowledged writes lost or a write half-applied (pending %v): %s", name, r.pending, diff(got, r.model))
	}
	for _, k := range r.all {
		v, err := db.Get([]byte(k))
		if g, present := got[k]; (present && (err != nil || string(v) != g)) || (!present && !errors.Is(err, kv.ErrNotFound)) {
			r.t.Fatalf("%s: Get(%s) = %q, %v disagrees with Scan", name, k, v, err)
		}
	}
	if err := db.Set([]byte("probe"), []byte("after")); err != nil {
		r.t.Fatalf("%s: write after recovery: %v", name, err)
	}
	db.Close()
	db, err = kv.Open(memDir, memOptions(fsys, faultThreshold))
	if err != nil {
		r.t.Fatalf("%s: second reopen: %v", name, err)
	}
	if v, err := db.Get([]byte("probe")); err != nil || string(v) != "after" {
		r.t.Fatalf("%s: write after recovery lost: %q, %v", name, v, err)
	}
	db.Close()
	verifyClean(r.t, fsys, name+", after recovery")
}

// TestFaultInjection fails every filesystem operation of the workload in
// turn, once (then the workload reopens the store and goes on) and for
// good (the process gives up), then reopens the files as left and after
// power losses keeping none, half or all of the unsynced bytes. Every
// acknowledged write must be there, a failed write whole or not at all,
// nothing else, and Verify clean.
func TestFaultInjection(t *testing.T) {
	steps := faultWorkload()
	all := workloadUniverse(steps)
	paths := checkWorkloadCoverage(t, steps)
	// The names of the operations of a run without faults, in order: the
	// i-th is what injection point i fails.
	var names []string
	{
		r := &faultRun{t: t, name: "recording", efs: vfs.NewErrorFS(opNames{vfs.NewMemFS(), &names}, 0, false, nil), model: state{}, all: all}
		r.run(steps)
		if r.efs.Count() != len(names) {
			t.Fatalf("recorded %d operations, ErrorFS counted %d", len(names), r.efs.Count())
		}
	}
	kinds := map[string]int{}
	for _, n := range names {
		kinds[n]++
	}
	t.Logf("fault workload: %d filesystem operations without faults: %v", len(names), kinds)
	var points, crashPoints, checks, injected, absorbed int
	stride := 1
	if raceEnabled {
		stride = 5
	}
	for _, inject := range []error{vfs.EIO, vfs.ENOSPC} {
		for _, persistent := range []bool{false, true} {
			for i := 1; ; i += stride {
				mem := vfs.NewMemFS()
				r := &faultRun{
					t: t, name: fmt.Sprintf("%v at op %d (persistent %v)", inject, i, persistent),
					efs: vfs.NewErrorFS(mem, i, persistent, inject), persistent: persistent, inject: inject,
					model: state{}, all: all,
				}
				r.run(steps)
				if !r.efs.Injected() {
					if i == 1 || r.errors != 0 {
						t.Fatalf("run without injection: %d errors", r.errors)
					}
					break
				}
				if r.errors == 0 {
					// Only a failure the engine may ignore goes unreported:
					// removing a file already replaced (the next writer
					// removes it), or mapping a table (its reader reads
					// the file instead; the checks below hold it to that).
					if !persistent && (i > len(names) || (names[i-1] != "Remove" && names[i-1] != "Map")) {
						t.Fatalf("%s: the injected error was never reported (operation %v)", r.name, names[min(i, len(names))-1])
					}
					absorbed++
				}
				points++
				if persistent && inject == vfs.EIO {
					// The process stops at the i-th operation: a crash there.
					crashPoints++
				}
				injected += r.errors
				kinds := crashKinds
				if inject == vfs.ENOSPC {
					// The engine treats every errno alike, and the EIO pass
					// already took each point through every crash kind:
					// here, the files as left and one power loss.
					kinds = []crashKind{crashKinds[0], crashKinds[2]}
				}
				for _, ck := range kinds {
					r.checkAfter(ck.crash(mem), ck.name)
					checks++
				}
			}
		}
	}
	every := ""
	if stride > 1 {
		every = fmt.Sprintf(" (every %dth: race detector)", stride)
	}
	summary(t, "crash points: %d (a crash at every filesystem operation%s of %d sets, deletes and batches with %d flushes, %d merges, %d ingest, %d compaction and reopens) × 4 power losses (unsynced fractions 0, 0.5, 1, and 1 with unsynced sectors written back out of order; unsynced directory entries dropped) + a restart, 0 acknowledged writes lost, 0 half-applied batches, 0 resurrected deletes, 0 values never written",
		crashPoints, every, writes(steps), paths["flush"], paths["merge"], paths["ingest"], paths["compaction"])
	summary(t, "I/O errors: %d injection points (%d operations%s × EIO, ENOSPC × single, persistent) × %d reopens for EIO, 2 for ENOSPC = %d recoveries; %d errors reported, each wrapping the injected errno, %d absorbed (removals of replaced files, table mappings that failed: the table is read from its file); nothing acknowledged after a failed sync, 0 acknowledged writes lost, Verify clean every time",
		points, len(names), every, len(crashKinds), checks, injected, absorbed)
}

// TestReplayedWriteIsDurable: a write whose log sync failed may be on the
// disk or not; once a writer's open has replayed it (and readers may have
// seen it), a power loss must not take it back. Likewise a manifest
// renamed by a handle that failed before syncing the directory must be
// made durable by the next open before it acknowledges writes on top of it
// (TestFaultInjection finds that case at the compaction).
func TestReplayedWriteIsDurable(t *testing.T) {
	mem := vfs.NewMemFS()
	counter := vfs.NewErrorFS(mem, 0, false, nil)
	db, err := kv.Open(memDir, memOptions(counter, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	base := counter.Count()
	db.Close()
	// Same history, failing the sync of the second write (write, then
	// sync: the second operation of a Set).
	mem = vfs.NewMemFS()
	efs := vfs.NewErrorFS(mem, base+2, false, vfs.EIO)
	db, err = kv.Open(memDir, memOptions(efs, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("a"), []byte("1")); err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("b"), []byte("2")); err == nil || !efs.Injected() {
		t.Fatalf("Set with a failing sync: %v", err)
	}
	db.Close()
	db, err = kv.Open(memDir, memOptions(mem, 0))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.Get([]byte("b")); err != nil || string(v) != "2" {
		t.Fatalf("the unsynced write is not replayed: %q %v", v, err)
	}
	db.Close()
	for _, frac := range []float64{0, 0.5} {
		db, err := kv.Open(memDir, memOptions(mem.Crash(vfs.CrashOptions{UnsyncedFraction: frac}), 0))
		if err != nil {
			t.Fatal(err)
		}
		if v, err := db.Get([]byte("b")); err != nil || string(v) != "2" {
			t.Errorf("crash(%v): a write seen after reopening is gone: %q %v", frac, v, err)
		}
		db.Close()
	}
}

func writes(steps []step) int {
	n := 0
	for _, s := range steps {
		if s.kind == stepWrite {
			n++
		}
	}
	return n
}

// checkWorkloadCoverage runs the fault workload without faults and checks
// from the manifests that it takes every path that changes the live files:
// flushes, merges, the ingestion of a large batch and a compaction.
func checkWorkloadCoverage(t *testing.T, steps []step) map[string]int {
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, faultThreshold))
	if err != nil {
		t.Fatal(err)
	}
	prev, _ := manifest.Read(mem, memDir)
	seen := map[string]int{}
	for _, s := range steps {
		switch s.kind {
		case stepWrite:
			err = write(db, s.op)
		case stepCompact:
			_, err = db.Compact()
		case stepReopen:
			db.Close()
			db, err = kv.Open(memDir, memOptions(mem, faultThreshold))
		}
		if err != nil {
			t.Fatal(err)
		}
		cur, _ := manifest.Read(mem, memDir)
		switch {
		case s.kind == stepCompact:
			if cur.WAL != prev.WAL && len(cur.Tables) == 1 {
				seen["compaction"]++
			}
		case s.kind == stepWrite && s.op.batch != nil && len(s.op.batch) > 10 && cur.WAL != prev.WAL:
			seen["ingest"]++
		case cur.WAL != prev.WAL:
			seen["flush"]++
			if len(cur.Tables) <= len(prev.Tables) {
				seen["merge"]++ // the flush's table merged with older ones
			}
		}
		prev = cur
	}
	db.Close()
	for _, k := range []string{"flush", "merge", "ingest", "compaction"} {
		if seen[k] == 0 {
			t.Errorf("the fault workload never takes the %s path (%v)", k, seen)
		}
	}
	t.Logf("fault workload: %d steps; paths taken: %v", len(steps), seen)
	return seen
}

// opNames wraps an FS and records the name of every operation that
// ErrorFS counts (all but Close and Lock), so a test can tell which
// operation the i-th injection hit.
type opNames struct {
	vfs.FS
	names *[]string
}

func (o opNames) rec(name string) { *o.names = append(*o.names, name) }

type opNamesFile struct {
	vfs.File
	o opNames
}

func (f opNamesFile) ReadAt(p []byte, off int64) (int, error) {
	f.o.rec("ReadAt")
	return f.File.ReadAt(p, off)
}
func (f opNamesFile) WriteAt(p []byte, off int64) (int, error) {
	f.o.rec("WriteAt")
	return f.File.WriteAt(p, off)
}
func (f opNamesFile) Sync() error               { f.o.rec("Sync"); return f.File.Sync() }
func (f opNamesFile) Truncate(size int64) error { f.o.rec("Truncate"); return f.File.Truncate(size) }
func (f opNamesFile) Size() (int64, error)      { f.o.rec("Size"); return f.File.Size() }

func (o opNames) wrap(f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	return opNamesFile{f, o}, nil
}
func (o opNames) Create(n string) (vfs.File, error) { o.rec("Create"); return o.wrap(o.FS.Create(n)) }
func (o opNames) OpenRW(n string) (vfs.File, error) { o.rec("OpenRW"); return o.wrap(o.FS.OpenRW(n)) }
func (o opNames) Open(n string) (vfs.File, error)   { o.rec("Open"); return o.wrap(o.FS.Open(n)) }
func (o opNames) Map(n string) ([]byte, func() error, error) {
	o.rec("Map")
	return o.FS.Map(n)
}
func (o opNames) Rename(a, b string) error            { o.rec("Rename"); return o.FS.Rename(a, b) }
func (o opNames) Remove(n string) error               { o.rec("Remove"); return o.FS.Remove(n) }
func (o opNames) List(d string) ([]string, error)     { o.rec("List"); return o.FS.List(d) }
func (o opNames) Stat(n string) (vfs.FileInfo, error) { o.rec("Stat"); return o.FS.Stat(n) }
func (o opNames) MkdirAll(d string) error             { o.rec("MkdirAll"); return o.FS.MkdirAll(d) }
func (o opNames) SyncDir(d string) error              { o.rec("SyncDir"); return o.FS.SyncDir(d) }

// TestFirstWriteSyncs: a one-shot write into a new store syncs the new
// directory's parent once and the store's directory once (creating the
// store: the manifest's rename), and the log once for the record; a
// one-shot write into a store whose log has records syncs only the log,
// and into one whose log is empty (after a compaction, say), the
// directory first. A power loss then keeps every acknowledged write.
func TestFirstWriteSyncs(t *testing.T) {
	mem := vfs.NewMemFS()
	oneShot := func(key string) map[string]int {
		t.Helper()
		var names []string
		db, err := kv.Open(memDir, memOptions(opNames{mem, &names}, 0))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Set([]byte(key), []byte("v")); err != nil {
			t.Fatal(err)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		for _, name := range names {
			n[name]++
		}
		return n
	}
	check := func(what string, got map[string]int, syncDir, sync int) {
		t.Helper()
		// Sync: the new log's creation (one), its records' fdatasync,
		// the manifest's temporary file.
		if got["SyncDir"] != syncDir || got["Sync"] != sync {
			t.Errorf("%s: %d directory syncs and %d file syncs, want %d and %d", what, got["SyncDir"], got["Sync"], syncDir, sync)
		}
	}
	// Parent and store directory; the log's header, the manifest's
	// temporary file, the record.
	check("first write into a new store", oneShot("a"), 2, 3)
	// A directory made before the store: its entry in the parent is
	// synced all the same.
	{
		saved := mem
		mem = vfs.NewMemFS()
		if err := mem.MkdirAll(memDir); err != nil {
			t.Fatal(err)
		}
		check("first write into an existing empty directory", oneShot("a"), 2, 3)
		mem = saved
	}
	check("a write into a store whose log has a record", oneShot("b"), 0, 1)
	db, err := kv.Open(memDir, memOptions(mem, 0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	db.Close()
	check("the first write after a compaction", oneShot("c"), 1, 1)
	for _, frac := range []float64{0, 1} {
		crashed := mem.Crash(vfs.CrashOptions{UnsyncedFraction: frac})
		if err := openAndCheck(crashed, memOptions(crashed, 0), state{"a": "v", "b": "v", "c": "v"}, nil); err != nil {
			t.Errorf("crash(%v): %v", frac, err)
		}
	}
}
