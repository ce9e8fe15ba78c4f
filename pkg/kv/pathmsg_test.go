package kv

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
)

// TestPathNamedOnce: an error about a file names it once, however the
// cause names it, and keeps the cause in the chain.
func TestPathNamedOnce(t *testing.T) {
	const path = "/st/000001.wal"
	cause := &fs.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{withPath("write", path, cause), "write /st/000001.wal: no space left on device"},
		{withPath("", path, cause), "/st/000001.wal: no space left on device"},
		// Another file's error, or a cause with more to say, is kept whole.
		{withPath("sync", "/st", cause), "sync /st: write /st/000001.wal: no space left on device"},
		{withPath("write", path, fmt.Errorf("flush: %w", cause)), "write /st/000001.wal: flush: write /st/000001.wal: no space left on device"},
		{withPath("write", path, syscall.EIO), "write /st/000001.wal: input/output error"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%q, want %q", got, tc.want)
		}
	}
	err := withPath("write", path, cause)
	var pe *fs.PathError
	if !errors.Is(err, syscall.ENOSPC) || !errors.As(err, &pe) || strings.Count(err.Error(), path) != 1 {
		t.Fatalf("%v: the chain lost its cause, or the path is named %d times", err, strings.Count(err.Error(), path))
	}
}
