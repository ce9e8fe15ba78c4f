package cmd

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkMainGet measures the command layer of a one-shot get: the
// command tree, configuration and flag parsing around one engine lookup.
// tree=invoked builds only the subcommand that the arguments run (see
// invokedCommand), as Main does; tree=whole builds every subcommand, as
// Main would without the pre-parse.
func BenchmarkMainGet(b *testing.B) {
	dir := b.TempDir()
	b.Setenv("XDG_CONFIG_HOME", b.TempDir())
	if code := Main([]string{"--dir", dir, "set", "greeting", "hello"}, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
		b.Fatalf("set: exit %d", code)
	}
	args := []string{"--dir", dir, "get", "greeting"}
	for _, whole := range []bool{false, true} {
		name := map[bool]string{false: "tree=invoked", true: "tree=whole"}[whole]
		b.Run(name, func(b *testing.B) {
			defer func(old bool) { buildWholeTree = old }(buildWholeTree)
			buildWholeTree = whole
			b.ReportAllocs()
			for b.Loop() {
				if code := Main(args, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
					b.Fatalf("get: exit %d", code)
				}
			}
		})
	}
}
