package cmd

import (
	"bufio"

	"github.com/spf13/cobra"
)

func (a *app) newKeysCmd() *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "keys [PREFIX]",
		Short: "List keys, one a line, in order",
		Long: `List the live keys starting with PREFIX (all keys without one), one a
line, in byte order: the fast path for scripts. --limit stops after N keys.`,
		Example: `  kv keys user:
  kv keys | wc -l`,
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
			err = s.ScanKeys(prefix, limit, func(k []byte) error {
				w.Write(k)
				return w.WriteByte('\n')
			})
			if err != nil {
				return err
			}
			return w.Flush()
		}),
	}
	c.Flags().IntVar(&limit, "limit", 0, "stop after this many keys (0: no limit)")
	return c
}
