package main

import (
	"fmt"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kvtool/kv/cmd"
)

// manDate is printed in every man page's header. It is fixed, not the
// build time, so regenerating the pages gives the same bytes.
const manDate = "November 2026"

// ManPages returns kv.1 and one page per command (kv-get.1, …), in roff.
func ManPages() (map[string][]byte, error) {
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
		out[name+".1"] = md2man.Render([]byte(manMarkdown(c)))
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	return out, nil
}

func manMarkdown(c *cobra.Command) string {
	var b strings.Builder
	name := strings.ReplaceAll(c.CommandPath(), " ", "-")
	fmt.Fprintf(&b, "%% %q \"1\" %q \"kv\" \"kv manual\"\n", strings.ToUpper(name), manDate)
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
	for _, line := range strings.Split(cmd.ExitCodesHelp, "\n")[1:] {
		code, text, _ := strings.Cut(strings.TrimSpace(line), "  ")
		fmt.Fprintf(&b, "**%s**\n:   %s\n\n", code, manEscape(strings.TrimSpace(text)))
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

**XDG_DATA_HOME**, **XDG_CONFIG_HOME**
:   base of the default data directory and config file

# FILES

*$XDG_DATA_HOME/kv* (default *~/.local/share/kv*)
:   the default data directory: MANIFEST, NNNNNN.wal (the write-ahead log), NNNNNN.sst (sorted tables), created 0700 with files 0600; kv locks the directory itself (flock), so no lock file can be deleted under a running kv

*$XDG_CONFIG_HOME/kv/config.yaml* (default *~/.config/kv/config.yaml*)
:   optional config file with the keys dir, lock-timeout, sync and format

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
		if strings.HasPrefix(para, "  ") {
			out = append(out, "```\n"+para+"\n```")
			continue
		}
		out = append(out, manEscape(strings.ReplaceAll(para, "\n", " ")))
	}
	return strings.Join(out, "\n\n")
}
