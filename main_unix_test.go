//go:build unix

package main

import (
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/kvtool/kv/cmd"
)

func init() {
	helperCommands["kvumask"] = runWithUmask
}

// runWithUmask is `kvumask MASK ARGS...`: kv ARGS run under the umask MASK
// (octal), to show that the store's modes do not depend on the caller's
// umask.
func runWithUmask() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: kvumask MASK ARGS...")
		os.Exit(2)
	}
	mask, err := strconv.ParseUint(os.Args[1], 8, 32)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kvumask:", err)
		os.Exit(2)
	}
	syscall.Umask(int(mask))
	os.Exit(cmd.Main(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
}
