package cmd

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newGetCmd() *cobra.Command {
	var noNewline, rev bool
	var format string
	c := &cobra.Command{
		Use:   "get KEY",
		Short: "Print the value stored under a key",
		Long: `Print the value stored under KEY, exactly, followed by a newline (-n omits
it, for byte-exact output). A missing or expired key prints nothing on
stdout, a message on stderr, and exits 1.

--rev prints KEY's modification revision instead: the revision of the write
that last changed it, which kv set --if-rev and kv del --if-rev compare
against. --format json prints one object with the key, the value (as
"value", or "value_base64" when it is not UTF-8), "expires_at" when it
expires, and "mod_revision": the value and its revision read together.
Only the --format flag chooses get's format; KV_FORMAT and the config file's
format (meant for dump, stats and verify) never change what get prints.`,
		Example: `  kv get greeting
  kv get -n blob > blob.bin
  if v=$(kv get config:mode 2>/dev/null); then echo "mode is $v"; fi
  rev=$(kv get --rev config:mode)
  kv get --format json config:mode`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeKeys(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			if err := checkKeys(args[0]); err != nil {
				return err
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
				if v, err = json.Marshal(newJSONEntry(e.Key, e.Value, true, e.ExpiresAt, e.Rev)); err != nil {
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
	return c
}
