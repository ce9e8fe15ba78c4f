package cmd

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newGetCmd() *cobra.Command {
	var noNewline, rev bool
	var format string
	c := &cobra.Command{
		Use:   "get KEY [KEY...]",
		Short: "Print the value stored under a key (or several)",
		Long: `Print the value stored under KEY, exactly, followed by a newline (-n omits
it, for byte-exact output). A missing or expired key prints nothing on
stdout, a message on stderr, and exits 1.

--rev prints KEY's modification revision instead: the revision of the write
that last changed it, which kv set --if-rev and kv del --if-rev compare
against. --format json prints one object with the key, the value (as
"value", or "value_base64" when it is not UTF-8), "expires_at" when it
expires, and "mod_revision": the value and its revision read together.
Only the --format flag chooses get's format; KV_FORMAT and the config file's
format (meant for dump, stats and verify) never change what get prints.

With several KEYs, kv get reads them all from one consistent view and
prints one such JSON object per line for each key found, in the order
given, so that binary values and newlines stay unambiguous; raw output and
--rev take one KEY. Keys not found are named in one line on stderr, and
kv get then exits 1 after printing the others.`,
		Example: `  kv get greeting
  kv get -n blob > blob.bin
  if v=$(kv get config:mode 2>/dev/null); then echo "mode is $v"; fi
  rev=$(kv get --rev config:mode)
  kv get --format json config:mode
  kv get host:a host:b host:c | jq -r .value`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: a.completeKeys(-1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			if err := checkKeys(args...); err != nil {
				return err
			}
			if len(args) > 1 {
				switch {
				case rev:
					return usagef("--rev takes one KEY (with several, each JSON line holds its mod_revision)")
				case cmd.Flags().Changed("format") && format != "json":
					return usagef("--format %s takes one KEY: several values are printed as JSON lines", format)
				}
				return a.getMany(args)
			}
			if format != "" && format != "raw" && format != "json" {
				return usagef("unknown format %q (want raw or json)", format)
			}
			if rev && format == "json" {
				return usagef("--rev and --format json: the JSON object holds the revision already")
			}
			s, err := a.openRead()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			key := []byte(args[0])
			if !rev && format != "json" {
				// The value goes straight to stdout: a value of hundreds
				// of megabytes is held once.
				_, err := s.GetTo(key, a.stdout)
				if errors.Is(err, kv.ErrNotFound) {
					return a.keyNotFound(s, args[0])
				}
				if err == nil && !noNewline {
					_, err = a.stdout.Write([]byte{'\n'})
				}
				return err
			}
			e, err := s.GetEntry(key)
			if errors.Is(err, kv.ErrNotFound) {
				return a.keyNotFound(s, args[0])
			}
			if err != nil {
				return err
			}
			var v []byte
			switch {
			case rev:
				v = strconv.AppendUint(nil, e.Rev, 10)
			case format == "json":
				if v, err = json.Marshal(a.newJSONEntry(e.Key, e.Value, true, e.ExpiresAt, e.Rev)); err != nil {
					return err
				}
			}
			if !noNewline {
				v = append(v, '\n')
			}
			_, err = a.stdout.Write(v)
			return err
		}),
	}
	c.Flags().BoolVarP(&noNewline, "no-newline", "n", false, "do not print a newline after the value")
	c.Flags().BoolVar(&rev, "rev", false, "print the key's modification revision instead of its value")
	c.Flags().StringVar(&format, "format", "raw", "output format: raw (the value's bytes) or json (key, value, expiry and revision)")
	c.Flags().BoolVar(&a.base64, "base64", false, "json: write the key and value in base64 (key_base64, value_base64), whatever they hold")
	return c
}

// getMany prints one JSON line for each of keys found, in order, from one
// view; the keys not found are named on stderr in one line (exit 1).
func (a *app) getMany(keys []string) (err error) {
	s, err := a.openRead()
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	var missing []string
	for _, k := range keys {
		e, err := s.GetEntry([]byte(k))
		if errors.Is(err, kv.ErrNotFound) {
			missing = append(missing, strconv.Quote(k))
			continue
		}
		if err != nil {
			return err
		}
		line, err := json.Marshal(a.newJSONEntry(e.Key, e.Value, true, e.ExpiresAt, e.Rev))
		if err != nil {
			return err
		}
		if _, err := a.stdout.Write(append(line, '\n')); err != nil {
			return err
		}
	}
	if len(missing) > 0 {
		msg := fmt.Sprintf("not found: %s", strings.Join(missing, ", "))
		if !s.Found() {
			dir, _ := a.dataDir()
			msg += " (there is no store at " + dir + ")"
		}
		return noError{msg: msg, clean: true}
	}
	return nil
}
