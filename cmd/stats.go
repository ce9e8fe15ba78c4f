package cmd

import (
	"fmt"
	"strconv"

	"github.com/kvtool/kv/pkg/kv"
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
				return a.printJSON(newStatsJSON(st))
			}
			t := newTable(a.stdout, "figure", "value")
			rows := [][]string{
				{"keys", strconv.Itoa(st.Keys)},
				{"live bytes", strconv.FormatInt(st.LiveBytes, 10)},
				{"disk bytes", strconv.FormatInt(st.DiskBytes, 10)},
				{"dead bytes", strconv.FormatInt(st.DeadBytes, 10)},
				{"garbage ratio", fmt.Sprintf("%.3f", st.GarbageRatio)},
				{"log", fmt.Sprintf("%s (%d bytes)", st.LogFile, st.LogBytes)},
				{"tables", strconv.Itoa(len(st.Tables))},
				{"revision", strconv.FormatUint(st.Revision, 10)},
			}
			for _, tb := range st.Tables {
				rows = append(rows, []string{"  " + tb.File, fmt.Sprintf("%d bytes, %d entries", tb.Bytes, tb.Entries)})
			}
			rows = append(rows, []string{"format version", strconv.Itoa(st.FormatVersion)})
			if err := t.Bulk(rows); err != nil {
				return err
			}
			return t.Render()
		}),
	}
	c.Flags().String("format", "", "output format: table or json")
	return c
}

// statsJSON is kv stats --format json: the engine's figures under the
// names scripts read (documented in the command's help).
type statsJSON struct {
	Keys          int              `json:"keys"`
	LiveBytes     int64            `json:"live_bytes"`
	DiskBytes     int64            `json:"disk_bytes"`
	DeadBytes     int64            `json:"dead_bytes"`
	LogFile       string           `json:"log_file"`
	LogBytes      int64            `json:"log_bytes"`
	Tables        []tableStatsJSON `json:"tables"`
	GarbageRatio  float64          `json:"garbage_ratio"`
	FormatVersion int              `json:"format_version"`
	Revision      uint64           `json:"revision"`
}

type tableStatsJSON struct {
	File    string `json:"file"`
	Bytes   int64  `json:"bytes"`
	Entries uint64 `json:"entries"`
}

func newStatsJSON(st kv.Stats) statsJSON {
	out := statsJSON{
		Keys: st.Keys, LiveBytes: st.LiveBytes, DiskBytes: st.DiskBytes, DeadBytes: st.DeadBytes,
		LogFile: st.LogFile, LogBytes: st.LogBytes, Tables: []tableStatsJSON{},
		GarbageRatio: st.GarbageRatio, FormatVersion: st.FormatVersion, Revision: st.Revision,
	}
	for _, t := range st.Tables {
		out.Tables = append(out.Tables, tableStatsJSON{File: t.File, Bytes: t.Bytes, Entries: t.Entries})
	}
	return out
}
