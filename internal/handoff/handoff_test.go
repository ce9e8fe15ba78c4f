package handoff

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRequested(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want bool
	}{
		{[]string{"get", "k"}, "", false},
		{[]string{"get", "k"}, "http://e:2379", true},
		{[]string{"--endpoints", "http://e:2379", "get", "k"}, "", true},
		{[]string{"get", "k", "--endpoints=http://e:2379"}, "", true},
		{[]string{"--endpoints=", "get", "k"}, "http://e:2379", false}, // explicitly local
		{[]string{"--endpoints", "", "get", "k"}, "http://e:2379", false},
		{[]string{"version"}, "http://e:2379", false}, // kv answers it
		{[]string{"--version"}, "http://e:2379", false},
		{[]string{"set", "k", "--", "--endpoints=x"}, "", false}, // data after --
		{[]string{"set", "k", "--endpoints"}, "", false},         // no value to take
	} {
		getenv := func(name string) string {
			if name == "KV_ENDPOINTS" {
				return c.env
			}
			return ""
		}
		if got := Requested(c.args, getenv); got != c.want {
			t.Errorf("Requested(%q) with KV_ENDPOINTS=%q = %v, want %v", c.args, c.env, got, c.want)
		}
	}
}

func TestBeside(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "kv")
	want := filepath.Join(dir, Binary)
	if got, ok := Beside(exe); got != want || ok {
		t.Errorf("Beside(%q) without %s = %q, %v; want %q, false", exe, Binary, got, ok, want)
	}
	if err := os.Mkdir(want, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, ok := Beside(exe); ok {
		t.Errorf("Beside found a directory named %s", Binary)
	}
	if err := os.Remove(want); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, ok := Beside(exe); got != want || !ok {
		t.Errorf("Beside(%q) = %q, %v; want %q, true", exe, got, ok, want)
	}
}
