//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDeleteOnFullDiskCLI: on a real filesystem that is full but for a
// little room, kv set and kv del still succeed (their flush into a table
// is put off, with one warning line), kv compact fails with exit 5 saying
// that nothing changed, and once space is freed kv compact succeeds and
// the store verifies with every acknowledged write. It needs a tmpfs of
// its own, so it runs as root (as CI does) and is skipped elsewhere.
func TestDeleteOnFullDiskCLI(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs (needs root): %v: %s", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	bin := kvBinary(t)
	dir := filepath.Join(mnt, "store")
	value := func(i int) []byte { return bytes.Repeat([]byte{byte('a' + i%26)}, 100_000) }
	// 41 values of 100 kB keep the log under its 4 MiB threshold.
	for i := range 41 {
		if r := runKV(t, bin, value(i), "-d", dir, "set", fmt.Sprintf("k%02d", i)); r.code != 0 {
			t.Fatalf("set k%02d: %v", i, r)
		}
	}
	// Fill the device but for 150 kB: room for a record, not a table.
	var st syscall.Statfs_t
	if err := syscall.Statfs(mnt, &st); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(mnt, "filler")
	if err := os.WriteFile(filler, make([]byte, int64(st.Bavail)*st.Bsize-150_000), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runKV(t, bin, value(41), "-d", dir, "set", "k41")
	if r.code != 0 || !strings.Contains(string(r.stderr), "kv: warning: the writes are stored") || !strings.Contains(string(r.stderr), "no space left on device") {
		t.Fatalf("set past the threshold on a full disk: %v", r)
	}
	if r := runKV(t, bin, nil, "-d", dir, "del", "k00", "k01"); r.code != 0 || bytes.Count(r.stderr, []byte("\n")) != 1 {
		t.Fatalf("del on a full disk: %v, want exit 0 and one warning line", r)
	}
	if r := runKV(t, bin, nil, "-d", dir, "get", "k00"); r.code != 1 {
		t.Fatalf("get of a key deleted on a full disk: %v, want exit 1", r)
	}
	r = runKV(t, bin, nil, "-d", dir, "compact")
	if r.code != 5 || !strings.Contains(string(r.stderr), "nothing was changed") || bytes.Count(r.stderr, []byte("\n")) != 1 {
		t.Fatalf("compact on a full disk: %v, want exit 5 saying nothing changed", r)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if r := runKV(t, bin, nil, "-d", dir, "compact"); r.code != 0 || len(r.stderr) != 0 {
		t.Fatalf("compact once space is freed: %v", r)
	}
	if r := runKV(t, bin, nil, "-d", dir, "verify"); r.code != 0 {
		t.Fatalf("verify: %v", r)
	}
	for i := 2; i <= 41; i++ {
		r := runKV(t, bin, nil, "-d", dir, "get", "-n", fmt.Sprintf("k%02d", i))
		if r.code != 0 || !bytes.Equal(r.stdout, value(i)) {
			t.Fatalf("get k%02d after the full disk: %v", i, r)
		}
	}
	if r := runKV(t, bin, nil, "-d", dir, "get", "k01"); r.code != 1 {
		t.Fatalf("k01, deleted on the full disk, came back: %v", r)
	}
}
