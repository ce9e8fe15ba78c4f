package kv_test

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestBackupFailureLeavesNothing: a Backup that fails at any filesystem
// operation (a full disk) removes what it wrote, so the destination is
// absent again and the same Backup then succeeds (files left behind would
// make it fail with "destination is not empty").
func TestBackupFailureLeavesNothing(t *testing.T) {
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 0))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := db.Set([]byte(k), []byte("value of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	const dest = memDir + "-backup"
	failed := 0
	for i := 1; ; i++ {
		efs := vfs.NewErrorFS(mem, i, false, vfs.ENOSPC)
		src, err := kv.Open(memDir, &kv.Options{FS: efs, LockTimeout: -1, ReadOnly: true})
		if err != nil {
			continue // the fault hit the open, not the backup
		}
		err = src.Backup(dest)
		src.Close()
		if !efs.Injected() {
			if err != nil {
				t.Fatalf("Backup without a fault: %v", err)
			}
			break
		}
		if err == nil {
			t.Fatalf("fault at operation %d: Backup reported no error", i)
		}
		failed++
		if names, lerr := mem.List(dest); !errors.Is(lerr, fs.ErrNotExist) {
			t.Fatalf("fault at operation %d (%v): the destination is left with %q (%v)", i, err, names, lerr)
		}
	}
	if failed < 5 {
		t.Fatalf("only %d failing backups: the fault loop is not reaching the backup", failed)
	}
	copyDB, err := kv.Open(dest, &kv.Options{FS: mem, LockTimeout: -1, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer copyDB.Close()
	if v, err := copyDB.Get([]byte("b")); err != nil || string(v) != "value of b" {
		t.Fatalf("the backup made after the failures: b = %q, %v", v, err)
	}
}
