package sstable

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

var updateSeeds = flag.Bool("update-seeds", false, "rewrite the committed fuzz seed corpora")

// corpusFile is the encoding `go test -fuzz` uses for a seed.
func corpusFile(args ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case bool:
			fmt.Fprintf(&b, "bool(%v)\n", v)
		default:
			panic(fmt.Sprintf("unsupported seed argument %T", a))
		}
	}
	return b.Bytes()
}

// checkCorpus compares the committed seed files of a fuzz target with the
// seeds the code generates (go test -run Corpus -update-seeds rewrites
// them), so the hostile shapes stay in testdata/fuzz.
func checkCorpus(t *testing.T, target string, files map[string][]byte) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", target)
	if *updateSeeds {
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

func TestFuzzCorpus(t *testing.T) {
	files := map[string][]byte{}
	for _, s := range tableSeeds() {
		files[s.name] = corpusFile(s.data, s.reseal)
	}
	checkCorpus(t, "FuzzTable", files)
}
