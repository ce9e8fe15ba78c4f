package cmd

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newDelCmd() *cobra.Command {
	var ifValue, prefix string
	var ifRev uint64
	var all bool
	c := &cobra.Command{
		Use:   "del KEY... | --prefix P | --all",
		Short: "Remove keys",
		Long: `Remove every KEY, atomically: after a crash, all of them are gone or none.
Removing a key that does not exist is not an error (like rm -f), so a
script can run kv del again safely; kv del exits 0 whether or not the keys
existed. With --if-value OLD (one KEY only), the key is removed only if its
value is exactly OLD; with --if-rev N, only if its modification revision is
N (kv get --rev KEY shows it). Otherwise nothing changes and kv del exits 1.

--prefix P removes every key that starts with P, in one atomic batch,
whatever their number, with bounded memory. An empty prefix would remove
every key: that takes --all instead, so that an unset shell variable
(kv del --prefix "$NS") cannot empty the store.`,
		Example: `  kv del session:42
  kv del a b c
  kv del --if-value mine lock:nightly
  kv del --if-rev "$(kv get --rev job:state)" job:state
  kv del --prefix session:        # every session
  kv del --all                    # every key`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: a.completeKeys(-1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			conditional := cmd.Flags().Changed("if-value")
			byRev := cmd.Flags().Changed("if-rev")
			byPrefix := cmd.Flags().Changed("prefix")
			if byPrefix || all {
				switch {
				case len(args) > 0:
					return usagef("give KEYs or --prefix/--all, not both")
				case conditional || byRev:
					return usagef("--if-value and --if-rev take one KEY, not --prefix or --all")
				case byPrefix && all:
					return usagef("--prefix and --all: --all removes every key already")
				case byPrefix && prefix == "":
					return usagef("an empty --prefix would remove every key: use --all to mean that")
				}
				s, err := a.openWrite()
				if err != nil {
					return err
				}
				defer closeStore(s, &err)
				_, err = s.DeletePrefix([]byte(prefix))
				return err
			}
			if len(args) == 0 {
				return usagef("give the KEYs to remove, or --prefix P, or --all")
			}
			if conditional && len(args) != 1 {
				return usagef("--if-value takes exactly one KEY")
			}
			if byRev && len(args) != 1 {
				return usagef("--if-rev takes exactly one KEY")
			}
			if err := checkKeys(args...); err != nil {
				return err
			}
			s, err := a.openWrite()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			return s.Update(func(tx backend.Txn) error {
				if byRev {
					if err := checkRev(tx, []byte(args[0]), ifRev); err != nil {
						return err
					}
				}
				if conditional {
					e, err := tx.GetEntry([]byte(args[0]))
					cur := e.Value
					if errors.Is(err, kv.ErrNotFound) {
						return fmt.Errorf("%w: %q has no value", kv.ErrConditionFailed, args[0])
					}
					if err != nil {
						return err
					}
					if !bytes.Equal(cur, []byte(ifValue)) {
						return fmt.Errorf("%w: the value of %q differs from --if-value", kv.ErrConditionFailed, args[0])
					}
				}
				for _, k := range args {
					tx.Delete([]byte(k))
				}
				return nil
			})
		}),
	}
	c.Flags().StringVar(&ifValue, "if-value", "", "remove only if the current value is exactly this (exit 1 otherwise)")
	c.Flags().Uint64Var(&ifRev, "if-rev", 0, "remove only if KEY's modification revision is this (exit 1 otherwise)")
	c.Flags().StringVar(&prefix, "prefix", "", "remove every key that starts with this (not empty: see --all)")
	c.Flags().BoolVar(&all, "all", false, "remove every key of the store")
	c.MarkFlagsMutuallyExclusive("if-value", "if-rev")
	return c
}
