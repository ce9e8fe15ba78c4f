package coord

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/kvtool/kv/pkg/vfs"
)

const memData = "/coord-test/data"

// TestAcquireTokensGrow: each acquisition gets a token above every earlier
// one, and a second holder is refused while the first holds the lock.
func TestAcquireTokensGrow(t *testing.T) {
	mem := vfs.NewMemFS()
	var last uint64
	for i := range 5 {
		l, err := Acquire(mem, memData, "job", 0)
		if err != nil {
			t.Fatal(err)
		}
		if l.Token <= last {
			t.Fatalf("acquisition %d: token %d after %d", i, l.Token, last)
		}
		last = l.Token
		if _, err := Acquire(mem, memData, "job", 10*time.Millisecond); !errors.Is(err, ErrHeld) {
			t.Fatalf("second holder: %v, want ErrHeld", err)
		}
		other, err := Acquire(mem, memData, "other job", 0)
		if err != nil {
			t.Fatalf("another name: %v", err)
		}
		other.Release()
		l.Release()
	}
	// A damaged token file is reported, never taken for 0.
	mem.WriteAll(filepath.Join(memData, LocksDir, "job", tokenFile), []byte("garbage"))
	if _, err := Acquire(mem, memData, "job", 0); err == nil {
		t.Fatal("a damaged token file was accepted")
	}
}

// TestEncodeName: distinct names get distinct file names, none of them a
// path of more than one element, "." or "..".
func TestEncodeName(t *testing.T) {
	names := []string{"a", "A", "a/b", "a%2Fb", ".", "..", ".hidden", "x.y", "sp ace", "é", "a\\b", "%", "-", "_"}
	seen := map[string]string{}
	for _, n := range names {
		e := encodeName(n)
		if e == "." || e == ".." || filepath.Base(e) != e || e == "" {
			t.Errorf("%q encodes as %q", n, e)
		}
		if prev, dup := seen[e]; dup {
			t.Errorf("%q and %q both encode as %q", prev, n, e)
		}
		seen[e] = n
	}
	for _, bad := range []string{"", string(make([]byte, MaxNameSize+1)), "a\x00b"} {
		if err := CheckName(bad); !errors.Is(err, ErrBadName) {
			t.Errorf("name of %d bytes: %v", len(bad), err)
		}
	}
}
