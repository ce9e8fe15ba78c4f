package cmd

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestInvokedCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "k"}, "get"},
		{[]string{"--dir", "get", "set", "k", "v"}, "set"},
		{[]string{"-d", "/tmp/x", "del", "k"}, "del"},
		{[]string{"--dir=/x", "--lock-timeout", "1s", "--sync=false", "incr", "n"}, "incr"},
		{[]string{"-d/x", "--config", "c.yaml", "dump"}, "dump"},
		{[]string{"--sync", "false", "set", "k", "v"}, ""}, // "false" is not a command: Cobra reports it
		{[]string{"help", "get"}, ""},
		{[]string{"__complete", "get", ""}, ""},
		{[]string{"completion", "bash"}, ""},
		{[]string{"gte", "k"}, ""},
		{[]string{"--", "get"}, ""},
		{[]string{"--help"}, ""},
		{nil, ""},
	} {
		if got := invokedCommand(NewRootCommand().PersistentFlags(), tc.args); got != tc.want {
			t.Errorf("invokedCommand(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// A command built alone must behave as it does in the whole tree: same
// help, same flags, same usage errors.
func TestSubcommandAloneMatchesWholeTree(t *testing.T) {
	a := &app{}
	for _, sc := range a.subcommands() {
		for _, args := range [][]string{{sc.name, "--help"}, {sc.name, "--no-such-flag"}} {
			var lazyOut, lazyErr, fullOut, fullErr bytes.Buffer
			lazy := Main(args, strings.NewReader(""), &lazyOut, &lazyErr)
			full := mainWithTree(t, args, &fullOut, &fullErr)
			if lazy != full || lazyOut.String() != fullOut.String() || lazyErr.String() != fullErr.String() {
				t.Errorf("kv %s: alone exit %d\n%s%s\nwhole tree exit %d\n%s%s", strings.Join(args, " "),
					lazy, lazyOut.String(), lazyErr.String(), full, fullOut.String(), fullErr.String())
			}
		}
		if lazyHelp := run(t, sc.name, "--help"); !strings.Contains(lazyHelp, "Global Flags") {
			t.Errorf("kv %s --help has no global flags:\n%s", sc.name, lazyHelp)
		}
	}
}

// mainWithTree runs Main's path with every subcommand built.
func mainWithTree(t *testing.T, args []string, stdout, stderr *bytes.Buffer) int {
	t.Helper()
	buildWholeTree = true
	defer func() { buildWholeTree = false }()
	return Main(args, strings.NewReader(""), stdout, stderr)
}

func run(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	if code := Main(args, strings.NewReader(""), &out, &out); code != 0 {
		t.Fatalf("kv %s: exit %d\n%s", strings.Join(args, " "), code, out.String())
	}
	return out.String()
}

// No flag's help shows a default twice, or a zero duration as a default
// ("(default 0s)" on --ttl read as "expires at once").
func TestFlagHelpDefaults(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, line := range strings.Split(c.LocalFlags().FlagUsages(), "\n") {
			if strings.Count(line, "(default ") > 1 || strings.Contains(line, "(default 0s)") {
				t.Errorf("%s: %s", c.CommandPath(), strings.TrimSpace(line))
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRootCommand())
}
