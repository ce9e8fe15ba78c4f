package cmd

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/spf13/cobra"
)

func (a *app) newStatsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "stats",
		Short: "Show keys, live and dead bytes, log and tables",
		Long: `Show the store's figures: live keys, live bytes (keys and values), bytes
on disk, dead bytes that compaction would reclaim, the log's size, each
table with its size and entries, the garbage ratio and the format version.
--format json for machines.`,
		Example: `  kv stats
  kv stats --format json | jq .garbage_ratio`,
		Args: cobra.NoArgs,
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			format, err := a.outputFormat(cmd, []string{"table", "json"}, "table")
			if err != nil {
				return err
			}
			s, err := a.openRead()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			if !s.Found() {
				dir, _ := a.dataDir()
				return noError{msg: fmt.Sprintf("there is no store at %s (a write creates one)", dir), clean: true}
			}
			st, err := s.Stats()
			if err != nil {
				return err
			}
			if format == "json" {
				return a.printFigures(st)
			}
			t := newTable(a.stdout, "figure", "value")
			var rows [][]string
			for _, f := range st.Figures {
				if f.Name == "" {
					continue // JSON only
				}
				text := f.Text
				if text == "" {
					text = fmt.Sprint(f.Value)
				}
				rows = append(rows, []string{f.Name, text})
				for _, r := range f.Rows {
					rows = append(rows, r[:])
				}
			}
			if err := t.Bulk(rows); err != nil {
				return err
			}
			return t.Render()
		}),
	}
	c.Flags().String("format", "", "output format: table or json")
	return c
}

// printFigures prints a store's figures as one JSON object, in their
// order, indented as every JSON document kv prints.
func (a *app) printFigures(st backend.Stats) error {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range st.Figures {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.Key)
		v, err := json.Marshal(f.Value)
		if err != nil {
			return err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", "  "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := a.stdout.Write(out.Bytes())
	return err
}
