// Command gen writes kv's shell completions and man pages; go generate
// runs it from the repository root (see main.go).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/kvtool/kv/cmd"
)

func main() {
	completions := flag.String("completions", "completions", "directory for the completion scripts")
	man := flag.String("man", "man", "directory for the man pages")
	flag.Parse()
	if err := run(*completions, *man); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(completionsDir, manDir string) error {
	comp, err := cmd.Completions()
	if err != nil {
		return err
	}
	if err := cmd.WriteGenerated(completionsDir, comp); err != nil {
		return err
	}
	pages, err := ManPages()
	if err != nil {
		return err
	}
	return cmd.WriteGenerated(manDir, pages)
}
