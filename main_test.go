package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kvtool/kv/cmd"
	"github.com/kvtool/kv/pkg/kv"
)

// TestMain lets the test binary act as kv (and its helper commands) when
// a script runs them with exec.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kv":     func() { os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"kvlock": holdLock,
	})
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

func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testscripts",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(env *testscript.Env) error {
			// Keep every script away from the real home directory.
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "config"))
			env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, "data"))
			return nil
		},
		Cmds: scriptCommands,
	})
}

// scriptCommands are the custom commands scripts use to damage and compare
// stores. Each takes paths relative to the script's working directory.
var scriptCommands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	// truncate FILE SIZE: cut FILE to SIZE bytes; a negative SIZE cuts
	// that many bytes off the end.
	"truncate": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: truncate FILE SIZE")
		}
		name := ts.MkAbs(args[0])
		n, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		if n < 0 {
			st, err := os.Stat(name)
			ts.Check(err)
			n += st.Size()
		}
		ts.Check(os.Truncate(name, n))
	},
	// flipbyte FILE OFFSET: invert every bit of the byte at OFFSET (a
	// negative OFFSET counts from the end).
	"flipbyte": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: flipbyte FILE OFFSET")
		}
		name := ts.MkAbs(args[0])
		data, err := os.ReadFile(name)
		ts.Check(err)
		off, err := strconv.Atoi(args[1])
		ts.Check(err)
		if off < 0 {
			off += len(data)
		}
		if off < 0 || off >= len(data) {
			ts.Fatalf("offset %d outside %s (%d bytes)", off, args[0], len(data))
		}
		data[off] ^= 0xff
		ts.Check(os.WriteFile(name, data, 0o600))
	},
	// appendzeros FILE N: append N zero bytes to FILE.
	"appendzeros": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: appendzeros FILE N")
		}
		n, err := strconv.Atoi(args[1])
		ts.Check(err)
		f, err := os.OpenFile(ts.MkAbs(args[0]), os.O_WRONLY|os.O_APPEND, 0)
		ts.Check(err)
		_, err = f.Write(make([]byte, n))
		ts.Check(err)
		ts.Check(f.Close())
	},
	// cmpdir DIR1 DIR2: the two directories hold the same file names with
	// byte-identical contents.
	"cmpdir": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: cmpdir DIR1 DIR2")
		}
		a, b := readDir(ts, args[0]), readDir(ts, args[1])
		var diffs []string
		for name, da := range a {
			db, ok := b[name]
			switch {
			case !ok:
				diffs = append(diffs, name+" only in "+args[0])
			case !bytes.Equal(da, db):
				diffs = append(diffs, name+" differs")
			}
		}
		for name := range b {
			if _, ok := a[name]; !ok {
				diffs = append(diffs, name+" only in "+args[1])
			}
		}
		if neg && len(diffs) == 0 {
			ts.Fatalf("directories are identical")
		}
		if !neg && len(diffs) > 0 {
			ts.Fatalf("directories differ: %v", diffs)
		}
	},
	// waitfile FILE: wait up to 10s for FILE to exist.
	"waitfile": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: waitfile FILE")
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			if _, err := os.Stat(ts.MkAbs(args[0])); err == nil {
				return
			}
			if time.Now().After(deadline) {
				ts.Fatalf("%s did not appear", args[0])
			}
			time.Sleep(5 * time.Millisecond)
		}
	},
	// filemode FILE MODE: FILE's permission bits are MODE (octal).
	"filemode": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: filemode FILE MODE")
		}
		st, err := os.Stat(ts.MkAbs(args[0]))
		ts.Check(err)
		want, err := strconv.ParseUint(args[1], 8, 32)
		ts.Check(err)
		if got := uint64(st.Mode().Perm()); (got == want) == neg {
			ts.Fatalf("%s has mode %04o, want %s%04o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
		}
	},
}

func readDir(ts *testscript.TestScript, dir string) map[string][]byte {
	out := map[string][]byte{}
	entries, err := os.ReadDir(ts.MkAbs(dir))
	ts.Check(err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(ts.MkAbs(dir), e.Name()))
		ts.Check(err)
		out[e.Name()] = data
	}
	return out
}
