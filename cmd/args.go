package cmd

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// dataArgsHelp states the rule for words that look like flags, in the
// help of every data command.
const dataArgsHelp = `Arguments that look like flags: after KEY, every word is data unless it is
one of the command's flags (--long, --long=value, or a one-letter flag
standing alone, -n), so kv set temp -5 stores "-5". A KEY that starts with
"-" needs "--" before it: kv get -- -dash.`

// dataCommands are the commands whose arguments are keys and values.
var dataCommands = map[string]bool{"set": true, "get": true, "del": true, "ttl": true, "wait": true, "keys": true}

// dataArgs applies the rule of dataArgsHelp before Cobra parses args: for
// a data command, a word after the first positional argument that looks
// like a flag but is not one of the command's is moved, with the other
// positional arguments, after a "--" that follows the real flags, so that
// kv set temp -5 --ttl 1h reaches Cobra as kv set --ttl 1h -- temp -5.
// args are returned unchanged when no word is data of that kind, and
// always for other commands.
func dataArgs(root *cobra.Command, args []string) []string {
	name, at := invokedCommandAt(root.PersistentFlags(), args)
	if !dataCommands[name] {
		return args
	}
	sub, _, err := root.Find([]string{name})
	if err != nil || sub == root {
		return args
	}
	lookup := func(f func(*pflag.FlagSet) *pflag.Flag) *pflag.Flag {
		if fl := f(sub.Flags()); fl != nil {
			return fl
		}
		return f(root.PersistentFlags())
	}
	var flags, data []string
	positional, moved := false, false
	rest := args[at+1:]
	for i := 0; i < len(rest); i++ {
		w := rest[i]
		if w == "--" {
			data = append(data, rest[i+1:]...)
			break
		}
		if len(w) < 2 || w[0] != '-' {
			positional = true
			data = append(data, w)
			continue
		}
		var fl *pflag.Flag
		known := false
		switch long, isLong := strings.CutPrefix(w, "--"); {
		case isLong:
			n, _, hasValue := strings.Cut(long, "=")
			fl = lookup(func(fs *pflag.FlagSet) *pflag.Flag { return fs.Lookup(n) })
			// Before KEY every flag is Cobra's to judge; --help is added
			// by Cobra later, so it is not in the flag set yet.
			known = fl != nil || !positional || w == "-h" || n == "help"
			if hasValue {
				fl = nil // no next word to take
			}
		case !positional || len(w) == 2:
			fl = lookup(func(fs *pflag.FlagSet) *pflag.Flag { return fs.ShorthandLookup(w[1:2]) })
			known = fl != nil || !positional || w == "-h"
			if len(w) > 2 {
				fl = nil // -dVALUE or -qn: one word
			}
		}
		if !known {
			moved = true
			data = append(data, w)
			continue
		}
		flags = append(flags, w)
		if fl != nil && fl.NoOptDefVal == "" && i+1 < len(rest) {
			i++
			flags = append(flags, rest[i])
		}
	}
	if !moved {
		return args
	}
	out := append(append(args[:at+1:at+1], flags...), "--")
	return append(out, data...)
}

// dashKeyHint returns, for a usage error of a data command, a hint when a
// word before KEY looks like a KEY that starts with "-": Cobra reads
// kv get -dash as -d ash and then misses the KEY, and neither part of
// that error says what the user meant. "" when no word is of that kind.
func dashKeyHint(root *cobra.Command, args []string) string {
	name, at := invokedCommandAt(root.PersistentFlags(), args)
	if !dataCommands[name] {
		return ""
	}
	sub, _, err := root.Find([]string{name})
	if err != nil {
		return ""
	}
	known := func(w string) bool {
		return w == "-h" || sub.Flags().ShorthandLookup(w[1:]) != nil || root.PersistentFlags().ShorthandLookup(w[1:]) != nil
	}
	for _, w := range args[at+1:] {
		if w == "--" || len(w) < 2 || w[0] != '-' {
			return "" // the KEY came first, or after --
		}
		if w[1] != '-' && (len(w) > 2 || !known(w)) {
			return fmt.Sprintf(`; a KEY that starts with "-" needs "--" before it: kv %s -- %s`, name, w)
		}
	}
	return ""
}
