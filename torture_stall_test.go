package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kvtool/kv/internal/testsummary"
	"github.com/kvtool/kv/pkg/kv"
)

// TestTortureStalledPipes: the lock guards the store's consistency, not
// the speed of whoever is at the other end of a pipe. A kv dump of a
// large store paused on a full pipe (kv dump | less) must not keep a
// writer, nor a compaction, out; once resumed it prints exactly the store
// as it was when the dump began. A kv load waiting for more input
// (slow_producer | kv load) must not keep readers out between batches.
func TestTortureStalledPipes(t *testing.T) {
	bin := kvBinary(t)
	dir := filepath.Join(t.TempDir(), "store")
	n := 200_000
	if os.Getenv("KV_TORTURE") == "long" {
		n = 1_000_000
	}
	db, err := kv.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b kv.Batch
	for i := range n {
		b.Set(fmt.Appendf(nil, "key%07d", i), []byte("v"))
	}
	if err := db.Apply(&b); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A dump that has printed its first byte and then stalls: nobody
	// reads its pipe, which fills and blocks it.
	dump := kvCmd(bin, nil, "-d", dir, "dump", "--format", "tsv")
	out, err := dump.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var dumpErr bytes.Buffer
	dump.Stderr = &dumpErr
	if err := dump.Start(); err != nil {
		t.Fatal(err)
	}
	defer dump.Process.Kill()
	r := bufio.NewReaderSize(out, 1)
	if _, err := r.ReadByte(); err != nil {
		t.Fatalf("the dump printed nothing: %v %s", err, dumpErr.Bytes())
	}
	// Writers and a compaction go through while it is paused. The lock
	// timeout only bounds the test on a loaded machine: a dump holding
	// the lock would hold it for ever.
	for _, args := range [][]string{{"set", "during", "dump"}, {"del", "key0000000"}, {"compact"}} {
		if res := runKV(t, bin, nil, append([]string{"-d", dir, "--lock-timeout", "30s"}, args...)...); res.code != 0 {
			t.Fatalf("kv %s while a dump is paused on a full pipe: %v", args[0], res)
		}
	}
	// Resumed, the dump prints the store as it was when it began.
	rest, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := dump.Wait(); err != nil {
		t.Fatalf("the dump failed: %v %s", err, dumpErr.Bytes())
	}
	got := append([]byte{'k'}, rest...)
	if lines := bytes.Count(got, []byte("\n")); lines != n {
		t.Fatalf("the resumed dump printed %d lines, want the %d of the store it began on", lines, n)
	}
	if !bytes.HasPrefix(got, []byte("key0000000\tv\n")) || bytes.Contains(got, []byte("during")) {
		t.Fatalf("the resumed dump is not the store it began on: starts %q", got[:min(len(got), 40)])
	}

	// A load between batches, waiting for input, lets readers in.
	load := kvCmd(bin, nil, "-d", dir, "load", "--format", "tsv", "--batch-bytes", "1")
	in, err := load.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var loadErr bytes.Buffer
	load.Stderr = &loadErr
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	defer load.Process.Kill()
	if _, err := io.WriteString(in, "first\t1\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		res := runKV(t, bin, nil, "-d", dir, "--lock-timeout", "30s", "get", "first")
		if res.code == 0 {
			break
		}
		if res.code != 1 || time.Now().After(deadline) {
			t.Fatalf("kv get while a load waits for input: %v (load: %s)", res, loadErr.Bytes())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res := runKV(t, bin, nil, "-d", dir, "--lock-timeout", "30s", "set", "beside", "load"); res.code != 0 {
		t.Fatalf("kv set while a load waits for input: %v", res)
	}
	io.WriteString(in, "second\t2\n")
	in.Close()
	if err := load.Wait(); err != nil {
		t.Fatalf("the load failed: %v %s", err, loadErr.Bytes())
	}
	if res := runKV(t, bin, nil, "-d", dir, "get", "second"); res.code != 0 || string(res.stdout) != "2\n" {
		t.Fatalf("after the load: %v", res)
	}
	testsummary.Log(t, "torture: stalled pipes: a dump of %d keys paused on a full pipe let a set, a del and a compact through and then printed its own snapshot; a load waiting for input let a get and a set through", n)
}
