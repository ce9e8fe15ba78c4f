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
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
)

// progressThreshold is the input size above which a terminal gets a
// progress bar.
const progressThreshold = 8 << 20

func (a *app) newLoadCmd() *cobra.Command {
	var format string
	var batchBytes int
	var null bool
	c := &cobra.Command{
		Use:   "load [FILE | -]",
		Short: "Import what kv dump wrote, in any of its formats",
		Long: `Read the records kv dump wrote from FILE, or standard input (no FILE, or
-), and store them in large atomic batches with one fsync each. kv dump |
kv load -d other reproduces a store whatever the dump's format: both then
have the same digest (kv verify).

kv load reads each format kv dump writes for machines, and tells them
apart by the first line unless --format says which: jsonl (an object a
line), json (one array of those objects) and tsv (KEY, a tab, VALUE, and
for a key that expires a tab and its expiry). Binary keys and values
(key_base64, value_base64, tsv's \xHH escapes) and expiries come back as
they were; a record whose expiry has passed is skipped. The table format
is for people and is refused, saying so. With -0 (--null) jsonl and tsv
records end with a NUL byte instead of a newline, as kv dump -0 writes
them.

Input that fits in one batch (--batch-bytes, default 16 MiB) is all or
nothing: a malformed line stops kv load with its line number before
anything is written (exit 2). Larger input is applied batch by batch;
a malformed line then stops the load and kv load says how many records
were stored before it. The next batch is read while one is stored. Peak
memory is a multiple of --batch-bytes (two batches in flight, the
engine's copy of the one being stored, and the garbage collector's
headroom): lower it on a small machine.
A progress bar is drawn on stderr when stderr is a terminal and the
input is large; otherwise stderr stays quiet.`,
		Example: `  kv dump | kv load -d /tmp/copy
  kv load backup.jsonl
  kv load --format tsv - < data.tsv`,
		Args: cobra.MaximumNArgs(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			if format != "" && !slices.Contains(loadFormats, format) {
				return usagef("unknown format %q (want %s)", format, strings.Join(loadFormats, ", "))
			}
			if batchBytes <= 0 {
				return usagef("--batch-bytes must be positive")
			}
			in, closeIn, err := a.inputFile(args)
			if err != nil {
				return err
			}
			defer closeIn()
			if null && format == "json" {
				return usagef("-0 reads NUL-ended jsonl or tsv records; a json document has none")
			}
			return a.load(in, format, null, batchBytes)
		}),
	}
	c.Flags().BoolVarP(&null, "null", "0", false, "records end with a NUL byte, as kv dump -0 writes them")
	c.Flags().StringVar(&format, "format", "", "input format: jsonl, json or tsv (default: told from the first line)")
	c.Flags().IntVar(&batchBytes, "batch-bytes", 16<<20, "bytes of input per atomic batch")
	_ = c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(loadFormats, cobra.ShellCompDirectiveNoFileComp))
	return c
}

// loadFormats are the dump formats kv load reads.
var loadFormats = []string{"jsonl", "json", "tsv"}

// inputFile opens the FILE argument of kv load and kv batch (standard
// input when there is none, or it is -).
func (a *app) inputFile(args []string) (io.Reader, func(), error) {
	if len(args) == 0 || args[0] == "-" {
		return a.stdin, func() {}, nil
	}
	f, err := os.Open(args[0])
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// detectFormat tells kv dump's formats apart by the first line that is
// not blank: a tab only tsv has raw (JSON escapes it), then the first
// byte of a JSON line or document.
func detectFormat(br *bufio.Reader, sep byte) (string, error) {
	for n := 1; ; {
		p, err := br.Peek(n)
		b := bytes.TrimLeft(p, " \r\n\x00")
		if nl := bytes.IndexByte(b, sep); nl >= 0 || err != nil || len(p) == br.Size() {
			if nl >= 0 {
				b = b[:nl]
			}
			switch {
			case len(b) == 0 && len(p) < br.Size():
				return "jsonl", nil // no records at all
			case bytes.IndexByte(b, '\t') >= 0:
				return "tsv", nil
			case b[0] == '{':
				return "jsonl", nil
			case b[0] == '[':
				return "json", nil
			case b[0] == '+' || b[0] == '|' || bytes.HasPrefix(b, []byte("┌")):
				return "", usagef("the input is kv dump's table, which is for people: dump with --format jsonl, json or tsv to load")
			}
			return "", usagef("cannot tell the input's format from its first line (%q): give --format jsonl, json or tsv", runewidth.Truncate(string(b), 40, "..."))
		}
		n = len(p) + 1
	}
}

func (a *app) load(in io.Reader, format string, null bool, batchBytes int) (err error) {
	size := inputSize(in)
	if format == "" {
		br := bufio.NewReaderSize(in, 64<<10)
		sep := byte('\n')
		if null {
			sep = 0
		}
		if format, err = detectFormat(br, sep); err != nil {
			return err
		}
		in = br
	}
	if bar := a.progress(size); bar != nil {
		r := progressbar.NewReader(in, bar)
		in = &r
		defer bar.Finish()
	}
	now := a.now
	var s Store
	defer func() {
		if s != nil {
			closeStore(s, &err)
		}
	}()
	// A cluster takes bounded transactions: the batches are cut to fit,
	// and the store, which holds no lock, stays open between them.
	maxOps := 0
	_, cluster, err := a.cluster()
	if err != nil {
		return err
	}
	if cluster {
		if s, err = a.openWrite(); err != nil {
			return err
		}
		if l, ok := s.(backend.Limited); ok {
			ops, bytes := l.MaxBatch()
			maxOps, batchBytes = ops, min(batchBytes, bytes*3/4)
		}
	}
	split := false
	// Parsing a batch takes about as long as storing one, so a goroutine
	// parses the next batch while this one is stored: at most two batches
	// are in memory.
	// An arena big enough for a whole batch (or the whole input) is not
	// copied as it grows; memory the input never reaches stays untouched.
	arena := batchBytes + 64<<10
	if size >= 0 {
		arena = int(min(size, int64(arena)))
	}
	p := startLoadParser(in, format, null, batchBytes, maxOps, arena, now)
	defer p.stop()
	stored := 0
	for {
		var c *loadChunk
		select {
		case c = <-p.out:
		default:
			// The next batch is not parsed yet: its input may be slow
			// to come (slow_producer | kv load), and the lock guards
			// the store, not the wait for input. Let go of the store
			// until the batch is ready.
			if s != nil && !cluster {
				cerr := s.Close()
				s = nil
				if cerr != nil {
					return loadFailed(cerr, stored, false)
				}
			}
			c = <-p.out
		}
		if c == nil {
			return nil
		}
		if c.err != nil {
			if s != nil {
				// Close first: with --no-sync the last batch may still be
				// being written, and the count must not claim it if it
				// failed.
				cerr := s.Close()
				s = nil
				if cerr != nil {
					return cerr
				}
			}
			return c.err.report(stored)
		}
		if s == nil {
			if s, err = a.openWrite(); err != nil {
				return err
			}
		}
		if cluster && stored > 0 && !split {
			split = true
			fmt.Fprintf(a.stderr, "kv: note: the input is more than one transaction takes (%d operations, %d bytes): each transaction is atomic, the load as a whole is not\n", maxOps, batchBytes)
		}
		if err := s.Apply(&c.batch); err != nil {
			applied := errors.Is(err, kv.ErrFlushAfterWrite)
			if applied {
				stored += c.batch.Len()
			}
			return loadFailed(err, stored, applied)
		}
		stored += c.batch.Len()
		c.batch.Reset()
		c.arena = c.arena[:0]
		p.free <- c
	}
}

// loadFailed says how far a load got when storing a batch failed: the
// records of the whole batches stored before, which stay stored, and
// whether the failed batch is among them.
func loadFailed(err error, stored int, lastApplied bool) error {
	switch {
	case lastApplied:
		return fmt.Errorf("%w (%d records stored, in whole batches, the last one included; the rest of the input was not read)", err, stored)
	case stored > 0:
		return fmt.Errorf("%w (%d records stored before it, in whole batches, and they stay; the failed batch was not acknowledged, and after a failed write kv cannot know whether a reader will find it)", err, stored)
	}
	return fmt.Errorf("%w (nothing stored before it; the failed batch was not acknowledged, and after a failed write kv cannot know whether a reader will find it)", err)
}

// loadChunk is one batch of kv load's input, or the error that ended it.
type loadChunk struct {
	batch backend.Batch
	// arena holds the keys and values the batch points into.
	arena []byte
	err   *loadError
}

// loadError is a malformed line or a failed read. Which records were
// stored before it is known only where batches are applied, so it is
// formatted there.
type loadError struct {
	line int
	msg  string
	read error // a failed read of standard input, not a malformed line
}

func (e *loadError) report(stored int) error {
	if e.read != nil {
		return fmt.Errorf("read standard input: %w", e.read)
	}
	msg := fmt.Sprintf("load line %d: %s", e.line, e.msg)
	if stored > 0 {
		msg += fmt.Sprintf(" (%d records stored before it)", stored)
	} else {
		msg += " (nothing stored)"
	}
	return usageError{errors.New(msg)}
}

// loadParser reads kv load's input into batches of about batchBytes of
// keys and values, in a goroutine of its own. It hands over each full
// batch, then the last one, on out, which it closes at the end of the
// input or after a chunk carrying an error (a malformed line's batch is
// dropped, so it is never applied in part).
type loadParser struct {
	out  chan *loadChunk
	free chan *loadChunk
	quit chan struct{}
}

func startLoadParser(in io.Reader, format string, null bool, batchBytes, maxOps, arena int, now func() time.Time) *loadParser {
	p := &loadParser{
		out:  make(chan *loadChunk),
		free: make(chan *loadChunk, 2),
		quit: make(chan struct{}),
	}
	for range 2 {
		p.free <- &loadChunk{arena: make([]byte, 0, arena)}
	}
	go func() {
		defer close(p.out)
		p.parse(in, format, null, batchBytes, maxOps, now)
	}()
	return p
}

// stop tells the parser that no more batches are wanted. It does not wait:
// the parser may be blocked reading a pipe that stays open, and it stops
// at its next hand-over.
func (p *loadParser) stop() { close(p.quit) }

// send hands c over, unless the parser is stopped.
func (p *loadParser) send(c *loadChunk) bool {
	select {
	case p.out <- c:
		return true
	case <-p.quit:
		return false
	}
}

// next returns an empty chunk, unless the parser is stopped.
func (p *loadParser) next() *loadChunk {
	select {
	case c := <-p.free:
		return c
	case <-p.quit:
		return nil
	}
}

func (p *loadParser) parse(in io.Reader, format string, null bool, batchBytes, maxOps int, now func() time.Time) {
	c := p.next()
	if c == nil {
		return
	}
	line := 0
	fail := func(format string, args ...any) {
		p.send(&loadChunk{err: &loadError{line: line, msg: fmt.Sprintf(format, args...)}})
	}
	// add adds one record to the batch and hands the batch over when it
	// is full; false means stop (a bad record, or the parser stopped).
	add := func(key, value []byte, exp time.Time) bool {
		if len(key) == 0 {
			fail("empty key")
			return false
		}
		if len(key) > kv.MaxKeySize || len(value) > kv.MaxValueSize {
			fail("key or value above the limits (%d, %d bytes)", kv.MaxKeySize, kv.MaxValueSize)
			return false
		}
		if !exp.IsZero() && !exp.After(now()) {
			return true // already expired: nothing to import
		}
		start := len(c.arena)
		c.arena = append(c.arena, key...)
		c.arena = append(c.arena, value...)
		k, v := c.arena[start:start+len(key):start+len(key)], c.arena[start+len(key):]
		if exp.IsZero() {
			c.batch.Set(k, v)
		} else {
			c.batch.SetExpiring(k, v, exp)
		}
		if len(c.arena) >= batchBytes || (maxOps > 0 && c.batch.Len() >= maxOps) {
			if !p.send(c) {
				return false
			}
			if c = p.next(); c == nil {
				return false
			}
		}
		return true
	}
	if format == "json" {
		if !parseJSONDocument(in, &line, fail, add) {
			return
		}
		if c.batch.Len() > 0 {
			p.send(c)
		}
		return
	}
	var scratch []byte
	sc := lineScanner(in)
	if null {
		sc.Split(splitNUL)
	}
	for sc.Scan() {
		line++
		text := bytes.TrimRight(sc.Bytes(), "\r")
		if len(bytes.TrimSpace(text)) == 0 {
			continue
		}
		var key, value []byte
		var exp time.Time
		var derr error
		if format == "jsonl" {
			key, value, exp, derr = decodeJSONLine(text, &scratch)
		} else {
			key, value, exp, derr = decodeTSVLine(text)
		}
		if derr != nil {
			fail("%v", derr)
			return
		}
		if !add(key, value, exp) {
			return
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			line++
			fail("line too long")
		} else {
			p.send(&loadChunk{err: &loadError{read: err}})
		}
		return
	}
	if c.batch.Len() > 0 {
		p.send(c)
	}
}

// decodeTSVLine decodes a line of kv dump --format tsv: KEY, a tab,
// VALUE, and for a key that expires a tab and its expiry (RFC 3339).
func decodeTSVLine(text []byte) (key, value []byte, exp time.Time, err error) {
	fields := strings.Split(string(text), "\t")
	switch len(fields) {
	case 1:
		return nil, nil, exp, errors.New("no tab between key and value")
	case 2, 3:
	default:
		return nil, nil, exp, errors.New("more than three fields (kv dump writes a tab in a value as \\t)")
	}
	if key, err = unescapeTSV(fields[0]); err != nil {
		return nil, nil, exp, fmt.Errorf("key: %v", err)
	}
	if value, err = unescapeTSV(fields[1]); err != nil {
		return nil, nil, exp, fmt.Errorf("value: %v", err)
	}
	if len(fields) == 3 {
		if exp, err = time.Parse(time.RFC3339Nano, fields[2]); err != nil {
			return nil, nil, exp, fmt.Errorf("a third field %q that is not an expiry (kv dump writes an expiry in RFC 3339, and a tab in a value as \\t)", fields[2])
		}
	}
	return key, value, exp, nil
}

// parseJSONDocument reads the JSON document kv dump --format json writes
// (an array of the objects jsonl has one a line), one element at a time,
// so memory stays bounded. *line is the line of the element being read.
func parseJSONDocument(in io.Reader, line *int, fail func(string, ...any), add func(key, value []byte, exp time.Time) bool) bool {
	lc := &lineCounter{r: in}
	dec := json.NewDecoder(lc)
	dec.DisallowUnknownFields()
	at := func() int { return lc.lineAt(dec.InputOffset()) }
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('[') {
		*line = at()
		fail("a JSON document must be an array of objects, as kv dump --format json writes")
		return false
	}
	for dec.More() {
		var e jsonEntry
		*line = at() + 1
		if err := dec.Decode(&e); err != nil {
			fail("malformed JSON: %v", err)
			return false
		}
		key, value, exp, err := e.decode()
		if err != nil {
			fail("%v", err)
			return false
		}
		if !add(key, value, exp) {
			return false
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim(']') {
		*line = at()
		fail("malformed JSON: the array does not end")
		return false
	}
	if _, err := dec.Token(); err != io.EOF {
		*line = at()
		fail("malformed JSON: text after the document")
		return false
	}
	return true
}

// lineCounter counts the newlines read through it, so that a decoder's
// offset can be told as a line number.
type lineCounter struct {
	r     io.Reader
	read  int64
	lines []int64 // offsets of the newlines seen
	base  int     // newlines dropped from the front of lines
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i, b := range p[:n] {
		if b == '\n' {
			c.lines = append(c.lines, c.read+int64(i))
		}
	}
	c.read += int64(n)
	// Only newlines near the decoder's position matter; keep the slice
	// from growing with the input.
	if len(c.lines) > 1<<16 {
		c.base += len(c.lines) - 1<<15
		c.lines = append(c.lines[:0], c.lines[len(c.lines)-1<<15:]...)
	}
	return n, err
}

// lineAt is the 1-based line of offset off.
func (c *lineCounter) lineAt(off int64) int {
	n, _ := slices.BinarySearch(c.lines, off)
	return c.base + n + 1
}

// progress returns a progress bar when stderr is a terminal and the input
// (of size bytes, -1 when unknown) is large or of unknown size, else nil.
func (a *app) progress(size int64) *progressbar.ProgressBar {
	if !isTerminal(a.stderr) {
		return nil
	}
	if size >= 0 && size < progressThreshold {
		return nil
	}
	return progressbar.DefaultBytes(size, "loading")
}

var _ io.Reader = (*progressbar.Reader)(nil)

// inputSize is the size of r when it is a regular file, else -1.
func inputSize(r io.Reader) int64 {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			return st.Size()
		}
	}
	return -1
}

// decodeJSONLine decodes one jsonl record. The lines kv dump writes for
// keys and values without escapes take a fast path that is about ten times
// quicker than encoding/json; anything else goes through encoding/json,
// strictly (no unknown fields, nothing after the object).
//
// A base64 value is decoded into *scratch (grown as needed), so the result
// is valid only until the next call with the same scratch.
func decodeJSONLine(line []byte, scratch *[]byte) (key, value []byte, exp time.Time, err error) {
	if k, v, ok := fastJSONLine(line, scratch); ok {
		return k, v, exp, nil
	}
	// encoding/json takes the last of two fields of one name, and turns a
	// lone surrogate escape into U+FFFD: either would store something
	// other than what the line says.
	if name, dup := duplicateField(line); dup {
		return nil, nil, exp, fmt.Errorf("field %q given twice", name)
	}
	if loneSurrogate(line) {
		return nil, nil, exp, fmt.Errorf("a lone UTF-16 surrogate escape (\\uD800-\\uDFFF not in a pair): not a character")
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
// {"key":"K","value_base64":"B"}, each optionally followed by the
// ,"mod_revision":N that kv dump writes, where K and V hold no backslash, no
// control character and only valid UTF-8: strings that mean what they
// spell. A base64 value is decoded into *scratch.
func fastJSONLine(b []byte, scratch *[]byte) (key, value []byte, ok bool) {
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
		if value, rest, ok = str(r); !ok || !objectEnd(rest) {
			return nil, nil, false
		}
		return key, value, true
	}
	if r, found := bytes.CutPrefix(rest, []byte(`,"value_base64":"`)); found {
		b64, rest, ok := str(r)
		if !ok || !objectEnd(rest) {
			return nil, nil, false
		}
		if n := base64.StdEncoding.DecodedLen(len(b64)); cap(*scratch) < n {
			*scratch = make([]byte, n)
		}
		value = (*scratch)[:base64.StdEncoding.DecodedLen(len(b64))]
		n, err := base64.StdEncoding.Decode(value, b64)
		if err != nil {
			return nil, nil, false
		}
		return key, value[:n], true
	}
	return nil, nil, false
}

// objectEnd reports whether rest, what follows a line's value, is the end
// of the object: "}", or the modification revision kv dump adds (which
// load ignores) and then "}".
func objectEnd(rest []byte) bool {
	if string(rest) == "}" {
		return true
	}
	digits, found := bytes.CutPrefix(rest, []byte(`,"mod_revision":`))
	if !found || len(digits) < 2 || len(digits) > 21 || digits[len(digits)-1] != '}' || digits[0] == '0' {
		return false
	}
	for _, c := range digits[:len(digits)-1] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// duplicateField reports the first name given twice among the fields of
// the JSON object in line; a line that is not an object reports none (the
// decoder then says what is wrong with it).
func duplicateField(line []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(line))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok {
			return "", false
		}
		if seen[name] {
			return name, true
		}
		seen[name] = true
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return "", false
		}
	}
	return "", false
}

// loneSurrogate reports whether line holds a \u escape of a UTF-16
// surrogate that is not half of a high-low pair.
func loneSurrogate(line []byte) bool {
	hex4 := func(i int) (rune, bool) {
		if i+6 > len(line) || line[i] != '\\' || line[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range line[i+2 : i+6] {
			switch {
			case '0' <= c && c <= '9':
				r = r<<4 | rune(c-'0')
			case 'a' <= c && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case 'A' <= c && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(line); i++ {
		if line[i] != '\\' {
			continue
		}
		r, ok := hex4(i)
		if !ok {
			i++ // another escape: skip the escaped character
			continue
		}
		switch {
		case 0xD800 <= r && r <= 0xDBFF:
			if lo, ok := hex4(i + 6); !ok || lo < 0xDC00 || lo > 0xDFFF {
				return true
			}
			i += 11
		case 0xDC00 <= r && r <= 0xDFFF:
			return true
		default:
			i += 5
		}
	}
	return false
}

// splitNUL is a bufio.SplitFunc for records that each end with a NUL byte
// (the last may lack it).
func splitNUL(data []byte, atEOF bool) (advance int, token []byte, err error) {
	if i := bytes.IndexByte(data, 0); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}
