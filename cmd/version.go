package cmd

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set at build time with -ldflags "-X github.com/kvtool/kv/cmd.version=…".
var (
	version = ""
	commit  = ""
	date    = ""
)

// buildInfo returns version, commit and date, falling back to what the Go
// toolchain recorded in the binary.
func buildInfo() (v, c, d string) {
	v, c, d = version, commit, date
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if c == "" {
					c = s.Value
				}
			case "vcs.time":
				if d == "" {
					d = s.Value
				}
			}
		}
	}
	if v == "" {
		v = "dev"
	}
	if c == "" {
		c = "unknown"
	}
	if d == "" {
		d = "unknown"
	}
	return v, c, d
}

func (a *app) newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print kv's version, commit and build date",
		Example: `  kv version`,
		Args:    cobra.NoArgs,
		RunE:    a.run(a.printVersion),
	}
}

// printVersion writes what kv version and kv --version print: the
// version, commit and build date, and which kv-etcd kv would run.
func (a *app) printVersion(*cobra.Command, []string) error {
	v, c, d := buildInfo()
	name := "kv"
	if a.remote != nil {
		name = clusterBinary
	}
	if _, err := fmt.Fprintf(a.stdout, "%s %s\ncommit: %s\nbuilt: %s\ngo: %s %s/%s\n", name, v, c, d, runtime.Version(), runtime.GOOS, runtime.GOARCH); err != nil {
		return err
	}
	if a.remote != nil {
		_, err := fmt.Fprintf(a.stdout, "backend: %s (and the data directory when no endpoints are configured)\n", a.remote.Name())
		return err
	}
	// kv runs kv-etcd for a cluster: say which one it would run.
	where, err := findClusterBinary()
	if err != nil {
		where = "not installed (needed only with --endpoints)"
	}
	_, err = fmt.Fprintf(a.stdout, "%s: %s\n", clusterBinary, where)
	return err
}

// isVersionRun reports whether cmd prints the version (kv version, or
// kv --version): that answers whatever the configuration, as it is what a
// user runs first when something is wrong.
func isVersionRun(cmd *cobra.Command) bool {
	if cmd.Name() == "version" {
		return true
	}
	v, _ := cmd.Flags().GetBool("version")
	return !cmd.HasParent() && v
}
