package cmd

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newIncrCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "incr KEY [DELTA]",
		Short: "Add to an integer counter atomically and print the result",
		Long: `Add DELTA (default 1, may be negative: kv incr n -2) to the decimal integer
stored under KEY, under the exclusive lock, and print the new value. A
missing or expired key counts from 0. The value must be a decimal 64-bit
integer, optionally signed, with at most one trailing newline (what
echo 5 | kv set n stores); the result is stored without it. Any other
value, or a result that would overflow, is an error (exit 1) and leaves
the value untouched. An expiry on the key is kept.

Flags go before KEY, so that a negative DELTA needs no "--".`,
		Example: `  kv incr hits
  kv incr stock:apples -2`,
		Args: func(cmd *cobra.Command, args []string) error {
			return cobra.RangeArgs(1, 2)(cmd, dropDashDash(args))
		},
		ValidArgsFunction: a.completeKeys(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			args = dropDashDash(args)
			if err := checkKeys(args[0]); err != nil {
				return err
			}
			delta := int64(1)
			if len(args) == 2 {
				if delta, err = strconv.ParseInt(args[1], 10, 64); err != nil {
					return usagef("DELTA %q is not a 64-bit integer", args[1])
				}
			}
			s, err := a.openWrite()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			var result int64
			err = s.Update(func(tx backend.Txn) error {
				key := []byte(args[0])
				e, err := tx.GetEntry(key)
				cur, exp := e.Value, e.ExpiresAt
				var n int64
				switch {
				case errors.Is(err, kv.ErrNotFound):
				case err != nil:
					return err
				default:
					// One trailing newline is what echo 5 | kv set n
					// leaves; the result is stored without it.
					if n, err = strconv.ParseInt(strings.TrimSuffix(string(cur), "\n"), 10, 64); err != nil {
						return noError{msg: fmt.Sprintf("the value of %q is not an integer", args[0])}
					}
				}
				if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
					return noError{msg: fmt.Sprintf("%d %+d overflows a 64-bit integer", n, delta)}
				}
				result = n + delta
				v := []byte(strconv.FormatInt(result, 10))
				if exp.IsZero() {
					tx.Set(key, v)
				} else {
					tx.SetExpiring(key, v, exp)
				}
				return nil
			})
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(a.stdout, result)
			return err
		}),
	}
	c.Flags().SetInterspersed(false)
	return c
}

// dropDashDash removes the first "--" of args. A command that stops
// parsing flags at its first argument (SetInterspersed(false)) leaves a
// "--" after it in args, where every other command's parser would have
// taken it as the end of the flags: kv incr n -- -1 is kv incr n -1.
func dropDashDash(args []string) []string {
	for i, a := range args {
		if a == "--" {
			return append(args[:i:i], args[i+1:]...)
		}
	}
	return args
}
