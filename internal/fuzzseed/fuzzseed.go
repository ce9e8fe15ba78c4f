// Package fuzzseed keeps the committed seed corpora of the fuzz targets in
// step with the seeds the tests generate, so hostile shapes (lengths
// claiming gigabytes, indexes pointing outside the file, ../ names) stay in
// testdata/fuzz where `go test -fuzz` starts from them. Only tests import
// it.
package fuzzseed

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update-seeds", false, "rewrite the committed fuzz seed corpora")

// File returns the encoding `go test -fuzz` uses for a seed with args.
func File(args ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", v)
		case uint8:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		default:
			panic(fmt.Sprintf("unsupported seed argument %T", a))
		}
	}
	return b.Bytes()
}

// Check compares testdata/fuzz/<target>/seed-<name> with files, reporting
// each seed missing or out of date; with -update-seeds it rewrites them
// first (go test -run Corpus -update-seeds).
func Check(t *testing.T, target string, files map[string][]byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, data := range files {
			if err := os.WriteFile(filepath.Join(dir, "seed-"+name), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(dir, "seed-"+name))
		if err != nil {
			t.Errorf("seed %s of %s not committed: %v (run go test -run Corpus -update-seeds)", name, target, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("committed seed %s of %s is out of date (run go test -run Corpus -update-seeds)", name, target)
		}
	}
}
