package kv_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestFlushAfterWriteSaysApplied: when a write is durable but the flush
// it triggers fails, the error wraps ErrFlushAfterWrite (and its cause),
// and the write is indeed there on the next open. Any other failure is not
// acknowledged, which does not make it absent: after a failed fdatasync the
// record may still be read back, so kv load says so rather than "nothing".
func TestFlushAfterWriteSaysApplied(t *testing.T) {
	flushFailures := 0
	for i := 1; i < 200; i++ {
		mem := vfs.NewMemFS()
		efs := vfs.NewErrorFS(mem, 0, false, nil)
		db, err := kv.Open(memDir, memOptions(efs, 4<<10))
		if err != nil {
			t.Fatal(err)
		}
		db.Set([]byte("first"), bytes.Repeat([]byte("x"), 3<<10))
		efs2 := vfs.NewErrorFS(mem, i, true, vfs.ENOSPC)
		db.Close()
		db, err = kv.Open(memDir, memOptions(efs2, 4<<10))
		if err != nil {
			continue // the fault hit the open
		}
		err = db.Set([]byte("second"), bytes.Repeat([]byte("y"), 2<<10))
		db.Close()
		if !efs2.Injected() {
			break
		}
		if !errors.Is(err, kv.ErrFlushAfterWrite) {
			continue
		}
		flushFailures++
		if !errors.Is(err, vfs.ENOSPC) {
			t.Fatalf("fault %d: %v does not wrap its cause", i, err)
		}
		check, err := kv.Open(memDir, &kv.Options{FS: mem, LockTimeout: -1, ReadOnly: true})
		if err != nil {
			t.Fatalf("fault %d: reopen: %v", i, err)
		}
		if _, err := check.Get([]byte("second")); err != nil {
			t.Fatalf("fault %d: ErrFlushAfterWrite, yet the write is not there: %v", i, err)
		}
		check.Close()
	}
	if flushFailures == 0 {
		t.Fatal("no fault hit the flush after a durable write")
	}
}
