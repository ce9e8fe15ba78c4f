package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRepositoryConfig checks kv's own .goreleaser.yaml.
func TestRepositoryConfig(t *testing.T) {
	problems, err := check("../../.goreleaser.yaml", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Fatalf("problems: %q", problems)
	}
}

// TestFindsProblems shows that each kind of mistake is reported.
func TestFindsProblems(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", "package main\n")
	write("README.md", "readme\n")

	write("unknown.yaml", "version: 2\nproject_name: x\nbuildz: []\n")
	if _, err := check(filepath.Join(dir, "unknown.yaml"), io.Discard); err == nil || !strings.Contains(err.Error(), "buildz") {
		t.Errorf("unknown field: err = %v, want one naming buildz", err)
	}
	write("type.yaml", "version: 2\nproject_name: x\nbuilds: {id: kv}\n")
	if _, err := check(filepath.Join(dir, "type.yaml"), io.Discard); err == nil {
		t.Errorf("builds as a map: no error")
	}

	write("files.yaml", `version: 2
project_name: x
builds:
  - id: kv
    binary: kv
    main: .
archives:
  - id: a
    ids: [kv, nope]
    files:
      - src: README.md
      - src: man/*
nfpms:
  - id: p
    ids: [kv]
    contents:
      - src: completions/kv.bash
        dst: /usr/share/bash-completion/completions/kv
`)
	problems, err := check(filepath.Join(dir, "files.yaml"), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`names build "nope"`, `"man/*" matches no file`, `"completions/kv.bash" matches no file`,
		`archive "a" does not carry the kv-etcd binary`, `package "p" does not carry the kv-etcd binary`}
	if len(problems) != len(want) {
		t.Fatalf("problems = %q, want %d", problems, len(want))
	}
	for i, w := range want {
		if !strings.Contains(problems[i], w) {
			t.Errorf("problem %d = %q, want it to say %q", i, problems[i], w)
		}
	}
}
