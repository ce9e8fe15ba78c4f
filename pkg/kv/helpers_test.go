package kv_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/kvtool/kv/pkg/inspect"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// memDir is the data directory used inside a MemFS. It must not exist on
// the real filesystem, since Open resolves symlinks through the OS.
const memDir = "/kv-test-mem/store"

// memOptions returns options for a store on fsys that never waits for a
// lock and flushes its log past threshold bytes (0: the default).
func memOptions(fsys vfs.FS, threshold int64) *kv.Options {
	return &kv.Options{FS: fsys, LockTimeout: -1, FlushThreshold: threshold}
}

// state is the expected live content of a store: key -> value.
type state map[string]string

func (s state) clone() state { return maps.Clone(s) }

// op is one write of a test workload: a set (value non-nil), a delete, or
// a batch of those.
type op struct {
	key   string
	value *string
	batch []op
}

func setOp(k, v string) op { return op{key: k, value: &v} }
func delOp(k string) op    { return op{key: k} }
func batchOp(ops ...op) op { return op{batch: ops} }

func (o op) String() string {
	switch {
	case o.batch != nil:
		parts := make([]string, len(o.batch))
		for i, b := range o.batch {
			parts[i] = b.String()
		}
		return "batch{" + strings.Join(parts, ", ") + "}"
	case o.value != nil:
		return fmt.Sprintf("set %s=%.20q", o.key, *o.value)
	}
	return "del " + o.key
}

// apply returns s with o applied.
func (s state) apply(o op) state {
	out := s.clone()
	out.applyInPlace(o)
	return out
}

func (s state) applyInPlace(o op) {
	switch {
	case o.batch != nil:
		for _, b := range o.batch {
			s.applyInPlace(b)
		}
	case o.value != nil:
		s[o.key] = *o.value
	default:
		delete(s, o.key)
	}
}

// write performs o on db.
func write(db *kv.DB, o op) error {
	switch {
	case o.batch != nil:
		var b kv.Batch
		for _, x := range o.batch {
			if x.value != nil {
				b.Set([]byte(x.key), []byte(*x.value))
			} else {
				b.Delete([]byte(x.key))
			}
		}
		return db.Apply(&b)
	case o.value != nil:
		return db.Set([]byte(o.key), []byte(*o.value))
	}
	return db.Delete([]byte(o.key))
}

// writtenStore performs ops on a fresh store in a MemFS (flushing its log
// past threshold bytes, 0: the default), closes it and returns the MemFS.
func writtenStore(t *testing.T, ops []op, threshold int64) *vfs.MemFS {
	t.Helper()
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, threshold))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range ops {
		if err := write(db, o); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return mem
}

// contents reads every live key of db.
func contents(db *kv.DB) (state, error) {
	got := state{}
	err := db.Scan(nil, func(e kv.Entry) error {
		got[string(e.Key)] = string(e.Value)
		return nil
	})
	return got, err
}

// diff describes how got differs from want ("" when equal).
func diff(got, want state) string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok {
			out = append(out, fmt.Sprintf("%s missing (want %.20q)", k, want[k]))
		} else if g != want[k] {
			out = append(out, fmt.Sprintf("%s=%.20q, want %.20q", k, g, want[k]))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			out = append(out, fmt.Sprintf("%s=%.20q should not exist", k, got[k]))
		}
	}
	if len(out) > 6 {
		out = append(out[:6], fmt.Sprintf("and %d more", len(out)-6))
	}
	return strings.Join(out, "; ")
}

// checkStore compares db with want through Scan and through Get of every
// key in universe (keys that were ever written).
func checkStore(db *kv.DB, want state, universe []string) error {
	got, err := contents(db)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	if d := diff(got, want); d != "" {
		return fmt.Errorf("scan differs: %s", d)
	}
	for _, k := range universe {
		v, err := db.Get([]byte(k))
		w, ok := want[k]
		switch {
		case ok && (err != nil || string(v) != w):
			return fmt.Errorf("Get(%s) = %.20q, %w; want %.20q", k, v, err, w)
		case !ok && !errors.Is(err, kv.ErrNotFound):
			return fmt.Errorf("Get(%s) = %.20q, %w; want ErrNotFound", k, v, err)
		}
	}
	return nil
}

// verifyClean runs kv.Verify and fails unless it reports no problem.
func verifyClean(t *testing.T, fsys vfs.FS, what string) *inspect.Report {
	t.Helper()
	rep, err := inspect.Verify(memDir, &kv.Options{FS: fsys, LockTimeout: -1})
	if err != nil {
		t.Fatalf("%s: Verify: %v", what, err)
	}
	if !rep.OK() {
		t.Fatalf("%s: Verify found problems: %v", what, rep.Problems)
	}
	return rep
}

// universe lists every key the ops touch.
func universe(ops ...op) []string {
	set := map[string]bool{}
	var walk func(op)
	walk = func(o op) {
		if o.batch != nil {
			for _, b := range o.batch {
				walk(b)
			}
			return
		}
		set[o.key] = true
	}
	for _, o := range ops {
		walk(o)
	}
	return slices.Sorted(maps.Keys(set))
}

// openAndCheck opens the store on fsys with opts, checks it holds exactly
// want (see checkStore), and closes it.
func openAndCheck(fsys vfs.FS, opts *kv.Options, want state, universe []string) error {
	db, err := kv.Open(memDir, opts)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer db.Close()
	return checkStore(db, want, universe)
}

// recoverAndWrite is what must follow a crash: a writer opens the store
// (cutting any torn tail), finds exactly want, takes a write, and a reopen
// finds want plus that write (recorded in want) with no error.
func recoverAndWrite(fsys vfs.FS, want state, universe []string) error {
	db, err := kv.Open(memDir, memOptions(fsys, 0))
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	if err := checkStore(db, want, universe); err != nil {
		db.Close()
		return err
	}
	if err := db.Set([]byte("after"), []byte("x")); err != nil {
		db.Close()
		return fmt.Errorf("Set after recovery: %w", err)
	}
	db.Close()
	want["after"] = "x"
	db, err = kv.Open(memDir, memOptions(fsys, 0))
	if err != nil {
		return fmt.Errorf("reopen after a write: %w", err)
	}
	defer db.Close()
	if err := checkStore(db, want, universe); err != nil {
		return fmt.Errorf("after a write and reopen: %w", err)
	}
	return nil
}
