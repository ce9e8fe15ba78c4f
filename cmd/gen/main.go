// Command gen writes kv's shell completions and man pages; go generate
// runs it from the repository root (see main.go).
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/kvtool/kv/cmd"
)

func main() {
	completions := flag.String("completions", "completions", "directory for the completion scripts")
	man := flag.String("man", "man", "directory for the man pages")
	version := flag.String("version", "", "version for the man pages' header (a release's)")
	date := flag.String("date", "", "date for the man pages' header (a release's)")
	flag.Parse()
	// A release passes its commit date (RFC 3339); a page shows the day.
	if t, err := time.Parse(time.RFC3339, *date); err == nil {
		*date = t.UTC().Format(time.DateOnly)
	}
	if err := run(*completions, *man, ManHeader{Version: *version, Date: *date}); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(completionsDir, manDir string, h ManHeader) error {
	comp, err := cmd.Completions()
	if err != nil {
		return err
	}
	if err := cmd.WriteGenerated(completionsDir, comp); err != nil {
		return err
	}
	pages, err := ManPages(h)
	if err != nil {
		return err
	}
	return cmd.WriteGenerated(manDir, pages)
}
