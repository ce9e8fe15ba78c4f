package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newGetCmd() *cobra.Command {
	var noNewline bool
	c := &cobra.Command{
		Use:   "get KEY",
		Short: "Print the value stored under a key",
		Long: `Print the value stored under KEY, exactly, followed by a newline (-n omits
it, for byte-exact output). A missing or expired key prints nothing on
stdout, a message on stderr, and exits 1.`,
		Example: `  kv get greeting
  kv get -n blob > blob.bin
  if v=$(kv get config:mode 2>/dev/null); then echo "mode is $v"; fi`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeKeys(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			if err := checkKeys(args[0]); err != nil {
				return err
			}
			s, err := a.openRead()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			v, err := s.Get([]byte(args[0]))
			if errors.Is(err, kv.ErrNotFound) {
				return fmt.Errorf("%q: %w", args[0], err)
			}
			if err != nil {
				return err
			}
			if !noNewline {
				v = append(v, '\n')
			}
			_, err = a.stdout.Write(v)
			return err
		}),
	}
	c.Flags().BoolVarP(&noNewline, "no-newline", "n", false, "do not print a newline after the value")
	return c
}
