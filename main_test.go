package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kvtool/kv/cmd"
	"github.com/kvtool/kv/internal/scripttest"
	"github.com/kvtool/kv/pkg/kv"
)

// helperCommands are the programs a script can exec: the test binary acts
// as each of them when run under its name. main_unix_test.go adds kvumask.
var helperCommands = map[string]func(){
	"kv":           runKVWithTestClock,
	"kvlock":       holdLock,
	"exitcode":     scripttest.ExitCode,
	"stdoutto":     func() { scripttest.RunWithStdout(true) },
	"stdoutclosed": func() { scripttest.RunWithStdout(false) },
}

// testClockEnv names the test harness's clock: an RFC 3339 time that
// scripts set so that tests of expiry never sleep. Only the test binary
// reads it (TestNoProductionClockHook); the kv binary's clock is the
// system's.
const testClockEnv = "KV_NOW"

// runKVWithTestClock runs kv as the kv binary does, with the clock fixed
// at $KV_NOW when that is set.
func runKVWithTestClock() {
	now := time.Now
	if s := os.Getenv(testClockEnv); s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			fmt.Fprintf(os.Stderr, "kv (test harness): invalid %s %q: %v\n", testClockEnv, s, err)
			os.Exit(cmd.ExitUsage)
		}
		now = func() time.Time { return t }
	}
	os.Exit(cmd.MainWithClock(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, now))
}

// TestNoProductionClockHook: no file of the kv binary reads the test
// harness's clock variable, so a stray KV_NOW in a cron environment cannot
// make kv count live values as expired (and compact drop them).
func TestNoProductionClockHook(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", `{{if not .Standard}}{{.Dir}}{{"\t"}}{{join .GoFiles " "}}{{end}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		dir, files, _ := strings.Cut(line, "\t")
		if !strings.HasPrefix(dir, mustAbs(t, ".")) {
			continue // other modules
		}
		for _, f := range strings.Fields(files) {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatal(err)
			}
			checked++
			if bytes.Contains(data, []byte(testClockEnv)) {
				t.Errorf("%s names %s: the binary must not take its clock from the environment", filepath.Join(dir, f), testClockEnv)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("checked %d files of the kv binary; go list output:\n%s", checked, out)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestMain lets the test binary act as kv (and its helper commands) when
// a script runs them with exec.
func TestMain(m *testing.M) {
	testscript.Main(m, helperCommands)
}

// holdLock is `kvlock DIR DURATION [shared]`: it opens the store in DIR
// (exclusive lock, or shared with "shared"), creates DIR.held to say so,
// and holds the lock for DURATION or until killed.
func holdLock() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: kvlock DIR DURATION [shared]")
		os.Exit(2)
	}
	d, err := time.ParseDuration(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	shared := len(os.Args) > 3 && os.Args[3] == "shared"
	db, err := kv.Open(os.Args[1], &kv.Options{ReadOnly: shared})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := os.WriteFile(os.Args[1]+".held", nil, 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	time.Sleep(d)
	db.Close()
}

// updateScripts rewrites the files that a script's cmp compares stdout
// or stderr with, when the output changed on purpose: review the diff.
var updateScripts = flag.Bool("update-scripts", false, "rewrite the golden files of failing cmp stdout/stderr in testscripts")

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testscripts",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		UpdateScripts:       *updateScripts,
		Setup: func(env *testscript.Env) error {
			scripttest.Isolate(env)
			return nil
		},
		Cmds: scripttest.Commands,
		// The etcd module's tests run some of these scripts against etcd
		// too (etcd/etcd_test.go's sharedScripts), with [etcd] true.
		Condition: scripttest.Backend(false),
	})
}

// the log and the tables both import; the tables need nothing of the log.
func TestTablesDoNotImportTheLog(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "./pkg/sstable").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/kvtool/kv/pkg/entry") {
		t.Fatalf("pkg/sstable does not import pkg/entry: the check is looking at the wrong list: %q", deps)
	}
	if slices.Contains(deps, "github.com/kvtool/kv/pkg/wal") {
		t.Fatal("pkg/sstable imports pkg/wal")
	}
}

// TestKVLinksNoClusterClient: the kv binary never links the etcd client,
// gRPC or protobuf, whose package init every process would pay; the
// kv-etcd binary carries them (issue 20). The check looks at the list of
// packages kv is built from, which must hold the engine.
func TestKVLinksNoClusterClient(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/kvtool/kv/pkg/kv") {
		t.Fatalf("kv does not link pkg/kv: the check is looking at the wrong list: %q", deps)
	}
	for _, d := range deps {
		for _, banned := range []string{"go.etcd.io/", "google.golang.org/grpc", "google.golang.org/protobuf", "github.com/golang/protobuf"} {
			if strings.HasPrefix(d, banned) {
				t.Errorf("kv links %s", d)
			}
		}
	}
}
