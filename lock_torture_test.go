package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestLockReadModifyWrite: 32 processes each run kv lock L -- sh -c '...'
// several times (20 with KV_TORTURE=long, 2 otherwise: the locked
// sections run one at a time, four processes each), where the command is
// a read-modify-write made of separate kv get and kv set processes.
// Without the lock, increments would be lost; with it, the counter ends
// exact, and every acquisition got its own fencing token.
func TestLockReadModifyWrite(t *testing.T) {
	bin := kvBinary(t)
	dir := filepath.Join(t.TempDir(), "store")
	procs, rounds := 32, 2
	if longTorture() {
		rounds = 20
	}
	script := fmt.Sprintf(`n=$(%[1]q -d %[2]q get n 2>/dev/null || echo 0) && %[1]q -d %[2]q set n $((n + 1)) && echo "$KV_LOCK_REV"`, bin, dir)
	var wg sync.WaitGroup
	tokens := make([][]string, procs)
	errs := make(chan string, procs)
	for p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				r := runKV(t, bin, nil, "-d", dir, "lock", "counter", "--", "sh", "-c", script)
				if r.code != 0 {
					errs <- fmt.Sprintf("process %d: %v", p, r)
					return
				}
				tokens[p] = append(tokens[p], strings.TrimSpace(string(r.stdout)))
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if t.Failed() {
		return
	}
	r := runKV(t, bin, nil, "-d", dir, "get", "n")
	if got, want := strings.TrimSpace(string(r.stdout)), fmt.Sprint(procs*rounds); got != want {
		t.Fatalf("counter %s after %d locked increments", got, procs*rounds)
	}
	seen := map[string]bool{}
	for _, ts := range tokens {
		for _, tok := range ts {
			if seen[tok] {
				t.Fatalf("token %s given twice", tok)
			}
			seen[tok] = true
		}
	}
}
