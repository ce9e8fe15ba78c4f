package cmd

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkMainGet measures the command layer of a one-shot get: the
// command tree, configuration and flag parsing around one engine lookup.
func BenchmarkMainGet(b *testing.B) {
	dir := b.TempDir()
	b.Setenv("XDG_CONFIG_HOME", b.TempDir())
	if code := Main([]string{"--dir", dir, "set", "greeting", "hello"}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
		b.Fatalf("set: exit %d", code)
	}
	args := []string{"--dir", dir, "get", "greeting"}
	b.ReportAllocs()
	for b.Loop() {
		if code := Main(args, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatalf("get: exit %d", code)
		}
	}
}
