// Command floor-libs is the floor under any command line built on the
// libraries the kv CLI is required to use (Cobra, Viper, tablewriter):
// the floor of cmd/floor, linking them and running their package
// initialisation, and nothing more. Built as kv's release is (static,
// trimmed), it tells how much of kv's start-up those libraries take.
package main

import (
	"github.com/kvtool/kv/bench/internal/floor"

	_ "github.com/olekukonko/tablewriter"
	_ "github.com/spf13/cobra"
	_ "github.com/spf13/viper"
)

func main() { floor.Main() }
