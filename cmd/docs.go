package cmd

import (
	"bytes"
	"os"
	"path/filepath"
)

// Completions returns the completion scripts for every supported shell,
// by file name (the names the release packages install).
func Completions() (map[string][]byte, error) {
	root := NewRootCommand()
	root.InitDefaultCompletionCmd()
	out := map[string][]byte{}
	gens := map[string]func(*bytes.Buffer) error{
		"kv.bash": func(b *bytes.Buffer) error { return root.GenBashCompletionV2(b, true) },
		"_kv":     func(b *bytes.Buffer) error { return root.GenZshCompletion(b) },
		"kv.fish": func(b *bytes.Buffer) error { return root.GenFishCompletion(b, true) },
		"kv.ps1":  func(b *bytes.Buffer) error { return root.GenPowerShellCompletionWithDesc(b) },
	}
	for name, gen := range gens {
		var b bytes.Buffer
		if err := gen(&b); err != nil {
			return nil, err
		}
		out[name] = b.Bytes()
	}
	return out, nil
}

// WriteGenerated writes files into dir, creating it.
func WriteGenerated(dir string, files map[string][]byte) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
