package kv

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kvtool/kv/pkg/vfs"
)

// countingFS counts the mappings it makes and can refuse them, or say
// that its Map copies files whole.
type countingFS struct {
	vfs.FS
	mu     sync.Mutex
	maps   int
	refuse bool // table mappings
	// refuseLog refuses log mappings.
	refuseLog bool
	copies    bool
	unmaps    int
	refused   int
}

func (c *countingFS) MapCopies() bool { return c.copies }

func (c *countingFS) Map(name string) ([]byte, func() error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse && strings.HasSuffix(name, ".sst") || c.refuseLog && strings.HasSuffix(name, ".wal") {
		c.refused++
		return nil, nil, errors.New("mapping refused")
	}
	data, release, err := c.FS.Map(name)
	if err != nil {
		return nil, nil, err
	}
	c.maps++
	return data, func() error {
		c.mu.Lock()
		c.unmaps++
		c.mu.Unlock()
		return release()
	}, nil
}

func (c *countingFS) counts() (maps, unmaps, refused int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.maps, c.unmaps, c.refused
}

// tableStore writes a store of one table of n keys (and an empty log).
func tableStore(t *testing.T, n int) *vfs.MemFS {
	t.Helper()
	mem := vfs.NewMemFS()
	db, err := Open("/kv-table", &Options{FS: mem, LockTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	var b Batch
	for i := range n {
		b.Set(fmt.Appendf(nil, "key%05d", i), fmt.Appendf(nil, "value %d", i))
	}
	if err := db.Apply(&b); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return mem
}

// scanTableStore scans the store tableStore wrote with n keys, and
// reports any key out of place or missing.
func scanTableStore(db *DB, n int) error {
	i := 0
	err := db.Scan(nil, func(e Entry) error {
		if want := fmt.Sprintf("key%05d", i); string(e.Key) != want {
			return fmt.Errorf("scan: entry %d is %q, want %q", i, e.Key, want)
		}
		i++
		return nil
	})
	if err == nil && i != n {
		err = fmt.Errorf("scan gave %d entries, want %d", i, n)
	}
	return err
}

// TestTableMapsAfterLookups: a handle that starts reading a table from
// its file and later maps it answers the same before and after the
// switch, and unmaps at Close every mapping it made. (When it switches is
// an optimisation, left to the benchmarks.)
func TestTableMapsAfterLookups(t *testing.T) {
	for _, readOnly := range []bool{true, false} {
		cfs := &countingFS{FS: tableStore(t, 5000)}
		db, err := Open("/kv-table", &Options{FS: cfs, LockTimeout: -1, ReadOnly: readOnly})
		if err != nil {
			t.Fatal(err)
		}
		if len(db.tables) != 1 {
			t.Fatalf("%d tables, want 1", len(db.tables))
		}
		get := func(i int) {
			t.Helper()
			v, err := db.Get(fmt.Appendf(nil, "key%05d", i))
			if want := fmt.Sprintf("value %d", i); err != nil || string(v) != want {
				t.Fatalf("read-only %v, lookup %d: %q %v, want %q", readOnly, i, v, err, want)
			}
		}
		get(0)
		if maps, _, _ := cfs.counts(); maps != 0 {
			t.Fatalf("read-only %v: the first lookup mapped the table: the test misses the file reader", readOnly)
		}
		for i := range 5000 {
			get(i)
		}
		if _, err := db.Get([]byte("key99999")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("absent key: %v", err)
		}
		maps, _, _ := cfs.counts()
		if maps == 0 {
			t.Fatalf("read-only %v: 5000 lookups and no mapping: the test misses the mapped reader", readOnly)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, unmaps, _ := cfs.counts(); unmaps != maps {
			t.Fatalf("read-only %v: %d unmaps at Close for %d mappings", readOnly, unmaps, maps)
		}
	}
}

// TestTableMapsForScans: a scan maps every table at once, and a table
// whose mapping fails is read from its file instead, with the same
// answers and no error.
func TestTableMapsForScans(t *testing.T) {
	for _, refuse := range []bool{false, true} {
		cfs := &countingFS{FS: tableStore(t, 3000), refuse: refuse}
		db, err := Open("/kv-table", &Options{FS: cfs, LockTimeout: -1, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := scanTableStore(db, 3000); err != nil {
			t.Fatalf("refuse %v: %v", refuse, err)
		}
		for i := range 2 * mapAfter {
			k := fmt.Appendf(nil, "key%05d", i*31)
			if v, err := db.Get(k); err != nil || string(v) != fmt.Sprintf("value %d", i*31) {
				t.Fatalf("refuse %v: %s = %q %v", refuse, k, v, err)
			}
		}
		maps, _, refused := cfs.counts()
		switch {
		case !refuse && (maps != 1 || refused != 0):
			t.Fatalf("scan: %d mappings, want 1", maps)
		case refuse && (maps != 0 || refused != 1):
			t.Fatalf("refused mappings: %d made, %d refused (want 1: a table whose mapping failed stays on its file)", maps, refused)
		}
		if err := db.ScanKeys(nil, 10, func([]byte) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if maps2, _, refused2 := cfs.counts(); maps2 != maps || refused2 != refused {
			t.Fatalf("a second scan mapped again: %d maps, %d refused, after %d, %d", maps2, refused2, maps, refused)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTableStaysOnFileWhenMapCopies: where Map would read a table whole
// (Windows), a table is never mapped: lookups past mapAfter and scans read
// the file, with the same answers.
func TestTableStaysOnFileWhenMapCopies(t *testing.T) {
	cfs := &countingFS{FS: tableStore(t, 3000), copies: true}
	db, err := Open("/kv-table", &Options{FS: cfs, LockTimeout: -1, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 3 * mapAfter {
		k := fmt.Appendf(nil, "key%05d", i*61)
		if v, err := db.Get(k); err != nil || string(v) != fmt.Sprintf("value %d", i*61) {
			t.Fatalf("%s = %q %v", k, v, err)
		}
	}
	if err := scanTableStore(db, 3000); err != nil {
		t.Fatal(err)
	}
	if maps, _, refused := cfs.counts(); maps != 0 || refused != 0 {
		t.Fatalf("%d mappings made, %d tried: want none", maps, refused)
	}
}

// TestTableConcurrentSwitch: on real files, with real mappings, lookups,
// scans and stats from several goroutines while a writer's flushes and
// merges (in the background, for an unsynced handle) and compactions
// replace the tables under them, switching each new table from its file
// to its mapping and releasing the old ones (run with -race).
func TestTableConcurrentSwitch(t *testing.T) {
	for _, noSync := range []bool{true, false} {
		writes := 3000
		if !noSync {
			writes = 300 // an fdatasync each
		}
		db, err := Open(t.TempDir(), &Options{FlushThreshold: 16 << 10, NoSync: noSync, LockTimeout: -1})
		if err != nil {
			t.Fatal(err)
		}
		var stop atomic.Bool
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		for g := range 4 {
			wg.Go(func() {
				for i := 0; !stop.Load(); i++ {
					k := (i*7 + g) % writes
					v, err := db.Get(fmt.Appendf(nil, "key%05d", k))
					if err != nil && !errors.Is(err, ErrNotFound) || err == nil && !strings.HasPrefix(string(v), fmt.Sprintf("value %d ", k)) {
						errs <- fmt.Errorf("key%05d = %.20q %v", k, v, err)
						return
					}
					if i%100 == 0 {
						n := 0
						err := db.ScanKeys([]byte("key0"), 50, func([]byte) error { n++; return nil })
						if err == nil {
							_, err = db.Stats()
						}
						if err != nil {
							errs <- err
							return
						}
					}
				}
			})
		}
		for i := range writes {
			if err := db.Set(fmt.Appendf(nil, "key%05d", i), fmt.Appendf(nil, "value %d %0100d", i, i)); err != nil {
				t.Fatal(err)
			}
			if i%(writes/4) == writes/8 {
				if _, err := db.Compact(); err != nil {
					t.Fatal(err)
				}
			}
		}
		stop.Store(true)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		for i := range writes {
			if v, err := db.Get(fmt.Appendf(nil, "key%05d", i)); err != nil || !strings.HasPrefix(string(v), fmt.Sprintf("value %d ", i)) {
				t.Fatalf("noSync %v: key%05d = %.20q %v", noSync, i, v, err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// fdFS tracks the files it opened that are not closed yet, and can fail
// opening logs for writing.
type fdFS struct {
	vfs.FS
	mu        sync.Mutex
	open      map[*fdFile]string
	failWALRW bool
}

type fdFile struct {
	vfs.File
	fs *fdFS
}

func (f *fdFile) Close() error {
	f.fs.mu.Lock()
	delete(f.fs.open, f)
	f.fs.mu.Unlock()
	return f.File.Close()
}

func (c *fdFS) track(name string, f vfs.File, err error) (vfs.File, error) {
	if err != nil {
		return nil, err
	}
	ff := &fdFile{f, c}
	c.mu.Lock()
	c.open[ff] = name
	c.mu.Unlock()
	return ff, nil
}

func (c *fdFS) Open(name string) (vfs.File, error) {
	f, err := c.FS.Open(name)
	return c.track(name, f, err)
}

func (c *fdFS) OpenRW(name string) (vfs.File, error) {
	c.mu.Lock()
	fail := c.failWALRW && strings.HasSuffix(name, ".wal")
	c.mu.Unlock()
	if fail {
		return nil, vfs.EIO
	}
	f, err := c.FS.OpenRW(name)
	return c.track(name, f, err)
}

func (c *fdFS) Create(name string) (vfs.File, error) {
	f, err := c.FS.Create(name)
	return c.track(name, f, err)
}

func (c *fdFS) stillOpen() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, n := range c.open {
		out = append(out, n)
	}
	return out
}

// TestRewriteFailureReleasesTables: a compaction that fails after its new
// manifest is durable (opening the new log) breaks the handle, and Close
// still closes every file, the replaced tables' included.
func TestRewriteFailureReleasesTables(t *testing.T) {
	fsys := &fdFS{FS: tableStore(t, 500), open: map[*fdFile]string{}}
	db, err := Open("/kv-table", &Options{FS: fsys, LockTimeout: -1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := db.Set(fmt.Appendf(nil, "x%d", i), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	fsys.mu.Lock()
	fsys.failWALRW = true
	fsys.mu.Unlock()
	if _, err := db.Compact(); !errors.Is(err, vfs.EIO) {
		t.Fatalf("Compact with the new log failing to open: %v", err)
	}
	db.Close()
	if open := fsys.stillOpen(); len(open) > 0 {
		t.Fatalf("after Close, files still open: %v", open)
	}
}

// failingFS opens tables whose reads fail once fail is set.
type failingFS struct {
	vfs.FS
	fail *bool
}

type failingFile struct {
	vfs.File
	fail *bool
}

func (f failingFS) Open(name string) (vfs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil || !strings.HasSuffix(name, ".sst") {
		return file, err
	}
	return failingFile{file, f.fail}, nil
}

func (f failingFile) ReadAt(p []byte, off int64) (int, error) {
	if *f.fail {
		return 0, vfs.EIO
	}
	return f.File.ReadAt(p, off)
}

// TestTableReadError: a table read that fails is reported as an I/O error
// naming the table, not as damage, and the handle reads on once the
// device recovers.
func TestTableReadError(t *testing.T) {
	fail := false
	db, err := Open("/kv-table", &Options{FS: failingFS{tableStore(t, 100), &fail}, LockTimeout: -1, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fail = true
	_, err = db.Get([]byte("key00042"))
	if !errors.Is(err, vfs.EIO) || errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), ".sst") {
		t.Fatalf("Get with a failing read: %v, want EIO naming the table, not corruption", err)
	}
	fail = false
	if v, err := db.Get([]byte("key00042")); err != nil || string(v) != "value 42" {
		t.Fatalf("Get after the device recovered: %q %v", v, err)
	}
}

// TestReadOnlyLogReadOrMapped: a read-only open reads a small log and
// maps one from mapLogFrom (unless Map would copy it anyway), replays
// either the same, and releases the mapping at Close.
func TestReadOnlyLogReadOrMapped(t *testing.T) {
	for _, tc := range []struct {
		name      string
		writes    int
		copies    bool
		refuseLog bool
		maps      int
	}{
		{"small log", 10, false, false, 0},
		{"large log", 3000, false, false, 1},
		{"large log, Map copies", 3000, true, false, 0},
		// Mapping only saves time: the log is read instead.
		{"large log, mapping refused", 3000, false, true, 0},
	} {
		mem := vfs.NewMemFS()
		db, err := Open("/kv-log", &Options{FS: mem, LockTimeout: -1, FlushThreshold: 4 << 20})
		if err != nil {
			t.Fatal(err)
		}
		var b Batch
		for i := range tc.writes {
			b.Set(fmt.Appendf(nil, "key%05d", i), fmt.Appendf(nil, "value %d %0100d", i, i))
			if b.Len() == 100 || i == tc.writes-1 {
				if err := db.Apply(&b); err != nil {
					t.Fatal(err)
				}
				b.Reset()
			}
		}
		st, err := db.Stats()
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Tables) != 0 || (st.LogBytes >= mapLogFrom) != (tc.writes > 100) {
			t.Fatalf("%s: %d tables, log of %d bytes: not what the test needs", tc.name, len(st.Tables), st.LogBytes)
		}
		db.Close()
		cfs := &countingFS{FS: mem, copies: tc.copies, refuseLog: tc.refuseLog}
		db, err = Open("/kv-log", &Options{FS: cfs, LockTimeout: -1, ReadOnly: true})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if maps, _, refused := cfs.counts(); maps != tc.maps || tc.refuseLog && refused != 1 {
			t.Errorf("%s: %d mappings at open, %d refused; want %d", tc.name, maps, refused, tc.maps)
		}
		for i := range tc.writes {
			k := fmt.Appendf(nil, "key%05d", i)
			if v, err := db.Get(k); err != nil || !strings.HasPrefix(string(v), fmt.Sprintf("value %d ", i)) {
				t.Fatalf("%s: %s = %.20q %v", tc.name, k, v, err)
			}
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, unmaps, _ := cfs.counts(); unmaps != tc.maps {
			t.Errorf("%s: %d unmaps at Close, want %d", tc.name, unmaps, tc.maps)
		}
	}
}
