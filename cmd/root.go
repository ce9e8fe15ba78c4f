// Package cmd is the kv command suite: thin Cobra commands that parse flags,
// call the engine in pkg/kv, and format what it returns. Configuration goes
// through Viper with the precedence flag > environment (KV_*) > config file
// > default; exit codes are mapped from errors in one place (exit.go).
package cmd

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/kvtool/kv/internal/handoff"
	"github.com/kvtool/kv/pkg/backend"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"
)

// app holds what every command shares: streams and configuration.
type app struct {
	v      *viper.Viper
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// rawStdout is stdout as Main was given it: what a child process
	// (kv lock's COMMAND) inherits.
	rawStdout io.Writer
	// now is the clock for expiry: time.Now, or a test's fixed time.
	now func() time.Time
	// cfgErr is a configuration problem found before the command ran.
	cfgErr error
	// cfgFile is the config file read, "" when none was.
	cfgFile string
	// dirFlag is the --dir flag, to tell a dir given on the command line
	// from one read from the config file.
	dirFlag *pflag.Flag
	// base64 is --base64 of the commands that write JSON: every key and
	// value in base64.
	base64 bool
	// args are the arguments Main was given, which kv hands to kv-etcd: a
	// copy, as Cobra writes into the slice it parses.
	args []string
	// remote opens stores on a cluster: set in kv-etcd, nil in kv.
	remote backend.Opener
}

// runError marks an error returned by a command's own code, as opposed to
// Cobra's argument and flag parsing (which are usage errors).
type runError struct{ err error }

func (e runError) Error() string { return e.err.Error() }
func (e runError) Unwrap() error { return e.err }

// Main runs kv with args and returns the exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return MainWithClock(args, stdin, stdout, stderr, time.Now)
}

// MainWithClock is Main with now as the clock that decides expiry (--ttl,
// expired values, kv ttl). It is how tests and programs that embed kv's
// commands fix the time; the kv binary has no way to change its clock,
// so a stray environment variable cannot make it drop live values.
func MainWithClock(args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time) int {
	return mainWith(args, stdin, stdout, stderr, now, nil)
}

// MainCluster is Main for the kv-etcd binary: the same commands, which
// run on the cluster that opener reaches when endpoints are configured.
func MainCluster(args []string, stdin io.Reader, stdout, stderr io.Writer, opener backend.Opener) int {
	return mainWith(args, stdin, stdout, stderr, time.Now, opener)
}

func mainWith(args []string, stdin io.Reader, stdout, stderr io.Writer, now func() time.Time, remote backend.Opener) int {
	if remote == nil && handoff.Requested(args, os.Getenv) {
		// A cluster command: hand it to kv-etcd before building anything
		// (the kv binary has already tried, in package early, when
		// kv-etcd is beside it). Without kv-etcd, the usual path says
		// what to install.
		if path, err := findClusterBinary(); err == nil {
			err = execBinary(path, append([]string{clusterBinary}, args...))
			fmt.Fprintf(stderr, "kv: run %s: %v\n", path, err)
			return ExitIO
		}
	}
	out := &checkedWriter{w: stdout}
	if f, ok := stdout.(*os.File); ok {
		out.closed = stdoutWasClosed(f)
	}
	a := &app{v: viper.New(), stdin: stdin, stdout: out, rawStdout: stdout, stderr: stderr, now: now, args: slices.Clone(args), remote: remote}
	root := a.newRoot(args)
	root.SetArgs(dataArgs(root, args))
	root.SetIn(stdin)
	cmd, err := root.ExecuteC()
	if err == nil && out.err != nil {
		// Data that did not reach stdout is lost data: a closed stdout,
		// a full disk behind a redirection, a broken pipe.
		err = runError{fmt.Errorf("write standard output: %w", out.err)}
	}
	if err == nil {
		return ExitOK
	}
	var re runError
	if !errors.As(err, &re) {
		// Cobra's own parse errors: unknown flag or command, bad args.
		err = usageError{err}
	}
	code := exitCode(err)
	var ne noError
	if errors.As(err, &ne) && ne.msg == "" {
		return code
	}
	if quiet, _ := root.PersistentFlags().GetBool("quiet"); quiet && (code == ExitNo || ne.code != 0) && cleanNo(err) {
		return code
	}
	msg := describe(err)
	if code == ExitUsage {
		msg += dashKeyHint(root, args)
		if cmd != nil {
			msg += fmt.Sprintf(" (see '%s --help')", cmd.CommandPath())
		}
	}
	fmt.Fprintf(stderr, "kv: %s\n", strings.ReplaceAll(msg, "\n", " "))
	return code
}

// NewRootCommand returns the kv command tree, for the generators of
// completions and man pages.
func NewRootCommand() *cobra.Command {
	a := &app{v: viper.New(), stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	return a.newRoot(nil)
}

// newRoot builds the root command with only the subcommand args run, when
// that is certain (see invokedCommand), else with every subcommand. A
// process runs one command, and the others' flag sets, closures and help
// text are memory that a fresh process must fault in page by page:
// building one instead of all of them halves the command layer's cost
// (BenchmarkMainGet; docs/FIGURES.md).
func (a *app) newRoot(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "kv",
		Short: "A durable key-value store for shell scripts, cron jobs and operators",
		Long: `kv keeps keys and values in a crash-safe, log-structured store in a data
directory. Every write is durable when kv exits 0; many kv processes can
share one directory safely (readers take a shared lock, writers an
exclusive one). The first write creates the store, in a new or empty
directory only: kv refuses to turn a directory of other files into a
store (exit 5), and reads of a directory with no store say so.

stdout carries data only; diagnostics go to stderr; kv never prompts.

Configuration: a flag beats the environment (KV_DIR, KV_LOCK_TIMEOUT,
KV_SYNC, KV_FORMAT, KV_CONFIG), which beats the config file
($XDG_CONFIG_HOME/kv/config.yaml, keys dir, lock-timeout, sync, format),
which beats the default.

` + ExitCodesHelp,
		Example: `  kv set greeting hello          # store
  kv get greeting                # hello
  kv set token < token.txt       # secrets via stdin, never argv
  kv incr hits                   # atomic counter
  kv dump --format jsonl > backup.jsonl
  kv verify                      # check every byte, print the digest`,
		SilenceErrors: true,
		// Parse the global flags before the subcommand strictly, so that a
		// mistyped one is reported as such and not as an unknown command.
		TraverseChildren: true,
		Args:             cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if isVersionRun(cmd) {
				return a.run(a.printVersion)(cmd, args)
			}
			return cmd.Help()
		},
		SilenceUsage: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.loadConfig(cmd)
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	pf := root.PersistentFlags()
	pf.StringP("dir", "d", "", "data directory (default $XDG_DATA_HOME/kv, i.e. ~/.local/share/kv)")
	pf.String("config", "", "config file (default $XDG_CONFIG_HOME/kv/config.yaml when present)")
	pf.BoolP("quiet", "q", false, `a clean "no" (key not found, condition not met, no expiry) exits 1 with nothing on stderr; every other error is still reported`)
	lockTimeout := 10 * time.Second
	pf.Var(durationValue{&lockTimeout}, "lock-timeout", "how long to wait for the data directory's lock (10s, 2m, 1d)")
	pf.Bool("sync", true, "fdatasync every write before reporting success (--sync=false is unsafe)")
	addClusterFlags(pf)
	// Ours, not Cobra's (set by Command.Version): it prints what kv
	// version prints, and reads the build info only when asked.
	root.Flags().Bool("version", false, "print kv's version, as kv version does")
	only := ""
	if !buildWholeTree {
		only = invokedCommand(pf, args)
	}
	for _, sc := range a.subcommands() {
		if only == "" || only == sc.name {
			c := sc.build()
			if dataCommands[sc.name] {
				c.Long += "\n\n" + dataArgsHelp
			}
			root.AddCommand(c)
		}
	}
	// Cobra adds its completion command, five commands and their help
	// text, at every run; a run that is certainly another command's
	// skips it.
	root.CompletionOptions.DisableDefaultCmd = only != ""
	// Set before the completion command is added: it keeps the writers
	// it finds then.
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	if only == "" {
		strictCompletionCmd(root)
	}
	return root
}

// strictCompletionCmd adds Cobra's completion command now, to make an
// unknown shell a usage error: Cobra's own, which only has subcommands,
// prints its help to stdout for `kv completion tcsh` and exits 0, and a
// script would take that help for a completion script.
func strictCompletionCmd(root *cobra.Command) {
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() != "completion" {
			continue
		}
		c.Use, c.Args = "completion SHELL", cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			var shells []string
			for _, sub := range cmd.Commands() {
				if sub.IsAvailableCommand() {
					shells = append(shells, sub.Name())
				}
			}
			return usagef("no completion for shell %q (there is for %s)", args[0], strings.Join(shells, ", "))
		}
	}
}

// subcommand is a command under the root, built on demand.
type subcommand struct {
	name  string
	build func() *cobra.Command
}

// subcommands lists every command under the root, in help order.
func (a *app) subcommands() []subcommand {
	return []subcommand{
		{"set", a.newSetCmd}, {"get", a.newGetCmd}, {"del", a.newDelCmd},
		{"compact", a.newCompactCmd}, {"dump", a.newDumpCmd}, {"verify", a.newVerifyCmd},
		{"version", a.newVersionCmd}, {"incr", a.newIncrCmd}, {"ttl", a.newTTLCmd},
		{"batch", a.newBatchCmd}, {"load", a.newLoadCmd}, {"keys", a.newKeysCmd},
		{"stats", a.newStatsCmd}, {"backup", a.newBackupCmd}, {"repair", a.newRepairCmd},
		{"lock", a.newLockCmd}, {"watch", a.newWatchCmd}, {"wait", a.newWaitCmd},
	}
}

// buildWholeTree makes Main build every subcommand; tests set it to
// compare a command built alone with the whole tree.
var buildWholeTree = false

// invokedCommand returns the subcommand that args run when it can tell
// for sure, else "" (help, completion, a typo, no command): then the whole
// tree is built and Cobra decides, with its suggestions and help intact.
// global holds the root's flags, which say which words are flag values.
func invokedCommand(global *pflag.FlagSet, args []string) string {
	name, _ := invokedCommandAt(global, args)
	return name
}

// invokedCommandAt is invokedCommand with the subcommand's index in args
// (-1 with "").
func invokedCommandAt(global *pflag.FlagSet, args []string) (string, int) {
	for i := 0; i < len(args); i++ {
		arg := args[i]
		switch {
		case arg == "--":
			return "", -1
		case strings.HasPrefix(arg, "-") && !strings.Contains(arg, "="):
			var f *pflag.Flag
			if name, ok := strings.CutPrefix(arg, "--"); ok {
				f = global.Lookup(name)
			} else if len(arg) == 2 {
				f = global.ShorthandLookup(arg[1:])
			}
			if f != nil && f.NoOptDefVal == "" {
				i++ // the flag's value is the next word
			}
			// Otherwise one word: a boolean, -dvalue, or an unknown flag.
		case strings.HasPrefix(arg, "-"):
			// --flag=value: one word.
		default:
			for _, sc := range (&app{}).subcommands() {
				if sc.name == arg {
					return arg, i
				}
			}
			return "", -1
		}
	}
	return "", -1
}

// run wraps a command's code so its errors are told apart from Cobra's.
func (a *app) run(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		version := isVersionRun(cmd)
		if a.cfgErr != nil {
			if !version {
				return runError{a.cfgErr}
			}
			fmt.Fprintf(a.stderr, "kv: warning: %s\n", describe(a.cfgErr))
		}
		if !version {
			if err := a.handOver(); err != nil {
				return runError{err}
			}
		}
		if err := fn(cmd, args); err != nil {
			return runError{err}
		}
		return nil
	}
}
