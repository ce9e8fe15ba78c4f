// Command releaseconfig checks kv's release configuration without building
// goreleaser: it loads .goreleaser.yaml with goreleaser's own config
// package, which refuses unknown fields and values of the wrong type as
// `goreleaser check` does, and then checks what that package cannot: that
// the files the archives and packages carry exist, and that every archive
// and package names a build that exists.
//
// Usage (from the repository's root):
//
//	go -C scripts/releaseconfig run . ../../.goreleaser.yaml
//
// It is a module of its own so that goreleaser's dependencies never enter
// kv's go.mod. scripts/release-check runs it; `scripts/release-check full`
// still builds a snapshot release with goreleaser itself.
package main

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goreleaser/goreleaser/v2/pkg/config"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: releaseconfig PATH/.goreleaser.yaml")
		os.Exit(2)
	}
	problems, err := check(os.Args[1], os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "releaseconfig: %v\n", err)
		os.Exit(1)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintf(os.Stderr, "releaseconfig: %s\n", p)
		}
		os.Exit(1)
	}
}

// check loads the configuration at path and returns what is wrong with it.
// Relative file names in it are taken from the configuration's directory,
// as goreleaser takes them from the directory it runs in.
func check(path string, out io.Writer) ([]string, error) {
	p, err := config.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	root := filepath.Dir(path)
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	if p.Version != 2 {
		add("version is %d; this check and release-check are written for version 2", p.Version)
	}
	builds := map[string]bool{}
	for _, b := range p.Builds {
		builds[b.ID] = true
		main := b.Main
		if main == "" {
			main = "."
		}
		// A build's main is relative to its dir (a module of its own).
		if matches(root, filepath.Join(b.Dir, main, "*.go")) == 0 {
			add("build %q: main %q (in %q) holds no Go file", b.ID, main, b.Dir)
		}
	}
	if len(p.Builds) == 0 {
		add("no builds")
	}
	for _, a := range p.Archives {
		for _, id := range a.IDs {
			if !builds[id] {
				add("archive %q names build %q, which does not exist", a.ID, id)
			}
		}
		for _, f := range a.Files {
			if matches(root, f.Source) == 0 {
				add("archive %q: files src %q matches no file", a.ID, f.Source)
			}
		}
	}
	for _, n := range p.NFPMs {
		for _, id := range n.IDs {
			if !builds[id] {
				add("package %q names build %q, which does not exist", n.ID, id)
			}
		}
		for _, c := range n.Contents {
			if c.Type == "dir" || c.Type == "symlink" || strings.Contains(c.Source, "{{") {
				continue
			}
			// build/ is made by the before hooks (release-check full
			// checks what the packages carry from it).
			if strings.HasPrefix(c.Source, "build/") {
				if !hooksMake(p.Before.Hooks, "build/") {
					add("package %q: contents src %q is under build/, which no before hook makes", n.ID, c.Source)
				}
				continue
			}
			if matches(root, c.Source) == 0 {
				add("package %q: contents src %q matches no file", n.ID, c.Source)
			}
		}
	}
	// kv hands cluster commands to the kv-etcd beside it: every archive
	// and package carries both binaries.
	binaryOf := map[string]string{}
	for _, b := range p.Builds {
		binaryOf[b.ID] = cmp.Or(b.Binary, p.ProjectName)
	}
	carried := func(ids []string) map[string]bool {
		m := map[string]bool{}
		if len(ids) == 0 { // every build
			ids = slices.Collect(maps.Keys(binaryOf))
		}
		for _, id := range ids {
			m[binaryOf[id]] = true
		}
		return m
	}
	for _, bin := range []string{"kv", "kv-etcd"} {
		for _, a := range p.Archives {
			if !carried(a.IDs)[bin] {
				add("archive %q does not carry the %s binary", a.ID, bin)
			}
		}
		for _, n := range p.NFPMs {
			if !carried(n.IDs)[bin] {
				add("package %q does not carry the %s binary", n.ID, bin)
			}
		}
	}
	fmt.Fprintf(out, "%s: %d build(s), %d archive(s), %d package definition(s); loaded strictly, every file found\n",
		path, len(p.Builds), len(p.Archives), len(p.NFPMs))
	return problems, nil
}

// hooksMake reports whether a before hook names dir (it writes there).
func hooksMake(hooks []string, dir string) bool {
	for _, h := range hooks {
		if strings.Contains(h, dir) {
			return true
		}
	}
	return false
}

// matches counts the files under root that pattern (a filepath.Match glob)
// names.
func matches(root, pattern string) int {
	m, err := filepath.Glob(filepath.Join(root, pattern))
	if err != nil {
		return 0
	}
	return len(m)
}
