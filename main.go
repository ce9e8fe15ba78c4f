// Command kv is a durable key-value store for shell scripts, cron jobs and
// operators. See README.md, kv --help and man kv.
package main

import (
	"os"

	"github.com/kvtool/kv/cmd"
	// A command on a cluster goes to kv-etcd during initialisation.
	_ "github.com/kvtool/kv/internal/handoff/early"
)

//go:generate go run ./cmd/gen -completions completions -man man

func main() {
	os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
