package cmd

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newTTLCmd() *cobra.Command {
	var seconds bool
	c := &cobra.Command{
		Use:   "ttl KEY",
		Short: "Print the time a key has left before it expires",
		Long: `Print how long KEY has left before it expires (as 1m30s, or whole seconds
with --seconds). A live key never prints 0: under a second left prints in
milliseconds (1 with --seconds). Exits 1 when the key is missing or never
expires. On etcd (--endpoints) it is the remaining time to live of the
key's lease, which etcd counts in whole seconds.`,
		Example: `  kv set --ttl 90s session:42 active
  kv ttl session:42             # 1m30s
  kv ttl --seconds session:42   # 90`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeKeys(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			if err := checkKeys(args[0]); err != nil {
				return err
			}
			now := a.now
			s, err := a.openRead()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			e, err := s.GetEntry([]byte(args[0]))
			exp := e.ExpiresAt
			if errors.Is(err, kv.ErrNotFound) {
				return a.keyNotFound(s, args[0])
			}
			if err != nil {
				return err
			}
			if exp.IsZero() {
				return noError{msg: fmt.Sprintf("%q has no expiry", args[0]), clean: true}
			}
			_, err = fmt.Fprintln(a.stdout, formatTTL(exp.Sub(now()), seconds))
			return err
		}),
	}
	c.Flags().BoolVar(&seconds, "seconds", false, "print whole seconds")
	return c
}

// formatTTL is the time left of a live key: rounded to the second (whole
// seconds with inSeconds), but never 0, which would read as expired: under
// a second left prints as milliseconds, rounded up (1 with inSeconds).
func formatTTL(left time.Duration, inSeconds bool) string {
	if left < time.Second {
		if inSeconds {
			return "1"
		}
		ms := (left + time.Millisecond - 1) / time.Millisecond * time.Millisecond
		return max(ms, time.Millisecond).String()
	}
	if inSeconds {
		return fmt.Sprint(int64(left.Round(time.Second) / time.Second))
	}
	return left.Round(time.Second).String()
}
