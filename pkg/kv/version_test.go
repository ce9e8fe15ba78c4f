package kv_test

import (
	"encoding/binary"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/inspect"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/sstable"
)

// dirFiles returns every file of dir by name.
func dirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

// A store holding a table written by a newer kv (intact, of an unknown
// version) is refused by Open, Verify and Repair with ErrUnsupportedVersion,
// never reported as corruption, and left byte for byte as it was.
func TestNewerVersionRefusedUntouched(t *testing.T) {
	dir := t.TempDir()
	db, err := kv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := db.Set([]byte(k), []byte("v-"+k)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("d"), []byte("v-d")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	tables, _ := filepath.Glob(filepath.Join(dir, "*.sst"))
	if len(tables) != 1 {
		t.Fatalf("tables: %v", tables)
	}
	data, err := os.ReadFile(tables[0])
	if err != nil {
		t.Fatal(err)
	}
	foot := data[len(data)-64:]
	binary.LittleEndian.PutUint32(foot[44:48], 99)
	// The footer CRC covers the whole footer: sstable.FooterSize bytes.
	binary.LittleEndian.PutUint32(foot[60:64], crc32c.Checksum(data[len(data)-sstable.FooterSize:len(data)-4]))
	if err := os.WriteFile(tables[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	before := dirFiles(t, dir)

	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, kv.ErrUnsupportedVersion) || errors.Is(err, kv.ErrCorrupt) {
			t.Errorf("%s: %v, want ErrUnsupportedVersion and not ErrCorrupt", what, err)
		}
	}
	_, err = kv.Open(dir, &kv.Options{ReadOnly: true})
	check("read-only open", err)
	_, err = kv.Open(dir, nil)
	check("read-write open", err)
	_, err = inspect.Verify(dir, nil)
	check("Verify", err)
	_, err = kv.Repair(dir, &kv.RepairOptions{DryRun: true})
	check("Repair, dry run", err)
	_, err = kv.Repair(dir, nil)
	check("Repair", err)
	if after := dirFiles(t, dir); !maps.Equal(before, after) {
		t.Fatal("a refused store was modified")
	}
}
