package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/coord"
	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newWaitCmd() *cobra.Command {
	var value string
	var absent, noNewline bool
	var timeout, poll time.Duration
	c := &cobra.Command{
		Use:   "wait KEY [--value V | --absent] [--timeout D]",
		Short: "Wait until a key has a value, a given value, or none",
		Long: `Block until KEY has a live value (by default), has exactly the value V
(--value V), or has none (--absent: never written, deleted or expired), then
exit 0, printing the value as kv get does (nothing with --absent or -q).

--timeout D gives up after D: exit 1 with a message (silent with -q). Without
it, kv wait waits as long as it takes. A condition that already holds
returns at once.

kv wait holds no lock while it waits: it is woken by the filesystem's change
events (inotify), reads the store at least every --poll interval (which
bounds its latency where the filesystem gives no events, as on NFS), and
wakes when the key's value expires. On etcd (--endpoints) it reads the key
and then watches it with etcd's Watch from the revision after that read.`,
		Example: `  # wait for the upstream job, at most 2 hours
  kv wait --timeout 2h job:extract:$(date +%F) || exit 1
  kv wait --value ready service:db
  kv wait --absent lock:maintenance`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeKeys(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			if err := checkKeys(args[0]); err != nil {
				return err
			}
			if cmd.Flags().Changed("timeout") && timeout <= 0 {
				return usagef("--timeout must be positive")
			}
			if cmd.Flags().Changed("poll") && poll <= 0 {
				return usagef("--poll must be positive")
			}
			cond := coord.Condition{Absent: absent}
			if cmd.Flags().Changed("value") {
				cond.Value = []byte(value)
			}
			ctx := context.Background()
			if timeout > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			var got []byte
			co, closeCo, on, err := a.clusterCoordinator(true)
			switch {
			case on && err != nil:
				return err
			case on:
				defer closeCo()
				var e backend.Entry
				e, err = co.Wait(ctx, []byte(args[0]), cond)
				got = e.Value
			default:
				src, serr := a.watchSource(poll)
				if serr != nil {
					return serr
				}
				var e kv.Entry
				e, err = coord.Wait(ctx, src, []byte(args[0]), cond)
				got = e.Value
			}
			if errors.Is(err, context.DeadlineExceeded) {
				return noError{msg: fmt.Sprintf("%q: timed out after %s", args[0], timeout), clean: true}
			}
			if err != nil || absent {
				return err
			}
			v := got
			if !noNewline {
				v = append(v, '\n')
			}
			_, err = a.stdout.Write(v)
			return err
		}),
	}
	f := c.Flags()
	f.StringVar(&value, "value", "", "wait until the value is exactly this")
	f.BoolVar(&absent, "absent", false, "wait until the key has no value")
	f.Var(durationValue{&timeout}, "timeout", "give up after this long (exit 1)")
	f.Var(durationValue{&poll}, "poll", "read the store at least this often (default 1s)")
	f.BoolVarP(&noNewline, "no-newline", "n", false, "do not print a newline after the value")
	c.MarkFlagsMutuallyExclusive("value", "absent")
	return c
}
