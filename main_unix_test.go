//go:build unix

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kvtool/kv/cmd"
)

func init() {
	helperCommands["kvumask"] = runWithUmask
}

// runWithUmask is `kvumask MASK ARGS...`: kv ARGS run under the umask MASK
// (octal), to show that the store's modes do not depend on the caller's
// umask.
func runWithUmask() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kvumask MASK ARGS...")
		os.Exit(2)
	}
	mask, err := strconv.ParseUint(os.Args[1], 8, 32)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kvumask:", err)
		os.Exit(2)
	}
	syscall.Umask(int(mask))
	os.Exit(cmd.Main(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
}

// TestEarlyHandOver runs the kv binary, built as a user builds it, with
// a stand-in kv-etcd beside it: a command with endpoints in the
// environment or the arguments goes to kv-etcd with the same arguments,
// environment, standard streams and exit status; version stays kv's.
func TestEarlyHandOver(t *testing.T) {
	dir := t.TempDir()
	kvBin := filepath.Join(dir, "kv")
	if out, err := exec.Command("go", "build", "-o", kvBin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	stub := "#!/bin/sh\nprintf '%s|' \"$@\"\nprintf 'KV_ENDPOINTS=%s\\n' \"$KV_ENDPOINTS\"\nread line\necho \"stdin=$line\" >&2\nexit 7\n"
	if err := os.WriteFile(filepath.Join(dir, "kv-etcd"), []byte(stub), 0o755); err != nil {
		t.Fatal(err)
	}
	run := func(env string, args ...string) (stdout, stderr string, code int) {
		c := exec.Command(kvBin, args...)
		c.Env = append(os.Environ(), "KV_ENDPOINTS="+env, "XDG_CONFIG_HOME="+dir, "HOME="+dir)
		c.Stdin = strings.NewReader("from stdin\n")
		var o, e strings.Builder
		c.Stdout, c.Stderr = &o, &e
		err := c.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return o.String(), e.String(), c.ProcessState.ExitCode()
	}
	for _, c := range []struct {
		env    string
		args   []string
		stdout string
	}{
		{"http://127.0.0.1:1", []string{"get", "k"}, "get|k|KV_ENDPOINTS=http://127.0.0.1:1\n"},
		{"", []string{"--endpoints", "http://127.0.0.1:1", "set", "k", "-5"}, "--endpoints|http://127.0.0.1:1|set|k|-5|KV_ENDPOINTS=\n"},
	} {
		stdout, stderr, code := run(c.env, c.args...)
		if stdout != c.stdout || stderr != "stdin=from stdin\n" || code != 7 {
			t.Errorf("KV_ENDPOINTS=%q kv %q: stdout %q, stderr %q, exit %d; want stdout %q, stderr from kv-etcd, exit 7", c.env, c.args, stdout, stderr, code, c.stdout)
		}
	}
	stdout, _, code := run("http://127.0.0.1:1", "version")
	if code != 0 || !strings.HasPrefix(stdout, "kv ") || !strings.Contains(stdout, "kv-etcd: "+filepath.Join(dir, "kv-etcd")) {
		t.Errorf("kv version with endpoints: exit %d, stdout %q; want kv's own, naming %s", code, stdout, filepath.Join(dir, "kv-etcd"))
	}
}
