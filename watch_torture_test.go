package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestWatchSeesOnlyWholeBatches: kv watch runs while a kv load, writing
// batches of about 60 keys, is SIGKILLed part way. Every put the watch
// reported is in the store afterwards at the same revision, and every key
// in the store was reported: no batch was reported in part, and none
// that did not commit.
func TestWatchSeesOnlyWholeBatches(t *testing.T) {
	bin := kvBinary(t)
	dir := filepath.Join(t.TempDir(), "store")
	if r := runKV(t, bin, nil, "-d", dir, "set", "start", "1"); r.code != 0 {
		t.Fatalf("set: %v", r)
	}
	watch := kvCmd(bin, nil, "-d", dir, "watch", "--rev", "2", "--prefix", "")
	var out bytes.Buffer
	watch.Stdout = &out
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	var input bytes.Buffer
	for i := range 200000 {
		fmt.Fprintf(&input, "{\"key\":\"k%06d\",\"value\":\"v%d\"}\n", i, i)
	}
	load := kvCmd(bin, input.Bytes(), "-d", dir, "load", "--batch-bytes", "2000")
	if err := load.Start(); err != nil {
		t.Fatal(err)
	}
	// Kill it once some batches are in, whatever the machine's speed.
	for {
		r := runKV(t, bin, nil, "-d", dir, "stats", "--format", "json")
		var st struct{ Revision uint64 }
		json.Unmarshal(r.stdout, &st)
		if st.Revision >= 5 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	load.Process.Kill()
	load.Wait()
	if r := runKV(t, bin, nil, "-d", dir, "set", "end", "1"); r.code != 0 {
		t.Fatalf("set after the kill: %v", r)
	}
	// The watch has reported everything once it reported end.
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(out.String(), `"key":"end"`) {
		if time.Now().After(deadline) {
			t.Fatalf("the watch never reported the last write; it printed %d bytes", out.Len())
		}
		time.Sleep(20 * time.Millisecond)
	}
	watch.Process.Kill()
	watch.Wait()

	reported := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(out.Bytes()))
	for sc.Scan() {
		var ev struct {
			Event, Key string
			Revision   uint64
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.Event != "put" {
			t.Fatalf("event %s: %v", sc.Bytes(), err)
		}
		if ev.Key != "end" {
			reported[ev.Key] = ev.Revision
		}
	}
	dump := runKV(t, bin, nil, "-d", dir, "dump", "--format", "jsonl")
	stored := map[string]uint64{}
	sc = bufio.NewScanner(bytes.NewReader(dump.stdout))
	for sc.Scan() {
		var e struct {
			Key         string
			ModRevision uint64 `json:"mod_revision"`
		}
		json.Unmarshal(sc.Bytes(), &e)
		if e.Key != "start" && e.Key != "end" {
			stored[e.Key] = e.ModRevision
		}
	}
	// Cut part way, or (on a machine fast enough to finish before the
	// kill) whole: the checks hold either way.
	t.Logf("%d of 200000 keys stored, %d puts reported", len(stored), len(reported))
	for k, rev := range reported {
		if stored[k] != rev {
			t.Fatalf("watch reported %s at revision %d; the store has it at %d", k, rev, stored[k])
		}
	}
	for k := range stored {
		if _, ok := reported[k]; !ok {
			t.Fatalf("%s is in the store but was never reported", k)
		}
	}
}
