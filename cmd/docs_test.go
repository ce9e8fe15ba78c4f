package cmd

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestGeneratedFilesAreFresh regenerates the completions (cmd/gen checks
// the man pages) and
// fails when the committed copies differ: run go generate and commit.
func TestGeneratedFilesAreFresh(t *testing.T) {
	comp, err := Completions()
	if err != nil {
		t.Fatal(err)
	}
	checkDir(t, filepath.Join("..", "completions"), comp)
}

func checkDir(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	tmp := t.TempDir()
	if err := WriteGenerated(tmp, want); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%v (run go generate)", err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	var names []string
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(got) != len(names) {
		t.Errorf("%s holds %v, the generator writes %v (run go generate)", dir, got, names)
	}
	for _, n := range names {
		committed, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Errorf("%s: %v (run go generate)", n, err)
			continue
		}
		fresh, _ := os.ReadFile(filepath.Join(tmp, n))
		if !bytes.Equal(committed, fresh) {
			t.Errorf("%s is stale (run go generate and commit)", filepath.Join(dir, n))
		}
	}
}

// TestCompletionCommandMatchesCommitted checks that what kv completion
// prints is the committed script.
func TestCompletionCommandMatchesCommitted(t *testing.T) {
	for shell, file := range map[string]string{"bash": "kv.bash", "zsh": "_kv", "fish": "kv.fish", "powershell": "kv.ps1"} {
		var out, errOut bytes.Buffer
		if code := Main([]string{"completion", shell}, nil, &out, &errOut); code != 0 {
			t.Fatalf("kv completion %s: exit %d: %s", shell, code, errOut.String())
		}
		committed, err := os.ReadFile(filepath.Join("..", "completions", file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.Bytes(), committed) {
			t.Errorf("kv completion %s differs from completions/%s", shell, file)
		}
	}
}
