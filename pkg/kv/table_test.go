package kv

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/kvtool/kv/pkg/vfs"
)

// countingFS counts the mappings it makes and can refuse them.
type countingFS struct {
	vfs.FS
	mu      sync.Mutex
	maps    int
	refuse  bool
	unmaps  int
	refused int
}

func (c *countingFS) Map(name string) ([]byte, func() error, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse && strings.HasSuffix(name, ".sst") {
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

// TestTableMapsAfterLookups: a handle reads its tables from their files
// for the first mapAfter-1 lookups, maps each table on its mapAfter-th
// one, answers the same before and after, and unmaps at Close.
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
		for i := range mapAfter - 1 {
			get(i * 97)
		}
		if maps, _, _ := cfs.counts(); maps != 0 {
			t.Fatalf("read-only %v: %d mappings after %d lookups, want none", readOnly, maps, mapAfter-1)
		}
		get(4999)
		if maps, _, _ := cfs.counts(); maps != 1 {
			t.Fatalf("read-only %v: %d mappings after %d lookups, want 1", readOnly, maps, mapAfter)
		}
		for i := range 5000 {
			get(i)
		}
		if _, err := db.Get([]byte("key99999")); !errors.Is(err, ErrNotFound) {
			t.Fatalf("absent key: %v", err)
		}
		if maps, _, _ := cfs.counts(); maps != 1 {
			t.Fatalf("read-only %v: %d mappings, want the one", readOnly, maps)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, unmaps, _ := cfs.counts(); unmaps != 1 {
			t.Fatalf("read-only %v: %d unmaps at Close, want 1", readOnly, unmaps)
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
		n := 0
		err = db.Scan(nil, func(e Entry) error {
			if want := fmt.Sprintf("key%05d", n); string(e.Key) != want {
				return fmt.Errorf("entry %d is %q, want %q", n, e.Key, want)
			}
			n++
			return nil
		})
		if err != nil || n != 3000 {
			t.Fatalf("refuse %v: scan gave %d entries, %v", refuse, n, err)
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
		case refuse && (maps != 0 || refused < 1):
			t.Fatalf("refused mappings: %d made, %d refused", maps, refused)
		}
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTableConcurrentSwitch: lookups and scans from many goroutines
// while the table switches to its mapping (run with -race).
func TestTableConcurrentSwitch(t *testing.T) {
	cfs := &countingFS{FS: tableStore(t, 2000)}
	db, err := Open("/kv-table", &Options{FS: cfs, LockTimeout: -1, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := (g*200 + i) % 2000
				if g == 7 && i%50 == 0 {
					if err := db.ScanKeys([]byte("key01"), 5, func([]byte) error { return nil }); err != nil {
						errs <- err
						return
					}
				}
				v, err := db.Get(fmt.Appendf(nil, "key%05d", k))
				if err != nil || string(v) != fmt.Sprintf("value %d", k) {
					errs <- fmt.Errorf("key%05d = %q %v", k, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if maps, _, _ := cfs.counts(); maps != 1 {
		t.Fatalf("%d mappings, want 1", maps)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
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
