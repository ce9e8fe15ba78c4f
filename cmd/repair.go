package cmd

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newRepairCmd() *cobra.Command {
	var dryRun bool
	c := &cobra.Command{
		Use:   "repair",
		Short: "Salvage every intact record of a damaged store",
		Long: `Read every log and table of the store, keep every intact record and table
block, copy each damaged file into a dated folder inside the data
directory (damaged-YYYYMMDDTHHMMSSZ/), and rebuild the store from what was
kept. Prints what it kept and what it could not read: the damaged ranges,
how many records they are known to have held, and every key that may have
lost a newer version (its newest version kept is older than a damaged
range that could have held a newer one, so its value, or its absence,
may be out of date; kv cannot tell which of them did). --dry-run reports
all of it and changes nothing. Nothing is deleted before its copy is
durable. When anything was lost, one line on stderr also says how many
records, table entries and bytes were dropped and from which files,
whatever --format says; the exit status stays 0 (the store is usable).

A table that a compaction replaced, kept by a power loss, is recognised by
the revisions it covers and not read (it would bring back values the
compaction dropped): repair names it as superseded and removes it. The
repaired store continues above the last revision it may have given, so no
revision is ever given twice.

kv repair has no meaning on etcd (--endpoints): it exits 2 saying so.`,
		Example: `  kv repair --dry-run   # what would be kept and lost
  kv repair && kv verify`,
		Args: cobra.NoArgs,
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			format, err := a.outputFormat(cmd, []string{"table", "json"}, "table")
			if err != nil {
				return err
			}
			if err := a.localOnly("kv repair", "etcd's members keep their data consistent by Raft; a lost member is replaced (etcdctl member remove/add), a lost cluster restored from a snapshot (kv backup, then etcdutl snapshot restore)"); err != nil {
				return err
			}
			dir, opts, err := a.options(false)
			if err != nil {
				return err
			}
			rep, err := kv.Repair(dir, &kv.RepairOptions{Options: *opts, DryRun: dryRun})
			if err != nil {
				return err
			}
			if len(rep.Lost) > 0 {
				// The loss is said on stderr too, whatever the format, so
				// that it reaches a person even when stdout does not (a
				// cron job's > /dev/null). The exit status stays 0: the
				// store is usable.
				a.warnRepairLoss(rep, dryRun)
			}
			if format == "json" {
				return a.printJSON(rep)
			}
			w := a.stdout
			fmt.Fprintf(w, "kept: %d log records and %d table entries, %d live keys\n", rep.Records, rep.Entries, rep.Keys)
			fmt.Fprintf(w, "revision: %d\n", rep.Revision)
			for _, p := range rep.Lost {
				fmt.Fprintf(w, "lost: %s\n", p)
			}
			for _, d := range rep.Damaged {
				fmt.Fprintf(w, "damaged: %s\n", d)
			}
			for _, t := range rep.Superseded {
				fmt.Fprintf(w, "superseded: %s (replaced by a later compaction; not read)\n", t)
			}
			if rep.DroppedRecords > 0 || rep.DroppedEntries > 0 {
				fmt.Fprintf(w, "dropped: at least %d log records and %d table entries, %d unreadable bytes\n", rep.DroppedRecords, rep.DroppedEntries, rep.DroppedBytes)
			}
			if n := len(rep.MayHaveLostNewer); n > 0 {
				fmt.Fprintf(w, "may have lost a newer version: %d keys, whose newest version kept is older than a damaged range (kv cannot tell which did):\n", n)
				for _, k := range rep.MayHaveLostNewer {
					fmt.Fprintf(w, "stale: %q\n", k)
				}
			}
			if rep.Renumber {
				fmt.Fprintln(w, "renumber: the store's file numbers are near their limit; the repaired store starts again from low numbers")
			}
			switch {
			case len(rep.Damaged) == 0 && !rep.Renumber:
				fmt.Fprintln(w, "nothing to repair")
			case dryRun:
				fmt.Fprintln(w, "dry run: nothing changed")
			case len(rep.Damaged) == 0:
				fmt.Fprintln(w, "repaired: renumbered")
			default:
				fmt.Fprintf(w, "repaired; damaged files copied to %s\n", rep.MovedTo)
			}
			return nil
		}),
	}
	c.Flags().BoolVar(&dryRun, "dry-run", false, "report what would be done, change nothing")
	c.Flags().String("format", "", "output format: table or json")
	return c
}

// warnRepairLoss writes one line on stderr saying what a repair dropped
// (or, on a dry run, would drop) and from which files.
func (a *app) warnRepairLoss(rep *kv.RepairReport, dryRun bool) {
	var files []string
	for _, p := range rep.Lost {
		if f := filepath.Base(p.File); !slices.Contains(files, f) {
			files = append(files, f)
		}
	}
	verb := "dropped"
	if dryRun {
		verb = "would drop"
	}
	msg := fmt.Sprintf("kv: repair %s at least %d log records and %d table entries (%d unreadable bytes) from %s",
		verb, rep.DroppedRecords, rep.DroppedEntries, rep.DroppedBytes, strings.Join(files, ", "))
	if n := len(rep.MayHaveLostNewer); n > 0 {
		msg += fmt.Sprintf("; %d keys may have lost a newer version (listed in the report)", n)
	}
	fmt.Fprintln(a.stderr, msg)
}
