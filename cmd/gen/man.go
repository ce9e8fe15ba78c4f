package main

import (
	"fmt"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kvtool/kv/cmd"
)

// ManHeader is what a man page's header carries besides the name: the
// version ("kv 1.2.0") and date a release builds its pages with. The
// committed pages carry neither, so that go generate gives the same bytes
// on every machine and day.
type ManHeader struct {
	Version, Date string
}

// ManPages returns kv.1 and one page per command (kv-get.1, …), in roff.
func ManPages(h ManHeader) (map[string][]byte, error) {
	root := cmd.NewRootCommand()
	root.InitDefaultCompletionCmd()
	out := map[string][]byte{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		// Cobra adds --help only when a command runs; the page lists it.
		c.InitDefaultHelpFlag()
		name := strings.ReplaceAll(c.CommandPath(), " ", "-")
		out[name+".1"] = asciiRoff(md2man.Render([]byte(manMarkdown(c, h))))
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	out["kv-etcd.1"] = asciiRoff(md2man.Render([]byte(clusterManMarkdown(h))))
	return out, nil
}

func manMarkdown(c *cobra.Command, h ManHeader) string {
	var b strings.Builder
	name := strings.ReplaceAll(c.CommandPath(), " ", "-")
	source := "kv"
	if h.Version != "" {
		source = "kv " + h.Version
	}
	fmt.Fprintf(&b, "%% %q \"1\" %q %q \"kv manual\"\n", strings.ToUpper(name), h.Date, source)
	fmt.Fprintf(&b, "# NAME\n%s \\- %s\n\n", name, c.Short)
	fmt.Fprintf(&b, "# SYNOPSIS\n\n**%s**", c.CommandPath())
	if c.HasAvailableSubCommands() && !c.Runnable() {
		b.WriteString(" *COMMAND*")
	} else if i := strings.Index(c.Use, " "); i > 0 {
		b.WriteString(" " + manEscape(c.Use[i+1:]))
	}
	b.WriteString(" [*OPTIONS*]\n\n")
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	if c == c.Root() {
		desc = strings.Split(desc, "Exit status:")[0]
	}
	fmt.Fprintf(&b, "# DESCRIPTION\n\n%s\n\n", manParagraphs(desc))
	if c.HasAvailableSubCommands() {
		b.WriteString("# COMMANDS\n\n")
		for _, sub := range c.Commands() {
			if sub.IsAvailableCommand() {
				fmt.Fprintf(&b, "**%s**\n:   %s (see **%s-%s**(1))\n\n", sub.Name(), sub.Short, strings.ReplaceAll(c.CommandPath(), " ", "-"), sub.Name())
			}
		}
	}
	writeFlags(&b, "OPTIONS", c.NonInheritedFlags())
	writeFlags(&b, "GLOBAL OPTIONS", c.InheritedFlags())
	b.WriteString("# EXIT STATUS\n\n")
	// Each code is one item: a line that starts deeper than the codes
	// continues the item above it.
	var codes [][2]string
	for _, line := range strings.Split(cmd.ExitCodesHelp, "\n")[1:] {
		if strings.HasPrefix(line, "     ") && len(codes) > 0 {
			codes[len(codes)-1][1] += " " + strings.TrimSpace(line)
			continue
		}
		code, text, _ := strings.Cut(strings.TrimSpace(line), "  ")
		codes = append(codes, [2]string{code, strings.TrimSpace(text)})
	}
	for _, c := range codes {
		fmt.Fprintf(&b, "**%s**\n:   %s\n\n", c[0], manEscape(c[1]))
	}
	b.WriteString(`# ENVIRONMENT

**KV_DIR**
:   data directory, when **--dir** is not given

**KV_LOCK_TIMEOUT**
:   lock timeout (e.g. 10s), when **--lock-timeout** is not given

**KV_SYNC**
:   **false** to skip fdatasync after writes (unsafe)

**KV_FORMAT**
:   default output format of dump, verify, stats and repair

**KV_CONFIG**
:   config file, when **--config** is not given

**KV_ENDPOINTS**
:   etcd endpoints, when **--endpoints** is not given: the command runs on that cluster (through **kv-etcd**)

**KV_PASSWORD**
:   the password of **--user** on etcd (or **--password-file**; never the command line)

**XDG_DATA_HOME**, **XDG_CONFIG_HOME**
:   base of the default data directory and config file

# FILES

*$XDG_DATA_HOME/kv* (default *~/.local/share/kv*)
:   the default data directory: MANIFEST, NNNNNN.wal (the write-ahead log), NNNNNN.sst (sorted tables), created 0700 with files 0600; kv locks the directory itself (flock), so no lock file can be deleted under a running kv

*$XDG_CONFIG_HOME/kv/config.yaml* (default *~/.config/kv/config.yaml*)
:   optional config file with the keys dir, lock-timeout, sync and format, and for etcd endpoints, cacert, cert, key, user, password-file, dial-timeout and command-timeout

`)
	example := strings.Trim(c.Example, "\n")
	if example == "" {
		// Cobra's own commands (completion) carry their examples in the
		// description; the section still shows the plain invocation.
		example = "  " + c.UseLine()
	}
	fmt.Fprintf(&b, "# EXAMPLES\n\n```\n%s\n```\n\n", example)
	b.WriteString("# SECURITY\n\nA value given on the command line is visible to every user of the machine through the process list. Pass secrets on standard input (**kv set KEY < file**) or with **--value-file**. kv never prints values on stderr.\n\n")
	b.WriteString("# SEE ALSO\n\n")
	var see []string
	if c.HasParent() {
		see = append(see, fmt.Sprintf("**%s**(1)", strings.ReplaceAll(c.Parent().CommandPath(), " ", "-")))
	}
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			see = append(see, fmt.Sprintf("**%s-%s**(1)", strings.ReplaceAll(c.CommandPath(), " ", "-"), sub.Name()))
		}
	}
	if len(see) == 0 {
		see = append(see, "**kv**(1)")
	}
	b.WriteString(strings.Join(see, ", ") + "\n")
	return b.String()
}

func writeFlags(b *strings.Builder, title string, fs *pflag.FlagSet) {
	if !fs.HasAvailableFlags() {
		return
	}
	fmt.Fprintf(b, "# %s\n\n", title)
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		b.WriteString("**")
		if f.Shorthand != "" {
			fmt.Fprintf(b, "-%s**, **", f.Shorthand)
		}
		fmt.Fprintf(b, "--%s**", f.Name)
		if f.Value.Type() != "bool" {
			fmt.Fprintf(b, " *%s*", f.Value.Type())
		}
		usage := manEscape(f.Usage)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "[]" && f.DefValue != "0" {
			usage += fmt.Sprintf(" (default %s)", manEscape(f.DefValue))
		}
		fmt.Fprintf(b, "\n:   %s\n\n", usage)
	})
}

// manEscape keeps markdown from reading *, _ and \ in help text as markup.
func manEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, "*", `\*`, "_", `\_`, "<", `\<`, ">", `\>`, "`", "\\`")
	return r.Replace(s)
}

// manParagraphs renders help text: indented blocks stay literal.
func manParagraphs(s string) string {
	var out []string
	for _, para := range strings.Split(strings.TrimSpace(s), "\n\n") {
		// A paragraph is prose (lines joined) and indented blocks (a
		// list or an example, kept as written), in the order given.
		var prose, block []string
		flush := func() {
			if len(prose) > 0 {
				out = append(out, manEscape(strings.Join(prose, " ")))
				prose = nil
			}
			if len(block) > 0 {
				out = append(out, "```\n"+strings.Join(block, "\n")+"\n```")
				block = nil
			}
		}
		for _, line := range strings.Split(para, "\n") {
			if indented := strings.HasPrefix(line, "  "); indented != (len(block) > 0) && (len(prose) > 0 || len(block) > 0) {
				flush()
			}
			if strings.HasPrefix(line, "  ") {
				block = append(block, line)
			} else {
				prose = append(prose, line)
			}
		}
		flush()
	}
	return strings.Join(out, "\n\n")
}

// asciiRoff writes every character outside ASCII as groff's \[uXXXX], so
// that the pages render the same whatever input encoding troff assumes
// (groff -man reads Latin-1 unless told otherwise).
func asciiRoff(page []byte) []byte {
	var b strings.Builder
	for _, r := range string(page) {
		if r < 0x80 {
			b.WriteRune(r)
		} else {
			fmt.Fprintf(&b, "\\[u%04X]", r)
		}
	}
	return []byte(b.String())
}

// clusterManMarkdown is the page of kv-etcd, the binary kv runs for a
// cluster: users type kv, so the page says so and points to kv(1).
func clusterManMarkdown(h ManHeader) string {
	source := "kv"
	if h.Version != "" {
		source = "kv " + h.Version
	}
	return fmt.Sprintf(`%% "KV-ETCD" "1" %q %q "kv manual"
# NAME
kv-etcd \- kv's commands on an etcd cluster

# SYNOPSIS

**kv-etcd** *COMMAND* [*OPTIONS*]

# DESCRIPTION

kv-etcd is the kv command suite built with etcd's client, which the kv binary does not link. kv runs it, with the same arguments, environment and standard streams, and returns its exit status, when endpoints are configured (**--endpoints**, **KV_ENDPOINTS** or **endpoints:** in the config file). Type **kv**, not kv-etcd: every command, option and exit status is described in **kv**(1) and the pages of its commands.

kv looks for kv-etcd beside its own executable, then on PATH.

# EXIT STATUS

As **kv**(1).

# SEE ALSO

**kv**(1), **etcd**(1), **etcdctl**(1)
`, h.Date, source)
}
