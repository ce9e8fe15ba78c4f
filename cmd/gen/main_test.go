package main

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// TestManPagesAreFresh regenerates the man pages and fails when the
// committed copies under man/ differ: run go generate and commit.
func TestManPagesAreFresh(t *testing.T) {
	pages, err := ManPages()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", "man")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%v (run go generate)", err)
	}
	var got, want []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	for n := range pages {
		want = append(want, n)
	}
	sort.Strings(want)
	if len(got) != len(want) {
		t.Errorf("man/ holds %v, the generator writes %v (run go generate)", got, want)
	}
	for _, n := range want {
		committed, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Errorf("%s: %v (run go generate)", n, err)
			continue
		}
		if !bytes.Equal(committed, pages[n]) {
			t.Errorf("man/%s is stale (run go generate and commit)", n)
		}
	}
}

// TestManPagesHaveSections checks every page carries the sections users
// look for.
func TestManPagesHaveSections(t *testing.T) {
	pages, err := ManPages()
	if err != nil {
		t.Fatal(err)
	}
	for name, page := range pages {
		for _, sec := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"} {
			if !bytes.Contains(page, []byte(".SH "+sec)) {
				t.Errorf("%s lacks the %s section", name, sec)
			}
		}
	}
	for _, name := range []string{"kv.1", "kv-get.1", "kv-set.1", "kv-verify.1"} {
		if !bytes.Contains(pages[name], []byte(".SH EXAMPLES")) {
			t.Errorf("%s lacks EXAMPLES", name)
		}
		if !bytes.Contains(pages[name], []byte("OPTIONS")) {
			t.Errorf("%s lacks OPTIONS", name)
		}
	}
}
