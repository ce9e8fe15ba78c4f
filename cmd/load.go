package cmd

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/kv"
)

// progressThreshold is the input size above which a terminal gets a
// progress bar.
const progressThreshold = 8 << 20

func (a *app) newLoadCmd() *cobra.Command {
	var format string
	var batchBytes int
	c := &cobra.Command{
		Use:   "load",
		Short: "Import what kv dump wrote (jsonl or tsv) from stdin",
		Long: `Read records from standard input in the jsonl that kv dump --format jsonl
writes (binary values in value_base64 included, expiry kept) or, with
--format tsv, its tsv, and store them in large atomic batches with one
fsync each. kv dump --format jsonl | kv load -d other reproduces a store:
both then have the same digest (kv verify).

Input that fits in one batch (--batch-bytes, default 64 MiB) is all or
nothing: a malformed line stops kv load with its line number before
anything is written (exit 2). Larger input is applied batch by batch;
a malformed line then stops the load and kv load says how many records
were stored before it. Memory stays bounded by the batch size whatever the
input's size. A progress bar is drawn on stderr when stderr is a terminal
and the input is large; otherwise stderr stays quiet.`,
		Example: `  kv dump --format jsonl | kv load -d /tmp/copy
  kv load --format tsv < data.tsv`,
		Args: cobra.NoArgs,
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			if format != "jsonl" && format != "tsv" {
				return usagef("unknown format %q (want jsonl or tsv)", format)
			}
			if batchBytes <= 0 {
				return usagef("--batch-bytes must be positive")
			}
			return a.load(format, batchBytes)
		}),
	}
	c.Flags().StringVar(&format, "format", "jsonl", "input format: jsonl or tsv")
	c.Flags().IntVar(&batchBytes, "batch-bytes", 64<<20, "bytes of input per atomic batch")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"jsonl", "tsv"}, cobra.ShellCompDirectiveNoFileComp))
	return c
}

func (a *app) load(format string, batchBytes int) (err error) {
	in := a.stdin
	if bar := a.progress(); bar != nil {
		r := progressbar.NewReader(in, bar)
		in = &r
		defer bar.Finish()
	}
	now, err := clock()
	if err != nil {
		return err
	}
	var s Store
	defer func() {
		if s != nil {
			closeStore(s, &err)
		}
	}()
	var b kv.Batch
	// Batches hold slices into this arena; it is reset after each apply.
	arena := make([]byte, 0, 1<<20)
	stored, line := 0, 0
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		if s == nil {
			if s, err = a.openWrite(); err != nil {
				return err
			}
		}
		if err := s.Apply(&b); err != nil {
			return err
		}
		stored += b.Len()
		b.Reset()
		arena = arena[:0]
		return nil
	}
	fail := func(format string, args ...any) error {
		msg := fmt.Sprintf("load line %d: ", line) + fmt.Sprintf(format, args...)
		if stored > 0 {
			msg += fmt.Sprintf(" (%d records stored before it)", stored)
		} else {
			msg += " (nothing stored)"
		}
		return usageError{errors.New(msg)}
	}
	sc := lineScanner(in)
	for sc.Scan() {
		line++
		text := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		var key, value []byte
		var exp time.Time
		if format == "jsonl" {
			var derr error
			if key, value, exp, derr = decodeJSONLine(text); derr != nil {
				return fail("%v", derr)
			}
		} else {
			k, v, ok := strings.Cut(string(text), "\t")
			if !ok {
				return fail("no tab between key and value")
			}
			var derr error
			if key, derr = unescapeTSV(k); derr != nil {
				return fail("key: %v", derr)
			}
			if value, derr = unescapeTSV(v); derr != nil {
				return fail("value: %v", derr)
			}
		}
		if len(key) == 0 {
			return fail("empty key")
		}
		if len(key) > kv.MaxKeySize || len(value) > kv.MaxValueSize {
			return fail("key or value above the limits (%d, %d bytes)", kv.MaxKeySize, kv.MaxValueSize)
		}
		if !exp.IsZero() && !exp.After(now()) {
			continue // already expired: nothing to import
		}
		start := len(arena)
		arena = append(arena, key...)
		arena = append(arena, value...)
		k, v := arena[start:start+len(key):start+len(key)], arena[start+len(key):]
		if exp.IsZero() {
			b.Set(k, v)
		} else {
			b.SetExpiring(k, v, exp)
		}
		if len(arena) >= batchBytes {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			line++
			return fail("line too long")
		}
		return fmt.Errorf("read standard input: %w", err)
	}
	return flush()
}

// progress returns a progress bar when stderr is a terminal and the input
// is large (or of unknown size), else nil.
func (a *app) progress() *progressbar.ProgressBar {
	if !isTerminal(a.stderr) {
		return nil
	}
	size := int64(-1)
	if f, ok := a.stdin.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
	}
	if size >= 0 && size < progressThreshold {
		return nil
	}
	return progressbar.DefaultBytes(size, "loading")
}

var _ io.Reader = (*progressbar.Reader)(nil)

// decodeJSONLine decodes one jsonl record. The lines kv dump writes for
// keys and values without escapes take a fast path that is about ten times
// quicker than encoding/json; anything else goes through encoding/json,
// strictly (no unknown fields, nothing after the object).
func decodeJSONLine(line []byte) (key, value []byte, exp time.Time, err error) {
	if k, v, ok := fastJSONLine(line); ok {
		return k, v, exp, nil
	}
	var e jsonEntry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, nil, exp, fmt.Errorf("malformed JSON: %v", err)
	}
	if dec.More() || int(dec.InputOffset()) != len(bytes.TrimRight(line, " \t")) {
		return nil, nil, exp, fmt.Errorf("malformed JSON: text after the object")
	}
	return e.decode()
}

// fastJSONLine recognises exactly {"key":"K","value":"V"} or
// {"key":"K","value_base64":"B"} where K and V hold no backslash, no
// control character and only valid UTF-8: strings that mean what they
// spell.
func fastJSONLine(b []byte) (key, value []byte, ok bool) {
	str := func(p []byte) (s, rest []byte, ok bool) {
		i := bytes.IndexByte(p, '"')
		if i < 0 {
			return nil, nil, false
		}
		s = p[:i]
		for _, c := range s {
			if c < 0x20 || c == '\\' {
				return nil, nil, false
			}
		}
		return s, p[i+1:], utf8.Valid(s)
	}
	rest, found := bytes.CutPrefix(b, []byte(`{"key":"`))
	if !found {
		return nil, nil, false
	}
	if key, rest, ok = str(rest); !ok {
		return nil, nil, false
	}
	if r, found := bytes.CutPrefix(rest, []byte(`,"value":"`)); found {
		if value, rest, ok = str(r); !ok || string(rest) != "}" {
			return nil, nil, false
		}
		return key, value, true
	}
	if r, found := bytes.CutPrefix(rest, []byte(`,"value_base64":"`)); found {
		b64, rest, ok := str(r)
		if !ok || string(rest) != "}" {
			return nil, nil, false
		}
		value = make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
		n, err := base64.StdEncoding.Decode(value, b64)
		if err != nil {
			return nil, nil, false
		}
		return key, value[:n], true
	}
	return nil, nil, false
}
