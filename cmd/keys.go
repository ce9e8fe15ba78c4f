package cmd

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"

	"github.com/spf13/cobra"
)

func (a *app) newKeysCmd() *cobra.Command {
	var limit int
	var null bool
	c := &cobra.Command{
		Use:   "keys [PREFIX]",
		Short: "List keys, one a line, in order",
		Long: `List the live keys starting with PREFIX (all keys without one), one a
line, in byte order: the fast path for scripts. --limit stops after N keys.

Keys are written as they are, byte for byte. With -0 (--null) each ends
with a NUL byte instead of a newline, for keys that hold newlines: kv keys
-0 | xargs -0 kv del. A key that itself holds a NUL byte cannot be written
so and stops kv keys -0 (exit 1), naming it in base64.`,
		Example: `  kv keys user:
  kv keys | wc -l
  kv keys -0 tmp: | xargs -0 -r kv del`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: a.completeKeys(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			var prefix []byte
			if len(args) == 1 {
				prefix = []byte(args[0])
			}
			if limit < 0 {
				return usagef("--limit must not be negative")
			}
			s, err := a.openRead()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			w := bufio.NewWriterSize(a.stdout, 64<<10)
			end := byte('\n')
			if null {
				end = 0
			}
			err = s.ScanKeys(prefix, limit, func(k []byte) error {
				if null && bytes.IndexByte(k, 0) >= 0 {
					return noError{msg: fmt.Sprintf("key (base64) %s holds a NUL byte, which -0 cannot separate: list it with kv dump --format jsonl", base64.StdEncoding.EncodeToString(k))}
				}
				w.Write(k)
				return w.WriteByte(end)
			})
			if err != nil {
				return err
			}
			return w.Flush()
		}),
	}
	c.Flags().IntVar(&limit, "limit", 0, "stop after this many keys (0: no limit)")
	c.Flags().BoolVarP(&null, "null", "0", false, "end each key with a NUL byte instead of a newline")
	return c
}
