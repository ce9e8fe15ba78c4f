package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
)

// TestManPagesAreFresh regenerates the man pages and fails when the
// committed copies under man/ differ: run go generate and commit.
func TestManPagesAreFresh(t *testing.T) {
	pages, err := ManPages(ManHeader{})
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
	pages, err := ManPages(ManHeader{})
	if err != nil {
		t.Fatal(err)
	}
	for name, page := range pages {
		sections := []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES", "SEE ALSO"}
		if name == "kv-etcd.1" {
			// A pointer to kv(1): users type kv.
			sections = []string{"NAME", "SYNOPSIS", "DESCRIPTION", "EXIT STATUS", "SEE ALSO"}
		}
		for _, sec := range sections {
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

// TestManPagesRenderWithoutWarnings renders every page with groff's
// warnings on (as lintian does): none may warn, and each exit status is
// one item.
func TestManPagesRenderWithoutWarnings(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		t.Skip("groff is not installed")
	}
	pages, err := ManPages(ManHeader{Version: "1.2.3", Date: "2026-12-03"})
	if err != nil {
		t.Fatal(err)
	}
	for name, page := range pages {
		c := exec.Command(groff, "-ww", "-z", "-man")
		c.Stdin = bytes.NewReader(page)
		out, err := c.CombinedOutput()
		if err != nil || len(out) > 0 {
			t.Errorf("%s: groff -ww: %v %s", name, err, out)
		}
		if !bytes.HasPrefix(page, []byte(".nh\n.TH")) && !bytes.Contains(page, []byte(`.TH "`)) {
			t.Errorf("%s: no .TH header", name)
		}
		if !bytes.Contains(page, []byte(`"2026-12-03" "kv 1.2.3"`)) {
			t.Errorf("%s: the header lacks the release's date and version: %s", name, page[:min(len(page), 120)])
		}
		if bytes.Contains(page, []byte(`fBwritten by a newer`)) {
			t.Errorf("%s: an exit status's second line is an item of its own", name)
		}
	}
}
