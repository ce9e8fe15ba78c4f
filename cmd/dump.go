package cmd

import (
	"bufio"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/inspect"
)

type dumpOptions struct {
	prefix   string
	keysOnly bool
	wal      bool
	null     bool
}

var dumpFormats = []string{"table", "json", "jsonl", "tsv"}

func (a *app) newDumpCmd() *cobra.Command {
	var o dumpOptions
	c := &cobra.Command{
		Use:   "dump",
		Short: "Print the live contents, or the physical log with --wal",
		Long: `Print every live key and value in key order.

Formats (--format, KV_FORMAT or the config key format; default table on a
terminal, jsonl otherwise):
  table  a table for people (binary values summarised)
  json   one JSON array of {"key", "value", "expires_at"} objects
  jsonl  one such object per line; kv load reads it back
  tsv    key<TAB>value per line, with \\ \t \n \r and \xHH escapes, and a
         third field, the expiry (RFC 3339), for a key that expires
In json and jsonl, a key or value that is not valid UTF-8 is written as
key_base64 / value_base64 instead, so binary data round-trips exactly;
with --base64 every key and value is, so that every record has one shape
(jq -r .value_base64 | base64 -d works on any). kv load reads json, jsonl
and tsv back, expiries included. -0 (--null) ends each jsonl or tsv record
with a NUL byte instead of a newline.

JSON output, across kv: a command that writes records as they come (dump
--format jsonl, get of several keys, watch) writes one object a line; a
command that writes one answer (dump --format json, stats, verify and
repair with --format json) writes one indented document.

--wal prints the physical log instead, record by record: file, offset,
sequence number, operation, key, value length and checksum status, and
where a torn tail starts. It exits 4 if it meets corruption.`,
		Example: `  kv dump
  kv dump --prefix user: --keys-only
  kv dump --format jsonl > backup.jsonl
  kv dump --wal`,
		Args: cobra.NoArgs,
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			format, err := a.outputFormat(cmd, dumpFormats, "jsonl")
			if err != nil {
				return err
			}
			if o.wal {
				return a.dumpWAL(format)
			}
			if o.null && format != "jsonl" && format != "tsv" {
				return usagef("-0 ends jsonl and tsv records; the %s format has none", format)
			}
			return a.dump(&o, format)
		}),
	}
	f := c.Flags()
	f.StringVar(&o.prefix, "prefix", "", "only keys starting with this prefix")
	f.BoolVar(&o.keysOnly, "keys-only", false, "print keys without values")
	f.String("format", "", "output format: table, json, jsonl or tsv")
	f.BoolVar(&o.wal, "wal", false, "print the physical log record by record")
	f.BoolVar(&a.base64, "base64", false, "json, jsonl: write every key and value in base64 (key_base64, value_base64)")
	f.BoolVarP(&o.null, "null", "0", false, "jsonl, tsv: end each record with a NUL byte instead of a newline")
	c.MarkFlagsMutuallyExclusive("wal", "prefix")
	c.MarkFlagsMutuallyExclusive("wal", "keys-only")
	_ = c.RegisterFlagCompletionFunc("prefix", a.completePrefix)
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(dumpFormats, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (a *app) dump(o *dumpOptions, format string) (err error) {
	s, err := a.openRead()
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	w := bufio.NewWriterSize(a.stdout, 64<<10)
	var table *streamTable
	if format == "table" {
		header := []string{"key"}
		if !o.keysOnly {
			header = append(header, "value", "expires")
		}
		table = newStreamTable(w, terminalWidth(a.stdout), header...)
		table.cutFirst = []int{len(header) - 2, 0} // the value, then the key
	}
	first := true
	end := byte('\n')
	if o.null {
		end = 0
	}
	if format == "json" {
		w.WriteString("[")
	}
	err = s.Scan([]byte(o.prefix), func(e backend.Entry) error {
		switch format {
		case "table":
			row := []string{printable(e.Key)}
			if !o.keysOnly {
				row = append(row, printable(e.Value), expiryCell(e.ExpiresAt))
			}
			if err := table.Append(row); err != nil {
				return err
			}
		case "tsv":
			w.WriteString(escapeTSV(e.Key))
			if !o.keysOnly {
				w.WriteByte('\t')
				w.WriteString(escapeTSV(e.Value))
				if !e.ExpiresAt.IsZero() {
					w.WriteByte('\t')
					w.WriteString(e.ExpiresAt.UTC().Format(time.RFC3339Nano))
				}
			}
			w.WriteByte(end)
		default:
			b, err := json.Marshal(a.newJSONEntry(e.Key, e.Value, !o.keysOnly, e.ExpiresAt, e.Rev))
			if err != nil {
				return err
			}
			if format == "json" {
				if !first {
					w.WriteString(",")
				}
				w.WriteString("\n  ")
			}
			w.Write(b)
			if format == "jsonl" {
				w.WriteByte(end)
			}
		}
		first = false
		return nil
	})
	if err != nil {
		return err
	}
	switch format {
	case "json":
		if !first {
			w.WriteString("\n")
		}
		w.WriteString("]\n")
	case "table":
		if err := table.Close(); err != nil {
			return err
		}
	}
	return w.Flush()
}

func expiryCell(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// walRow is one line of kv dump --wal.
type walRow struct {
	File     string  `json:"file"`
	Offset   int64   `json:"offset"`
	Seq      *uint64 `json:"seq,omitempty"`
	Op       string  `json:"op"`
	Key      *string `json:"key,omitempty"`
	KeyB64   *string `json:"key_base64,omitempty"`
	ValueLen *int    `json:"value_len,omitempty"`
	Expires  string  `json:"expires_at,omitempty"`
	Checksum string  `json:"checksum"`
	Note     string  `json:"note,omitempty"`
}

func (a *app) dumpWAL(format string) error {
	if err := a.localOnly("kv dump --wal", "it reads a data directory's log; an etcd member's log is its own (etcdutl)"); err != nil {
		return err
	}
	dir, opts, err := a.options(true)
	if err != nil {
		return err
	}
	var rows []walRow
	w := bufio.NewWriter(a.stdout)
	emit := func(r walRow) error {
		switch format {
		case "table", "json":
			rows = append(rows, r)
		case "tsv":
			fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", r.File, r.Offset, optUint(r.Seq), r.Op, optKey(r), optInt(r.ValueLen), r.Checksum, escapeTSV([]byte(r.Note)))
		default:
			b, err := marshalLine(r)
			if err != nil {
				return err
			}
			w.Write(b)
		}
		return nil
	}
	sum, err := inspect.Log(dir, opts, func(rec inspect.LogRecord) error {
		seq := rec.Seq
		for _, op := range rec.Ops {
			r := walRow{File: rec.File, Offset: rec.Offset, Seq: &seq, Op: op.Kind.String(), Checksum: "ok"}
			r.Key, r.KeyB64 = textOrBase64(op.Key)
			if op.Kind.String() == "set" {
				n := len(op.Value)
				r.ValueLen = &n
			}
			if op.ExpiresAt != 0 {
				r.Expires = time.Unix(0, op.ExpiresAt).UTC().Format(time.RFC3339Nano)
			}
			if len(rec.Ops) > 1 {
				r.Note = fmt.Sprintf("batch of %d", len(rec.Ops))
			}
			if err := emit(r); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var tail error
	switch {
	case sum.Torn != nil:
		err = emit(walRow{File: sum.File, Offset: sum.Torn.Offset, Op: "torn", Checksum: "-", Note: fmt.Sprintf("torn tail (%s), %d bytes to the end: a write a crash interrupted (never acknowledged) or a damaged end of the log; kv cannot tell which", sum.Torn.Reason, sum.Bytes-sum.Torn.Offset)})
	case sum.Corrupt != nil:
		err = emit(walRow{File: sum.File, Offset: sum.Corrupt.Offset, Op: "corrupt", Checksum: "bad", Note: sum.Corrupt.Reason})
		tail = sum.Corrupt
	}
	if err != nil {
		return err
	}
	switch format {
	case "json":
		if rows == nil {
			rows = []walRow{}
		}
		b, err := json.MarshalIndent(rows, "", "  ")
		if err != nil {
			return err
		}
		w.Write(append(b, '\n'))
	case "table":
		t := newTable(w, "file", "offset", "seq", "op", "key", "value len", "checksum", "note")
		for _, r := range rows {
			t.Append([]string{r.File, strconv.FormatInt(r.Offset, 10), optUint(r.Seq), r.Op, printableKey(r), optInt(r.ValueLen), r.Checksum, r.Note})
		}
		if err := t.Render(); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return tail
}

func optUint(p *uint64) string {
	if p == nil {
		return "-"
	}
	return strconv.FormatUint(*p, 10)
}

func optInt(p *int) string {
	if p == nil {
		return "-"
	}
	return strconv.Itoa(*p)
}

func optKey(r walRow) string {
	switch {
	case r.Key != nil:
		return escapeTSV([]byte(*r.Key))
	case r.KeyB64 != nil:
		return "base64:" + *r.KeyB64
	}
	return "-"
}

func printableKey(r walRow) string {
	switch {
	case r.Key != nil:
		return printable([]byte(*r.Key))
	case r.KeyB64 != nil:
		return "base64:" + *r.KeyB64
	}
	return "-"
}
