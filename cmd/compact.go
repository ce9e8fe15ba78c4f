package cmd

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"
)

func (a *app) newCompactCmd() *cobra.Command {
	var verbose bool
	c := &cobra.Command{
		Use:   "compact",
		Short: "Rewrite the store into one table of live values",
		Long: `Merge the log and every table into one table that holds only live values:
deleted, overwritten and expired values are dropped. Crash-safe at every
step: the old files stay live until the new ones are durable. The
compacted table's bytes depend only on the live contents, so two stores
holding the same data compact to identical bytes. -v reports the sizes
before and after and the time taken, on stderr.

The new table needs room on the device, about the size of the store's
files; without it kv compact exits 5 and changes nothing. Deletes and
small writes still work on a full device: they go to the log, whose
flush into a table is put off (with a warning) until there is room.

On etcd (--endpoints), kv compact compacts the cluster's history at the
current revision, defragments every member, and then disarms the
out-of-space alarms (etcd raises one when a member's database reaches
its quota, and then refuses every write but deletes), saying so on
stderr. A member still over its quota raises its alarm at the next write.`,
		Example: `  kv compact
  kv compact -v          # sizes before and after, and the time taken`,
		Args: cobra.NoArgs,
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			start := time.Now()
			s, err := a.openWrite()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			st, err := s.Compact()
			if err != nil {
				return err
			}
			for _, n := range st.Notes {
				fmt.Fprintf(a.stderr, "kv: %s\n", n)
			}
			if verbose {
				fmt.Fprintf(a.stderr, "compacted: %d bytes %s before, %d bytes after (%.1f%%), in %s\n",
					st.BytesBefore, st.Before, st.BytesAfter, percent(st.BytesAfter, st.BytesBefore), time.Since(start).Round(time.Microsecond))
			}
			return nil
		}),
	}
	c.Flags().BoolVarP(&verbose, "verbose", "v", false, "report sizes before and after, and the time taken (on stderr)")
	return c
}

func percent(a, b int64) float64 {
	if b == 0 {
		return 100
	}
	return 100 * float64(a) / float64(b)
}
