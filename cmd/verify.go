package cmd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/inspect"
	"github.com/spf13/cobra"
)

func (a *app) newVerifyCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "verify",
		Short: "Check every byte of every file of the store",
		Long: `Check the whole store under a shared lock, modifying nothing: the
manifest, every log record's checksum and sequence number, every table's
blocks, index, filter and footer, and that the manifest's files exist with
the sizes it records. Prints a table of the files (records, bytes,
status), each problem with its file and offset, notes, permission
warnings, and the content digest (SHA-256 of the live contents: equal for
stores with equal contents).

What a crash normally leaves (a torn log tail, files of an interrupted
flush or compaction) is a note, not a problem. Exits 0 when there is no
problem and 1 when there is one; --format json for machines.

On etcd (--endpoints), kv verify checks the cluster instead: every member
answers, the members' hashes of the keys at one revision (etcd's HashKV)
agree, and no alarm is raised (a member out of space or one that found its
data corrupt); the table lists the members.`,
		Example: `  kv verify
  kv verify --format json | jq .problems
  kv verify >/dev/null || echo "store damaged: run kv repair"`,
		Args: cobra.NoArgs,
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			format, err := a.outputFormat(cmd, []string{"table", "json"}, "table")
			if err != nil {
				return err
			}
			rep, err := a.verify()
			if err != nil {
				return err
			}
			if err := a.printReport(rep, format); err != nil {
				return err
			}
			if !rep.OK() {
				return noError{msg: fmt.Sprintf("verify found %d problem(s) in %s", len(rep.Problems), rep.Dir)}
			}
			return nil
		}),
	}
	c.Flags().String("format", "", "output format: table or json")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"table", "json"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// verify checks the data directory, or the cluster when endpoints are
// configured.
func (a *app) verify() (*inspect.Report, error) {
	if s, on, err := a.openCluster(true); on {
		if err != nil {
			return nil, err
		}
		defer s.Close()
		v, ok := s.(backend.Verifier)
		if !ok {
			return nil, usagef("kv verify: the cluster backend cannot verify")
		}
		return v.Verify()
	}
	dir, opts, err := a.options(true)
	if err != nil {
		return nil, err
	}
	return inspect.Verify(dir, opts)
}

func (a *app) printReport(rep *inspect.Report, format string) error {
	if rep.Digest != "" {
		// One spelling of the digest in every output: sha256:HEX.
		r := *rep
		r.Digest = "sha256:" + rep.Digest
		rep = &r
	}
	w := bufio.NewWriter(a.stdout)
	if format == "json" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		w.Write(append(b, '\n'))
		return w.Flush()
	}
	if len(rep.Files) > 0 {
		t := newTable(w, "file", "kind", "records", "bytes", "status")
		for _, f := range rep.Files {
			t.Append([]string{f.File, f.Kind, strconv.Itoa(f.Records), strconv.FormatInt(f.Bytes, 10), f.Status})
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, n := range rep.Warnings {
		fmt.Fprintf(w, "warning: %s\n", n)
	}
	if rep.Digest != "" {
		fmt.Fprintf(w, "keys: %d\ndigest: %s\n", rep.Keys, rep.Digest)
	}
	if rep.OK() {
		fmt.Fprintf(w, "ok: no problems in %s\n", rep.Dir)
	} else {
		fmt.Fprintf(w, "FAILED: %d problem(s) in %s\n", len(rep.Problems), rep.Dir)
	}
	return w.Flush()
}
