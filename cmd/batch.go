package cmd

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
)

// maxBatchBytes bounds what kv batch holds in memory: a batch is one atomic
// record, so it cannot be streamed to disk in parts.
const maxBatchBytes = 256 << 20

func (a *app) newBatchCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "batch [FILE | -]",
		Short: "Apply set and del lines as one atomic batch",
		Long: `Read lines from FILE, or standard input (no FILE, or -), and apply them as
one atomic batch: after any crash, all of them are present or none. Lines:

  set KEY VALUE
  set KEY VALUE ttl=D          expires D from now (90s, 12h, 7d)
  set KEY VALUE expires-at=T   expires at T (2030-01-01T12:00:00Z, 2030-01-01)
  del KEY
  # a comment (blank lines are ignored too)

A KEY or VALUE is a bare word (no spaces, quotes or backslashes), a
double-quoted string with Go escapes ("two words", "tab\there",
"\x00\xff"), or b64:BASE64 for binary data (quote it, "b64:…", to store
those letters literally). A malformed line is reported with its line
number, and nothing at all is applied (exit 2). The batch is held in
memory and limited to 256 MiB.`,
		Example: `  printf 'set a 1\nset b "two words"\ndel c\n' | kv batch
  printf 'set session:42 alice ttl=30m\n' | kv batch
  kv batch changes.txt`,
		Args: cobra.MaximumNArgs(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			in, closeIn, err := a.inputFile(args)
			if err != nil {
				return err
			}
			defer closeIn()
			var b backend.Batch
			if err := parseBatch(in, &b, a.now); err != nil {
				return err
			}
			if b.Len() == 0 {
				return nil
			}
			s, err := a.openWrite()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			return s.Apply(&b)
		}),
	}
}

// lineScanner reads lines of at most a value's size plus room for its key
// and quoting, so a hostile input cannot make it allocate without bound.
func lineScanner(r io.Reader) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), kv.MaxValueSize/3*4+4*kv.MaxKeySize+1024)
	return sc
}

func parseBatch(r io.Reader, b *backend.Batch, now func() time.Time) error {
	sc := lineScanner(r)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		fields, err := splitBatchLine(text)
		if err != nil {
			return usagef("batch line %d: %v (nothing applied)", line, err)
		}
		if len(fields) == 0 {
			continue
		}
		op := string(fields[0])
		switch {
		case op == "set" && len(fields) == 3:
			b.Set(fields[1], fields[2])
		case op == "set" && len(fields) == 4:
			exp, err := batchExpiry(string(fields[3]), now)
			if err != nil {
				return usagef("batch line %d: %v (nothing applied)", line, err)
			}
			b.SetExpiring(fields[1], fields[2], exp)
		case op == "del" && len(fields) == 2:
			b.Delete(fields[1])
		case op == "set" || op == "del":
			return usagef("batch line %d: %s takes %s (nothing applied)", line, op, map[string]string{"set": "KEY VALUE [ttl=D | expires-at=T]", "del": "KEY"}[op])
		default:
			return usagef("batch line %d: unknown operation %q, want set or del (nothing applied)", line, op)
		}
		for _, f := range fields[1:] {
			if len(f) > kv.MaxValueSize {
				return usagef("batch line %d: value above the %d-byte limit (nothing applied)", line, kv.MaxValueSize)
			}
		}
		if len(fields[1]) == 0 {
			return usagef("batch line %d: empty key (nothing applied)", line)
		}
		if len(fields[1]) > kv.MaxKeySize {
			return usagef("batch line %d: key above the %d-byte limit (nothing applied)", line, kv.MaxKeySize)
		}
		if b.Size() > maxBatchBytes {
			return usagef("batch line %d: the batch exceeds %d bytes; split it, or use kv load (nothing applied)", line, maxBatchBytes)
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return usagef("batch line %d: line too long (nothing applied)", line+1)
		}
		return fmt.Errorf("read standard input: %w", err)
	}
	return nil
}

// splitBatchLine splits a batch line into fields; see kv batch --help.
func splitBatchLine(s string) ([][]byte, error) {
	var out [][]byte
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" || (len(out) == 0 && s[0] == '#') {
			return out, nil
		}
		if s[0] == '"' {
			end := closingQuote(s)
			if end < 0 {
				return nil, errors.New("unterminated quoted string")
			}
			v, err := strconv.Unquote(s[:end+1])
			if err != nil {
				// Never echo the field: it may be a secret value.
				return nil, fmt.Errorf("field %d: bad quoted string: %v", len(out)+1, err)
			}
			out = append(out, []byte(v))
			s = s[end+1:]
			if s != "" && s[0] != ' ' && s[0] != '\t' {
				return nil, errors.New("text right after a closing quote")
			}
			continue
		}
		end := strings.IndexAny(s, " \t")
		if end < 0 {
			end = len(s)
		}
		word := s[:end]
		s = s[end:]
		if strings.ContainsAny(word, `"\`) {
			return nil, fmt.Errorf("field %d: a bare word holds a quote or backslash; quote it", len(out)+1)
		}
		if b64, ok := strings.CutPrefix(word, "b64:"); ok {
			v, err := base64.StdEncoding.DecodeString(b64)
			if err != nil {
				return nil, fmt.Errorf("field %d: bad base64: %v", len(out)+1, err)
			}
			out = append(out, v)
			continue
		}
		out = append(out, []byte(word))
	}
}

// closingQuote finds the quote that ends the string opening s.
func closingQuote(s string) int {
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return i
		}
	}
	return -1
}

// batchExpiry reads the fourth field of a set line: ttl=D or
// expires-at=T, as kv set's --ttl and --expires-at.
func batchExpiry(f string, now func() time.Time) (time.Time, error) {
	if d, ok := strings.CutPrefix(f, "ttl="); ok {
		ttl, err := parseDuration(d)
		if err != nil || ttl <= 0 {
			return time.Time{}, fmt.Errorf("ttl=%s: want a positive duration (90s, 12h, 7d)", d)
		}
		return now().Add(ttl), nil
	}
	if t, ok := strings.CutPrefix(f, "expires-at="); ok {
		exp, err := parseExpiresAt(t)
		if err != nil {
			return time.Time{}, fmt.Errorf("expires-at=%s: want an RFC 3339 time (2030-01-01T12:00:00Z) or a date (2030-01-01)", t)
		}
		return exp, nil
	}
	return time.Time{}, fmt.Errorf("%q after the value: want ttl=D or expires-at=T", f)
}
