package cmd

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/olekukonko/tablewriter"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// errStdoutClosed is the write error of a standard output that was closed
// when kv started.
var errStdoutClosed = errors.New("standard output is closed")

// checkedWriter passes writes to w and keeps the first error, so that a
// command whose output could not be written fails (exit 5) however it
// wrote it: fmt, a table writer or an encoder.
type checkedWriter struct {
	w   io.Writer
	err error
	// closed says that w stands in for a closed standard output: the
	// first write fails.
	closed bool
}

func (c *checkedWriter) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.closed && c.err == nil {
		c.err = errStdoutClosed
	}
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	if err != nil {
		c.err = err
	}
	return n, err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	if c, ok := w.(*checkedWriter); ok {
		w = c.w
	}
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// terminalWidth is the width of the terminal w writes to, or 0 when w is
// not a terminal.
func terminalWidth(w io.Writer) int {
	if c, ok := w.(*checkedWriter); ok {
		w = c.w
	}
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0
	}
	width, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return width
}

// knownFormats are the output formats of all commands together.
var knownFormats = []string{"table", "json", "jsonl", "tsv"}

// outputFormat resolves --format (or KV_FORMAT / config): an explicit
// choice, else table on a terminal and fallback otherwise.
//
// KV_FORMAT and the config key format are shared by every command, so a
// format that suits one command but not this one (format: tsv, for dump,
// seen by verify) is ignored here rather than refused: otherwise one
// setting for dump would break verify, stats and repair. A format given
// with this command's own --format, or one no command knows (a typo), is
// still a usage error.
func (a *app) outputFormat(cmd *cobra.Command, allowed []string, fallback string) (string, error) {
	f := a.v.GetString("format")
	if f != "" && !slices.Contains(allowed, f) && slices.Contains(knownFormats, f) {
		if fl := cmd.Flags().Lookup("format"); fl == nil || !fl.Changed {
			f = ""
		}
	}
	if f == "" {
		if isTerminal(a.stdout) {
			return "table", nil
		}
		return fallback, nil
	}
	for _, ok := range allowed {
		if f == ok {
			return f, nil
		}
	}
	return "", usagef("unknown format %q (want one of %s)", f, strings.Join(allowed, ", "))
}

// table renders rows for people at a terminal. It uses tablewriter's
// v0.0.x line: v1's package initialisation builds a width cache and
// compiles regular expressions at every process start, whether or not a
// table is drawn (docs/FIGURES.md has the cost).
type table struct {
	t *tablewriter.Table
}

// newTable returns a table with the given column headers.
func newTable(w io.Writer, header ...string) *table {
	t := tablewriter.NewWriter(w)
	t.SetHeader(header)
	t.SetAutoWrapText(false)
	t.SetAutoFormatHeaders(true)
	return &table{t: t}
}

// Append adds a row.
func (t *table) Append(row []string) { t.t.Append(row) }

// Bulk adds rows.
func (t *table) Bulk(rows [][]string) error {
	t.t.AppendBulk(rows)
	return nil
}

// Render writes the table.
func (t *table) Render() error {
	t.t.Render()
	return nil
}

// jsonEntry is one key/value in json and jsonl output, and what kv load
// reads back. Text that is valid UTF-8 is kept as a string; anything else
// goes in the _base64 field, so binary data round-trips losslessly.
type jsonEntry struct {
	Key         *string `json:"key,omitempty"`
	KeyBase64   *string `json:"key_base64,omitempty"`
	Value       *string `json:"value,omitempty"`
	ValueBase64 *string `json:"value_base64,omitempty"`
	ExpiresAt   string  `json:"expires_at,omitempty"`
	// ModRevision is the revision that last wrote the key. kv load
	// accepts it and ignores it: what it writes takes new revisions.
	ModRevision uint64 `json:"mod_revision,omitempty"`
}

// textOrBase64 is how JSON output spells a key or value: as text when it
// is UTF-8, else in base64, or always in base64 with --base64 (one shape
// for every record, as consul's -base64).
func (a *app) textOrBase64(b []byte) (text, b64 *string) {
	if a.base64 {
		s := base64.StdEncoding.EncodeToString(b)
		return nil, &s
	}
	return textOrBase64(b)
}

func textOrBase64(b []byte) (text, b64 *string) {
	if utf8.Valid(b) {
		s := string(b)
		return &s, nil
	}
	s := base64.StdEncoding.EncodeToString(b)
	return nil, &s
}

func (a *app) newJSONEntry(key, value []byte, withValue bool, exp time.Time, rev uint64) jsonEntry {
	e := jsonEntry{ModRevision: rev}
	e.Key, e.KeyBase64 = a.textOrBase64(key)
	if withValue {
		e.Value, e.ValueBase64 = a.textOrBase64(value)
	}
	if !exp.IsZero() {
		e.ExpiresAt = exp.UTC().Format(time.RFC3339Nano)
	}
	return e
}

// decode returns the entry's key, value and expiry.
func (e jsonEntry) decode() (key, value []byte, exp time.Time, err error) {
	field := func(text, b64 *string, name string) ([]byte, error) {
		switch {
		case text != nil && b64 != nil:
			return nil, fmt.Errorf("both %s and %s_base64", name, name)
		case text != nil:
			return []byte(*text), nil
		case b64 != nil:
			b, err := base64.StdEncoding.DecodeString(*b64)
			if err != nil {
				return nil, fmt.Errorf("%s_base64: %v", name, err)
			}
			return b, nil
		}
		return nil, fmt.Errorf("no %s", name)
	}
	if key, err = field(e.Key, e.KeyBase64, "key"); err != nil {
		return
	}
	if value, err = field(e.Value, e.ValueBase64, "value"); err != nil {
		return
	}
	if e.ExpiresAt != "" {
		if exp, err = time.Parse(time.RFC3339Nano, e.ExpiresAt); err != nil {
			err = fmt.Errorf("expires_at: %v", err)
		}
	}
	return
}

func marshalLine(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	return append(b, '\n'), err
}

// escapeTSV makes a field safe for one TSV cell, reversibly: backslash,
// tab, newline and carriage return are escaped, and the other ASCII
// control bytes (NUL above all, which shell tools cannot carry) and bytes
// that are not UTF-8 become \xHH.
func escapeTSV(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		case r == '\\':
			sb.WriteString(`\\`)
		case r == '\t':
			sb.WriteString(`\t`)
		case r == '\n':
			sb.WriteString(`\n`)
		case r == '\r':
			sb.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&sb, `\x%02x`, b[0])
		default:
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

// unescapeTSV reverses escapeTSV.
func unescapeTSV(s string) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			out = append(out, s[i])
			continue
		}
		if i+1 >= len(s) {
			return nil, fmt.Errorf("trailing backslash")
		}
		i++
		switch s[i] {
		case '\\':
			out = append(out, '\\')
		case 't':
			out = append(out, '\t')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 'x':
			if i+3 > len(s) {
				return nil, fmt.Errorf("short \\x escape")
			}
			v, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
			if err != nil {
				return nil, fmt.Errorf("bad \\x escape %q", s[i-1:i+3])
			}
			out = append(out, byte(v))
			i += 2
		default:
			return nil, fmt.Errorf("unknown escape \\%c", s[i])
		}
	}
	return out, nil
}

// printable renders bytes for a table cell: text as is (control characters
// escaped), binary as a short hex note.
func printable(b []byte) string {
	if !utf8.Valid(b) {
		return fmt.Sprintf("<%d bytes of binary>", len(b))
	}
	if strings.IndexFunc(string(b), unicode.IsControl) < 0 {
		return string(b)
	}
	q := strconv.Quote(string(b))
	return q[1 : len(q)-1]
}

// printJSON writes v as indented JSON and a newline on stdout.
func (a *app) printJSON(v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(append(b, '\n'))
	return err
}
