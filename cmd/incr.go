package cmd

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newIncrCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "incr KEY [DELTA]",
		Short: "Add to an integer counter atomically and print the result",
		Long: `Add DELTA (default 1, may be negative: kv incr n -2) to the decimal integer
stored under KEY, under the exclusive lock, and print the new value. A
missing or expired key counts from 0. A value that is not a decimal 64-bit
integer, or a result that would overflow, is an error (exit 1) and leaves
the value untouched. An expiry on the key is kept.

Flags go before KEY, so that a negative DELTA needs no "--".`,
		Example: `  kv incr hits
  kv incr stock:apples -2`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: a.completeKeys(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
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
			err = s.Update(func(tx *kv.Txn) error {
				key := []byte(args[0])
				cur, exp, err := tx.GetWithExpiry(key)
				var n int64
				switch {
				case errors.Is(err, kv.ErrNotFound):
				case err != nil:
					return err
				default:
					if n, err = strconv.ParseInt(string(cur), 10, 64); err != nil {
						return noError{fmt.Sprintf("the value of %q is not an integer", args[0])}
					}
				}
				if (delta > 0 && n > math.MaxInt64-delta) || (delta < 0 && n < math.MinInt64-delta) {
					return noError{fmt.Sprintf("%d %+d overflows a 64-bit integer", n, delta)}
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
