//go:build unix

package main

// The process-level torture tests: real kv processes (this test binary run
// as kv, see TestMain) killed with SIGKILL at random moments, sixteen
// writers at once beside readers and compactions, and the lock's classic
// traps. KV_TORTURE=long runs the long version.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/kvtool/kv/internal/testsummary"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
)

func longTorture() bool { return os.Getenv("KV_TORTURE") == "long" }

// kvBinary is the kv that the tests start: this test binary, which
// testscript.Main put on $PATH under that name.
func kvBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("kv")
	if err != nil {
		t.Fatalf("kv is not on $PATH (TestMain installs it): %v", err)
	}
	return p
}

// kvRun is the outcome of one kv process.
type kvRun struct {
	code     int // exit status; -1 when killed by a signal
	killed   bool
	stdout   []byte
	stderr   []byte
	duration time.Duration
}

func (r kvRun) String() string {
	if r.killed {
		return "killed"
	}
	return fmt.Sprintf("exit %d, stderr %q", r.code, bytes.TrimSpace(r.stderr))
}

// kvCmd prepares kv ARGS with stdin; the environment is the test's, with
// no configuration file and the default lock timeout.
func kvCmd(bin string, stdin []byte, args ...string) *exec.Cmd {
	c := exec.Command(bin, args...)
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	c.Env = append(os.Environ(), "KV_CONFIG=", "KV_LOCK_TIMEOUT=", "KV_SYNC=", "KV_FORMAT=", "KV_DIR=")
	return c
}

// finish waits for a started command and classifies its end.
func finish(c *exec.Cmd, start time.Time, stdout, stderr *bytes.Buffer) (kvRun, error) {
	err := c.Wait()
	r := kvRun{stdout: stdout.Bytes(), stderr: stderr.Bytes(), duration: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.killed, r.code = true, -1
		} else {
			r.code = ee.ExitCode()
		}
	default:
		return r, err
	}
	return r, nil
}

// runKV runs kv to completion. A failure to start or wait for it comes
// back as exit status -2 with the error as stderr (runKV is called from
// goroutines, which must not call t.Fatal).
func runKV(t *testing.T, bin string, stdin []byte, args ...string) kvRun {
	t.Helper()
	c := kvCmd(bin, stdin, args...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	start := time.Now()
	if err := c.Start(); err != nil {
		return kvRun{code: -2, stderr: []byte(err.Error())}
	}
	r, err := finish(c, start, &stdout, &stderr)
	if err != nil {
		return kvRun{code: -2, stderr: []byte(err.Error())}
	}
	return r
}

// tortureOp is one command a writer lane runs.
type tortureOp struct {
	kind  string // "set", "del", "batch", "compact"
	key   string // set, del
	value string // set
	batch []batchLine
	// expiresAt is a set's --expires-at, one of edgeExpiries.
	expiresAt string
}

// edgeExpiries are the expiry times at the edges of what a store records:
// "never" written as the year 9999, just past the int64-nanosecond range,
// and the epoch and year 1, which are long past (a set with one of those
// reads as a delete).
var edgeExpiries = []struct {
	at   string
	past bool
}{
	{"9999-12-31T23:59:59Z", false},
	{"2262-04-12", false},
	{"2300-01-01T00:00:00Z", false},
	{"1970-01-01T00:00:00Z", true},
	{"0001-01-01T00:00:00Z", true},
}

func expiryIsPast(at string) bool {
	for _, e := range edgeExpiries {
		if e.at == at {
			return e.past
		}
	}
	return false
}

type batchLine struct {
	del        bool
	key, value string
}

func (o tortureOp) args(dir string) ([]string, []byte) {
	switch o.kind {
	case "set":
		// The value on stdin, byte for byte (large values do not fit
		// in an argument).
		if o.expiresAt != "" {
			return []string{"-d", dir, "set", "--expires-at", o.expiresAt, o.key}, []byte(o.value)
		}
		return []string{"-d", dir, "set", o.key}, []byte(o.value)
	case "del":
		return []string{"-d", dir, "del", o.key}, nil
	case "batch":
		var b bytes.Buffer
		for _, l := range o.batch {
			if l.del {
				fmt.Fprintf(&b, "del %s\n", l.key)
			} else {
				fmt.Fprintf(&b, "set %s %s\n", l.key, l.value)
			}
		}
		return []string{"-d", dir, "batch"}, b.Bytes()
	}
	return []string{"-d", dir, "compact"}, nil
}

// apply returns m with o applied.
func (o tortureOp) apply(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	switch o.kind {
	case "set":
		out[o.key] = o.value
		if expiryIsPast(o.expiresAt) {
			delete(out, o.key)
		}
	case "del":
		delete(out, o.key)
	case "batch":
		for _, l := range o.batch {
			if l.del {
				delete(out, l.key)
			} else {
				out[l.key] = l.value
			}
		}
	}
	return out
}

// tortureLane is a sequence of commands on its own keys. model holds
// every acknowledged write (exit 0); pending is the command killed in the
// last round, which may or may not have reached the store.
type tortureLane struct {
	id      int
	keys    []string
	model   map[string]string
	pending *tortureOp
	rng     *rand.Rand
	version int

	mu      sync.Mutex
	stopped bool
	cur     *exec.Cmd
}

// value returns a value for key: a unique prefix, then letters to size.
func (l *tortureLane) value(key string) string {
	l.version++
	size := 4 + l.rng.IntN(200)
	switch r := l.rng.IntN(10); {
	case r < 3:
		size = 32<<10 + l.rng.IntN(600<<10)
	case r < 4:
		size = 1000 + l.rng.IntN(8000)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s-v%d-", key, l.version)
	c := byte('a' + l.version%26)
	for b.Len() < size {
		b.WriteByte(c)
		c = 'a' + (c-'a'+7)%26
	}
	return b.String()
}

// next picks the lane's next command.
func (l *tortureLane) next() tortureOp {
	key := func() string { return l.keys[l.rng.IntN(len(l.keys))] }
	switch r := l.rng.IntN(100); {
	case r < 8:
		return tortureOp{kind: "compact"}
	case r < 11:
		// A batch beyond the 4 MiB flush threshold: written as a table
		// of its own (ingest).
		o := tortureOp{kind: "batch"}
		for _, k := range l.keys[:5] {
			v := l.value(k)
			v += strings.Repeat("z", 1000<<10-len(v))
			o.batch = append(o.batch, batchLine{key: k, value: v})
		}
		return o
	case r < 35:
		o := tortureOp{kind: "batch"}
		for n := 2 + l.rng.IntN(3); n > 0; n-- {
			k := key()
			if l.rng.IntN(4) == 0 {
				o.batch = append(o.batch, batchLine{del: true, key: k})
			} else {
				o.batch = append(o.batch, batchLine{key: k, value: l.value(k)})
			}
		}
		return o
	case r < 45:
		return tortureOp{kind: "del", key: key()}
	case r < 50:
		k := key()
		return tortureOp{kind: "set", key: k, value: l.value(k), expiresAt: edgeExpiries[l.rng.IntN(len(edgeExpiries))].at}
	}
	k := key()
	return tortureOp{kind: "set", key: k, value: l.value(k)}
}

// laneStats are a lane's figures for one round.
type laneStats struct {
	acked  int
	killed *tortureOp
	err    error
}

// run runs commands until stop kills the one in flight.
func (l *tortureLane) run(bin, dir string) laneStats {
	var st laneStats
	for {
		o := l.next()
		args, stdin := o.args(dir)
		c := kvCmd(bin, stdin, args...)
		var stdout, stderr bytes.Buffer
		c.Stdout, c.Stderr = &stdout, &stderr
		l.mu.Lock()
		if l.stopped {
			l.mu.Unlock()
			return st
		}
		start := time.Now()
		if err := c.Start(); err != nil {
			l.mu.Unlock()
			st.err = err
			return st
		}
		l.cur = c
		l.mu.Unlock()
		r, err := finish(c, start, &stdout, &stderr)
		l.mu.Lock()
		l.cur = nil
		l.mu.Unlock()
		switch {
		case err != nil:
			st.err = err
			return st
		case r.killed:
			st.killed = &o
			return st
		case r.code != 0:
			st.err = fmt.Errorf("lane %d: kv %s: %v", l.id, strings.Join(args[2:], " "), r)
			return st
		}
		st.acked++
		l.model = o.apply(l.model)
	}
}

// stop kills the lane's command in flight, if any, and lets no other start.
func (l *tortureLane) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.stopped = true
	if l.cur != nil {
		_ = l.cur.Process.Signal(syscall.SIGKILL)
	}
}

// resolve compares the lane's keys in db with its model, with or without
// the pending command applied, and settles the model.
func (l *tortureLane) resolve(db *kv.DB) (applied bool, err error) {
	got := map[string]string{}
	for _, k := range l.keys {
		v, err := db.Get([]byte(k))
		switch {
		case err == nil:
			got[k] = string(v)
		case !errors.Is(err, kv.ErrNotFound):
			return false, fmt.Errorf("lane %d: Get(%s): %v", l.id, k, err)
		}
	}
	same := func(a, b map[string]string) bool {
		if len(a) != len(b) {
			return false
		}
		for k, v := range a {
			if w, ok := b[k]; !ok || w != v {
				return false
			}
		}
		return true
	}
	pending := l.pending
	l.pending = nil
	if same(got, l.model) {
		return false, nil
	}
	if pending != nil {
		if after := pending.apply(l.model); same(got, after) {
			l.model = after
			return true, nil
		}
	}
	var diffs []string
	for _, k := range l.keys {
		g, gok := got[k]
		w, wok := l.model[k]
		if gok != wok || g != w {
			diffs = append(diffs, fmt.Sprintf("%s: have %.24q (%v), acknowledged %.24q (%v)", k, g, gok, w, wok))
		}
	}
	pk := "none"
	if pending != nil {
		pk = pending.kind
	}
	return false, fmt.Errorf("lane %d: contents are neither the acknowledged writes nor those plus the killed %s: %s", l.id, pk, strings.Join(diffs, "; "))
}

// verifyReport is the part of kv verify --format json the test reads.
type verifyReport struct {
	Problems []json.RawMessage `json:"problems"`
	Notes    []string          `json:"notes"`
}

// hostile are changes to a store's directory, made between rounds of
// TestTortureKills, that must cost no acknowledged write and leave the
// store usable and verifying.
var hostile = []struct {
	name string
	do   func(t *testing.T, dir string)
}{
	{"FIFO named LOCK", func(t *testing.T, dir string) {
		p := filepath.Join(dir, "LOCK")
		_ = os.Remove(p)
		if err := syscall.Mkfifo(p, 0o600); err != nil {
			t.Fatalf("mkfifo %s: %v", p, err)
		}
	}},
	{"stray files past the largest file number", func(t *testing.T, dir string) {
		for _, n := range []string{"18446744073709551615.sst", "99999999999999999999.wal", "4611686018427387905.sst"} {
			if err := os.WriteFile(filepath.Join(dir, n), []byte("stray"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}},
	{"log extended by a 3 GiB hole", func(t *testing.T, dir string) {
		man, err := manifest.Read(vfs.Default, dir)
		if err != nil {
			t.Fatalf("read manifest: %v", err)
		}
		p := filepath.Join(dir, manifest.WALName(man.WAL))
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(p, st.Size()+3<<30); err != nil {
			t.Fatal(err)
		}
	}},
}

// TestTortureKills starts kv writers (single sets and deletes, multi-key
// batches, batches large enough to be written as tables, and compactions;
// flushes follow from the 4 MiB log threshold) in two concurrent lanes,
// SIGKILLs every process in flight at a random moment, and then checks
// that kv verify exits 0 and that every lane's keys hold exactly its
// acknowledged writes, plus or minus the whole of the killed command.
// Some sets carry expiries at the edges of the recorded range, and every
// 10th round (every round with KV_TORTURE=long) ends with a hostile change
// to the directory. 200 kills (KV_TORTURE=long: 2,000).
func TestTortureKills(t *testing.T) {
	bin := kvBinary(t)
	target := 200
	if longTorture() {
		target = 2000
	}
	dir := filepath.Join(t.TempDir(), "store")
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("KV_TORTURE_SEED"); s != "" {
		if _, err := fmt.Sscan(s, &seed); err != nil {
			t.Fatalf("KV_TORTURE_SEED=%q: %v", s, err)
		}
	}
	t.Logf("seed %d (KV_TORTURE_SEED=%d repeats the choices, not the timing)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	var lanes []*tortureLane
	for i := 0; i < 2; i++ {
		l := &tortureLane{id: i, model: map[string]string{}, rng: rand.New(rand.NewPCG(seed, uint64(10+i)))}
		for k := 0; k < 8; k++ {
			l.keys = append(l.keys, fmt.Sprintf("l%dk%d", i, k))
		}
		lanes = append(lanes, l)
	}
	var (
		kills, rounds, acked, applied, notApplied, torn, leftovers, rotations, hostileDone int
		killedBy                                                                           = map[string]int{}
		lastWAL                                                                            uint64
	)
	start := time.Now()
	for kills < target {
		rounds++
		results := make([]laneStats, len(lanes))
		var wg sync.WaitGroup
		for i, l := range lanes {
			l.stopped = false
			wg.Add(1)
			go func() {
				defer wg.Done()
				results[i] = l.run(bin, dir)
			}()
		}
		// A random moment: often early (opening, waiting for the lock,
		// the first write), sometimes after several commands.
		time.Sleep(time.Duration(rng.ExpFloat64() * float64(100*time.Millisecond)))
		for _, l := range lanes {
			l.stop()
		}
		wg.Wait()
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("round %d: %v", rounds, r.err)
			}
			acked += r.acked
			if r.killed != nil {
				kills++
				killedBy[r.killed.kind]++
				lanes[i].pending = r.killed
			}
		}
		rep := runKV(t, bin, nil, "-d", dir, "verify", "--format", "json")
		if rep.code != 0 {
			t.Fatalf("round %d (%d kills): kv verify: %v\n%s", rounds, kills, rep, rep.stdout)
		}
		var vr verifyReport
		if err := json.Unmarshal(rep.stdout, &vr); err != nil || len(vr.Problems) != 0 {
			t.Fatalf("round %d: verify report %s: %v", rounds, rep.stdout, err)
		}
		for _, n := range vr.Notes {
			switch {
			case strings.Contains(n, "torn tail"):
				torn++
			case strings.Contains(n, "not named by the manifest"):
				leftovers++
			}
		}
		if man, err := manifest.Read(vfs.Default, dir); err == nil {
			if man.WAL != lastWAL {
				rotations++
				lastWAL = man.WAL
			}
		}
		db, err := kv.Open(dir, &kv.Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("round %d: open: %v", rounds, err)
		}
		for _, l := range lanes {
			was := l.pending != nil && l.pending.kind != "compact"
			if !was {
				l.pending = nil
			}
			ok, err := l.resolve(db)
			if err != nil {
				db.Close()
				t.Fatalf("round %d (%d kills so far): %v", rounds, kills, err)
			}
			switch {
			case ok:
				applied++
			case was:
				notApplied++
			}
		}
		db.Close()
		if longTorture() || rounds%10 == 0 {
			hostile[rng.IntN(len(hostile))].do(t, dir)
			hostileDone++
		}
	}
	// The CLI reads back the last acknowledged state too.
	for _, l := range lanes {
		for _, k := range l.keys {
			r := runKV(t, bin, nil, "-d", dir, "get", "-n", k)
			want, ok := l.model[k]
			if (ok && (r.code != 0 || string(r.stdout) != want)) || (!ok && r.code != 1) {
				t.Fatalf("kv get %s: %v, %.24q; want %.24q (present %v)", k, r, r.stdout, want, ok)
			}
		}
	}
	testsummary.Log(t, "torture: kills: %d kv processes SIGKILLed (%s) at %d random moments in %.0fs; kv verify exit 0 after %d/%d (the kills left %d torn tails and %d leftover files, cleaned by the next writer); %d acknowledged writes (some with expiries at the recorded range's edges), 0 lost, 0 batches half-applied; %d killed writes had reached the store whole, %d not at all; %d log rotations (flushes, ingests, compactions); %d hostile changes to the directory between rounds (a FIFO named LOCK, stray files named past the largest file number, a log extended by a 3 GiB hole)",
		kills, countsString(killedBy), rounds, time.Since(start).Seconds(), rounds, rounds, torn, leftovers, acked, applied, notApplied, rotations, hostileDone)
}

func countsString(m map[string]int) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// TestTortureConcurrency runs 16 writer processes at once, each running
// 50 kv set of its own keys one after another, while readers run kv get,
// kv dump and kv compact in a loop, all with the default lock timeout.
// Every set must exit 0 and be present afterwards; no reader may fail (a
// get exits 0 with the written value, or 1 for a key not yet written); a
// dump shows each writer's keys as a prefix of its sequence (acknowledged
// in order); nothing reports a lock timeout.
func TestTortureConcurrency(t *testing.T) {
	bin := kvBinary(t)
	dir := filepath.Join(t.TempDir(), "store")
	const writers, sets = 16, 50
	if r := runKV(t, bin, nil, "-d", dir, "set", "seed", "present"); r.code != 0 {
		t.Fatalf("seed: %v", r)
	}
	key := func(w, i int) string { return fmt.Sprintf("w%02d-%03d", w, i) }
	value := func(w, i int) string { return fmt.Sprintf("value-%d-%d-%s", w, i, strings.Repeat("x", (w*sets+i)%300)) }
	var (
		mu       sync.Mutex
		failures []string
		counts   = map[string]int{}
		slowest  = map[string]time.Duration{}
	)
	record := func(kind string, r kvRun, bad string) {
		mu.Lock()
		defer mu.Unlock()
		counts[kind]++
		slowest[kind] = max(slowest[kind], r.duration)
		if r.code == 3 || bytes.Contains(r.stderr, []byte("lock")) {
			bad = fmt.Sprintf("%s: lock timeout or lock error: %v", kind, r)
		}
		if bad != "" && len(failures) < 20 {
			failures = append(failures, bad)
		}
	}
	done := make(chan struct{})
	var readers sync.WaitGroup
	reader := func(kind string, run func(rng *rand.Rand) (kvRun, string)) {
		readers.Add(1)
		go func() {
			defer readers.Done()
			rng := rand.New(rand.NewPCG(uint64(len(kind)), 3))
			for {
				select {
				case <-done:
					return
				default:
				}
				r, bad := run(rng)
				record(kind, r, bad)
				time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond)
			}
		}()
	}
	getter := func(rng *rand.Rand) (kvRun, string) {
		w, i := rng.IntN(writers), rng.IntN(sets)
		r := runKV(t, bin, nil, "-d", dir, "get", "-n", key(w, i))
		switch {
		case r.code == 0 && string(r.stdout) == value(w, i):
		case r.code == 1 && len(r.stdout) == 0:
		default:
			return r, fmt.Sprintf("get %s: %v, stdout %.30q", key(w, i), r, r.stdout)
		}
		if rng.IntN(4) == 0 {
			if r := runKV(t, bin, nil, "-d", dir, "get", "seed"); r.code != 0 || string(r.stdout) != "present\n" {
				return r, fmt.Sprintf("get seed: %v, stdout %q", r, r.stdout)
			}
		}
		return r, ""
	}
	dumper := func(*rand.Rand) (kvRun, string) {
		r := runKV(t, bin, nil, "-d", dir, "dump", "--format", "jsonl")
		if r.code != 0 {
			return r, fmt.Sprintf("dump: %v", r)
		}
		return r, checkDump(r.stdout, writers, sets, key, value)
	}
	compactor := func(*rand.Rand) (kvRun, string) {
		r := runKV(t, bin, nil, "-d", dir, "compact")
		if r.code != 0 {
			return r, fmt.Sprintf("compact: %v", r)
		}
		return r, ""
	}
	// Meanwhile a file named LOCK (what earlier versions locked) is
	// deleted, recreated, replaced by rename and made a FIFO, over and
	// over: with the lock on the directory itself, nothing of this may
	// let two writers in at once or lose a write.
	var churns int
	readers.Add(1)
	go func() {
		defer readers.Done()
		lock := filepath.Join(dir, "LOCK")
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			os.Remove(lock)
			switch i % 3 {
			case 0:
				os.WriteFile(lock, nil, 0o600)
			case 1:
				tmp := lock + ".new"
				if os.WriteFile(tmp, nil, 0o600) == nil {
					os.Rename(tmp, lock)
				}
			case 2:
				unix.Mkfifo(lock, 0o600)
			}
			churns++
			time.Sleep(time.Millisecond)
		}
	}()
	reader("get", getter)
	reader("get", getter)
	reader("dump", dumper)
	reader("compact", compactor)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < sets; i++ {
				r := runKV(t, bin, nil, "-d", dir, "set", key(w, i), value(w, i))
				bad := ""
				if r.code != 0 {
					bad = fmt.Sprintf("set %s: %v", key(w, i), r)
				}
				record("set", r, bad)
				if bad != "" {
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(done)
	readers.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), strings.Join(failures, "\n"))
	}
	r := runKV(t, bin, nil, "-d", dir, "dump", "--format", "jsonl")
	if r.code != 0 {
		t.Fatalf("final dump: %v", r)
	}
	if bad := checkDump(r.stdout, writers, sets, key, value); bad != "" {
		t.Fatal(bad)
	}
	if n := bytes.Count(r.stdout, []byte("\n")); n != writers*sets+1 {
		t.Fatalf("final dump has %d keys, want %d", n, writers*sets+1)
	}
	if r := runKV(t, bin, nil, "-d", dir, "verify"); r.code != 0 {
		t.Fatalf("verify: %v\n%s", r, r.stdout)
	}
	testsummary.Log(t, "torture: concurrency: %d writer processes at once × %d kv set = %d sets in %.1fs, all exit 0 and present afterwards, beside %d kv get, %d kv dump, %d kv compact and %d deletions and replacements of a file named LOCK, 0 failures, 0 lock timeouts (default %v; slowest set %.2fs, get %.2fs, dump %.2fs, compact %.2fs)",
		writers, sets, counts["set"], elapsed.Seconds(), counts["get"], counts["dump"], counts["compact"], churns, kv.DefaultLockTimeout,
		slowest["set"].Seconds(), slowest["get"].Seconds(), slowest["dump"].Seconds(), slowest["compact"].Seconds())
}

// checkDump checks a jsonl dump taken while the writers run: the seed is
// there, every value is the one written, and each writer's keys are a
// prefix of its sequence (it writes them in order, each acknowledged
// before the next starts).
func checkDump(out []byte, writers, sets int, key func(w, i int) string, value func(w, i int) string) string {
	have := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var e struct{ Key, Value string }
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return fmt.Sprintf("dump line %q: %v", sc.Text(), err)
		}
		have[e.Key] = e.Value
	}
	if have["seed"] != "present" {
		return "dump lacks the seed key"
	}
	for w := 0; w < writers; w++ {
		gap := -1
		for i := 0; i < sets; i++ {
			v, ok := have[key(w, i)]
			switch {
			case ok && v != value(w, i):
				return fmt.Sprintf("dump: %s = %.30q, want %.30q", key(w, i), v, value(w, i))
			case ok && gap >= 0:
				return fmt.Sprintf("dump: %s present but %s, written and acknowledged before it, missing", key(w, i), key(w, gap))
			case !ok && gap < 0:
				gap = i
			}
		}
	}
	return ""
}

// TestTortureLockTraps checks the directory lock against the classic ways to lose
// it: closing a second descriptor of what is locked inside the holder (which
// releases POSIX fcntl locks), a failed second open of the store in the
// holder's process, a lock file deleted or replaced under the holder, and
// the holder's death.
func TestTortureLockTraps(t *testing.T) {
	bin := kvBinary(t)
	dir := filepath.Join(t.TempDir(), "store")
	// What the engine locks: the data directory itself.
	lockFile := dir
	// Another process must not get the lock: kv exits 3 (lock not
	// acquired in time).
	otherProcessBlocked := func(what string) {
		t.Helper()
		for _, args := range [][]string{{"get", "k"}, {"set", "k", "other"}} {
			r := runKV(t, bin, nil, append([]string{"-d", dir, "--lock-timeout", "200ms"}, args...)...)
			if r.code != 3 {
				t.Fatalf("%s: kv %s from another process: %v, want exit 3 (lock not acquired)", what, args[0], r)
			}
		}
	}
	// Nor may a new open file description in this process.
	freshDescriptionBlocked := func(what string, exclusiveOnly bool) {
		t.Helper()
		f, err := os.Open(lockFile)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		modes := map[string]int{"exclusive": unix.LOCK_EX}
		if !exclusiveOnly {
			modes["shared"] = unix.LOCK_SH
		}
		for name, how := range modes {
			if err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
				t.Fatalf("%s: %s flock from a fresh open file description: %v, want EWOULDBLOCK", what, name, err)
			}
		}
	}
	traps := 0
	for _, ro := range []bool{false, true} {
		holder := "writer"
		if ro {
			holder = "reader"
			if r := runKV(t, bin, nil, "-d", dir, "set", "k", "v"); r.code != 0 {
				t.Fatal(r)
			}
		}
		db, err := kv.Open(dir, &kv.Options{ReadOnly: ro})
		if err != nil {
			t.Fatal(err)
		}
		// Trap 1: open and close the locked directory again in the holder.
		f, err := os.Open(lockFile)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if ro {
			// A shared holder lets other readers in, but no writer.
			if r := runKV(t, bin, nil, "-d", dir, "--lock-timeout", "200ms", "set", "k", "other"); r.code != 3 {
				t.Fatalf("%s holder, after closing a second descriptor: kv set: %v, want exit 3", holder, r)
			}
			freshDescriptionBlocked(holder+" holder, after closing a second descriptor", true)
		} else {
			otherProcessBlocked(holder + " holder, after closing a second descriptor")
			freshDescriptionBlocked(holder+" holder, after closing a second descriptor", false)
		}
		traps++
		// Trap 2: a second handle in the same process fails to get the
		// lock (or, for readers, gets it and closes it).
		if db2, err := kv.Open(dir, &kv.Options{LockTimeout: -1}); err == nil {
			db2.Close()
			t.Fatalf("%s holder: a second writer handle in the same process got the lock", holder)
		} else if !errors.Is(err, kv.ErrLocked) {
			t.Fatalf("%s holder: second handle: %v", holder, err)
		}
		if ro {
			db2, err := kv.Open(dir, &kv.Options{ReadOnly: true, LockTimeout: -1})
			if err != nil {
				t.Fatalf("a second reader handle: %v", err)
			}
			db2.Close()
			if r := runKV(t, bin, nil, "-d", dir, "--lock-timeout", "200ms", "set", "k", "other"); r.code != 3 {
				t.Fatalf("after a second reader handle closed: kv set: %v, want exit 3", r)
			}
		} else {
			otherProcessBlocked(holder + " holder, after a second handle failed to open")
		}
		traps++
		// Trap 3: the LOCK file of earlier kv versions deleted and
		// replaced under the holder (a new inode that a new process
		// could lock) changes nothing.
		for i := 0; i < 2; i++ {
			legacy := filepath.Join(dir, "LOCK")
			os.Remove(legacy)
			if err := os.WriteFile(legacy, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			os.Remove(legacy)
		}
		if ro {
			if r := runKV(t, bin, nil, "-d", dir, "--lock-timeout", "200ms", "set", "k", "other"); r.code != 3 {
				t.Fatalf("%s holder, after LOCK was deleted and replaced: kv set: %v, want exit 3", holder, r)
			}
		} else {
			otherProcessBlocked(holder + " holder, after LOCK was deleted and replaced")
		}
		traps++
		db.Close()
		// Released: another process gets in at once.
		if r := runKV(t, bin, nil, "-d", dir, "--lock-timeout", "0", "set", "k", "v"); r.code != 0 {
			t.Fatalf("after the %s holder closed: %v", holder, r)
		}
	}
	// Trap 4: a holder killed with SIGKILL releases the lock (the kernel
	// drops flock locks with the last descriptor).
	kills := 0
	for _, mode := range []string{"", "shared"} {
		held := dir + ".held"
		os.Remove(held)
		args := []string{dir, "1m"}
		if mode != "" {
			args = append(args, mode)
		}
		c := exec.Command(filepath.Join(filepath.Dir(bin), "kvlock"), args...)
		var stderr bytes.Buffer
		c.Stderr = &stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := os.Stat(held); err == nil {
				break
			}
			if time.Now().After(deadline) {
				c.Process.Kill()
				c.Wait()
				t.Fatalf("kvlock did not take the lock: %s", stderr.Bytes())
			}
			time.Sleep(5 * time.Millisecond)
		}
		if r := runKV(t, bin, nil, "-d", dir, "--lock-timeout", "100ms", "set", "k", "blocked"); r.code != 3 {
			t.Fatalf("kvlock %s holds the lock, yet kv set: %v", mode, r)
		}
		c.Process.Signal(syscall.SIGKILL)
		c.Wait()
		kills++
		// A lock the kernel failed to drop would never come free: the
		// timeout only bounds the test on a loaded machine.
		if r := runKV(t, bin, nil, "-d", dir, "--lock-timeout", "10s", "set", "k", "after"); r.code != 0 {
			t.Fatalf("after killing the %s holder: kv set: %v", mode, r)
		}
	}
	testsummary.Log(t, "torture: lock traps: %d held-lock traps (a second descriptor of the locked directory opened and closed inside the holder, a second handle in the holder's process, LOCK deleted and replaced; writer and reader holders) leave the lock held against other processes (exit 3) and fresh flock attempts (EWOULDBLOCK); %d SIGKILLed holders (exclusive, shared) release it at once", traps, kills)
}
