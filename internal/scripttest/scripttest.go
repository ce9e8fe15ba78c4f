// Package scripttest holds what kv's testscripts share across modules:
// the custom script commands that damage and compare stores and files,
// and the helper programs (exitcode, stdoutto, stdoutclosed) a test
// binary acts as. The main module's scripts and the etcd module's run of
// the same scripts use them alike.
package scripttest

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

// RunWithStdout is `stdoutto FILE PROG [ARGS...]` (toFile: PROG's standard
// output opened write-only on FILE, such as /dev/full) or `stdoutclosed
// PROG [ARGS...]` (PROG started with its standard output closed, as by a
// shell's >&-). It exits with PROG's status; stdin and stderr pass through.
func RunWithStdout(toFile bool) {
	args := os.Args[1:]
	out := (*os.File)(nil)
	if toFile {
		if len(args) < 2 {
			fmt.Fprintln(os.Stderr, "usage: stdoutto FILE PROG [ARGS...]")
			os.Exit(2)
		}
		f, err := os.OpenFile(args[0], os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		out, args = f, args[1:]
	} else if len(args) < 1 {
		fmt.Fprintln(os.Stderr, "usage: stdoutclosed PROG [ARGS...]")
		os.Exit(2)
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	// A nil entry of Files is a descriptor closed in the new process.
	p, err := os.StartProcess(path, args, &os.ProcAttr{Files: []*os.File{os.Stdin, out, os.Stderr}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	st, err := p.Wait()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	os.Exit(st.ExitCode())
}

// ExitCode is `exitcode N PROG [ARGS...]`: it runs PROG with ARGS, passing
// standard input, output and error straight through, and exits 0 if PROG
// exited with status N, or 1 (with a note on stderr) if it did not.
//
// This is how scripts check kv's exact exit status, which testscript's
// exec cannot: `! exec kv ...` only says "non-zero", and a custom script
// command (one that runs in the test process) cannot see the input set
// with the stdin command. Write it positively, and check the output of
// PROG with stdout and stderr as usual:
//
//	stdin input.txt
//	exec exitcode 2 kv -d $WORK/st batch
//	stderr 'line 3'
func ExitCode() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: exitcode N PROG [ARGS...]")
		os.Exit(2)
	}
	want, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "exitcode:", err)
		os.Exit(2)
	}
	c := exec.Command(os.Args[2], os.Args[3:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	got := 0
	if err := c.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() < 0 {
			fmt.Fprintln(os.Stderr, "exitcode:", err)
			os.Exit(1)
		}
		got = ee.ExitCode()
	}
	if got != want {
		fmt.Fprintf(os.Stderr, "exitcode: %s exited with status %d, want %d\n", os.Args[2], got, want)
		os.Exit(1)
	}
	os.Exit(0)
}

// Commands are the custom commands scripts use to damage and compare
// stores. Each takes paths relative to the script's working directory.
var Commands = map[string]func(ts *testscript.TestScript, neg bool, args []string){
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
	// writebytes FILE HEX...: create or replace FILE with the bytes HEX
	// spells (for binary data a txtar file cannot hold: NUL, 0xff, ...);
	// HEX may be split into several arguments.
	"writebytes": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 2 {
			ts.Fatalf("usage: writebytes FILE HEX...")
		}
		data, err := hex.DecodeString(strings.Join(args[1:], ""))
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[0]), data, 0o600))
	},
	// setversion FILE N: set the format version of a log (header bytes
	// [4,8)) or table (footer bytes [44,48)) to N and recompute the CRC
	// that covers it, as a newer kv would write the file.
	"setversion": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: setversion FILE N")
		}
		name := ts.MkAbs(args[0])
		v, err := strconv.ParseUint(args[1], 10, 32)
		ts.Check(err)
		data, err := os.ReadFile(name)
		ts.Check(err)
		castagnoli := crc32.MakeTable(crc32.Castagnoli)
		switch filepath.Ext(name) {
		case ".wal": // header: magic | version | firstSeq | crc of [0,16)
			binary.LittleEndian.PutUint32(data[4:8], uint32(v))
			binary.LittleEndian.PutUint32(data[16:20], crc32.Checksum(data[:16], castagnoli))
		case ".sst": // footer: [cover (16, version 3 on)] ... version at 44 of the last 64 ... crc of the rest at 60
			f := data[len(data)-64:]
			binary.LittleEndian.PutUint32(f[44:48], uint32(v))
			covered := f[:60]
			if v >= 3 {
				covered = data[len(data)-80 : len(data)-4]
			}
			binary.LittleEndian.PutUint32(f[60:64], crc32.Checksum(covered, castagnoli))
		default:
			ts.Fatalf("setversion: %s is neither a log nor a table", args[0])
		}
		ts.Check(os.WriteFile(name, data, 0o600))
	},
	// writebytesat FILE OFFSET HEX: overwrite the bytes of FILE at OFFSET
	// (a negative OFFSET counts from the end) with the bytes HEX spells;
	// the file grows if they run past its end. HEX may be split into
	// several arguments, e.g. one per field.
	"writebytesat": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) < 3 {
			ts.Fatalf("usage: writebytesat FILE OFFSET HEX...")
		}
		off, err := strconv.ParseInt(args[1], 10, 64)
		ts.Check(err)
		writeHexAt(ts, ts.MkAbs(args[0]), off, strings.Join(args[2:], " "))
	},
	// fixmanifestcrc FILE: rewrite the last line of a MANIFEST as the
	// CRC-32C (Castagnoli) of everything before it, as kv writes it
	// ("crc32c %08x"), so that a hand-edited manifest passes its checksum
	// and only the edit itself is tested.
	"fixmanifestcrc": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: fixmanifestcrc FILE")
		}
		name := ts.MkAbs(args[0])
		data, err := os.ReadFile(name)
		ts.Check(err)
		body := bytes.TrimSuffix(data, []byte("\n"))
		i := bytes.LastIndexByte(body, '\n')
		if i < 0 || !bytes.HasPrefix(body[i+1:], []byte("crc32c ")) {
			ts.Fatalf("%s does not end with a crc32c line", args[0])
		}
		body = body[:i+1]
		sum := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))
		ts.Check(os.WriteFile(name, fmt.Appendf(body, "crc32c %08x\n", sum), 0o600))
	},
	// replace FILE REGEXP REPLACEMENT: replace every match of REGEXP in
	// FILE (as regexp.ReplaceAll does); fails if nothing matches.
	"replace": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: replace FILE REGEXP REPLACEMENT")
		}
		name := ts.MkAbs(args[0])
		data, err := os.ReadFile(name)
		ts.Check(err)
		re, err := regexp.Compile(args[1])
		ts.Check(err)
		if !re.Match(data) {
			ts.Fatalf("%s: no match for %s", args[0], args[1])
		}
		ts.Check(os.WriteFile(name, re.ReplaceAll(data, []byte(args[2])), 0o600))
	},
	// cpglob PATTERN DEST: copy the one file matching the glob PATTERN to
	// DEST, for files whose names a script cannot know in advance (the
	// dated folder kv repair creates); fails unless exactly one matches.
	// ! cpglob PATTERN DEST fails if anything matches (and copies nothing).
	"cpglob": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 2 {
			ts.Fatalf("usage: cpglob PATTERN DEST")
		}
		matches, err := filepath.Glob(ts.MkAbs(args[0]))
		ts.Check(err)
		if neg {
			if len(matches) > 0 {
				ts.Fatalf("%s matches %q", args[0], matches)
			}
			return
		}
		if len(matches) != 1 {
			ts.Fatalf("%d files match %s, want 1: %q", len(matches), args[0], matches)
		}
		data, err := os.ReadFile(matches[0])
		ts.Check(err)
		ts.Check(os.WriteFile(ts.MkAbs(args[1]), data, 0o600))
	},
	// expandenv FILE: replace $VAR and ${VAR} in FILE with the script's
	// environment, e.g. to write absolute paths under $WORK into a config
	// file.
	"expandenv": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 1 {
			ts.Fatalf("usage: expandenv FILE")
		}
		name := ts.MkAbs(args[0])
		ts.Check(os.WriteFile(name, []byte(os.Expand(ts.ReadFile(args[0]), ts.Getenv)), 0o600))
	},
	// cmpmatch REGEXP FILE1 FILE2: the lines of FILE1 and of FILE2 that
	// match REGEXP are the same, and there is at least one. With
	// cp stdout FILE, it compares one field of two commands' outputs,
	// such as the digest lines of two kv verify reports.
	"cmpmatch": func(ts *testscript.TestScript, neg bool, args []string) {
		if len(args) != 3 {
			ts.Fatalf("usage: cmpmatch REGEXP FILE1 FILE2")
		}
		re, err := regexp.Compile("(?m)" + args[0])
		ts.Check(err)
		a := re.FindAllString(ts.ReadFile(args[1]), -1)
		b := re.FindAllString(ts.ReadFile(args[2]), -1)
		if len(a) == 0 || len(b) == 0 {
			ts.Fatalf("%q matches nothing in %s or %s", args[0], args[1], args[2])
		}
		same := strings.Join(a, "\n") == strings.Join(b, "\n")
		if same == neg {
			ts.Fatalf("matches of %q: %s has %q, %s has %q", args[0], args[1], a, args[2], b)
		}
	},
}

// writeHexAt decodes hexText (spaces allowed between bytes) and writes it
// into name at off, which must lie within the file (at its end to append).
func writeHexAt(ts *testscript.TestScript, name string, off int64, hexText string) {
	data, err := hex.DecodeString(strings.Join(strings.Fields(hexText), ""))
	ts.Check(err)
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	ts.Check(err)
	st, err := f.Stat()
	ts.Check(err)
	if off < 0 {
		off += st.Size()
	}
	if off < 0 || off > st.Size() {
		ts.Fatalf("offset %d outside %s (%d bytes)", off, name, st.Size())
	}
	_, err = f.WriteAt(data, off)
	ts.Check(err)
	ts.Check(f.Close())
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

// TestTablesDoNotImportTheLog: the entry encoding is a leaf package that

// Isolate keeps a script away from the real home directory: HOME and the
// XDG directories (where kv finds its config file and default data
// directory) are folders of the script's work directory.
func Isolate(env *testscript.Env) {
	env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
	env.Setenv("XDG_CONFIG_HOME", filepath.Join(env.WorkDir, "config"))
	env.Setenv("XDG_DATA_HOME", filepath.Join(env.WorkDir, "data"))
}

// Backend is the Condition of scripts that run against both backends:
// [etcd] holds when they run against etcd (the etcd module's tests), for
// the few lines that differ there.
func Backend(etcd bool) func(cond string) (bool, error) {
	return func(cond string) (bool, error) {
		if cond == "etcd" {
			return etcd, nil
		}
		return false, fmt.Errorf("unknown condition %q", cond)
	}
}
