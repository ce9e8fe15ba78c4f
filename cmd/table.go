package cmd

import (
	"io"
	"strings"

	"github.com/mattn/go-runewidth"
)

// tablePage is how many rows a streamTable holds to size its columns
// before it writes the first: the rest are written as they come.
const tablePage = 1000

// minColumn is the narrowest a column is cut to when fitting a terminal.
const minColumn = 8

// streamTable writes a table of rows that come one at a time, as kv dump
// reads them, in bounded memory: it sizes the columns from the header and
// the first tablePage rows, fits them to width (a terminal's columns; 0:
// no limit) by narrowing the widest (of cutFirst, then of all), then
// writes every row at once,
// cutting a cell wider than its column with an ellipsis.
type streamTable struct {
	w      io.Writer
	header []string
	width  int
	// cutFirst are the columns narrowed first when fitting (the values),
	// so that short fixed-width ones (an expiry) stay whole.
	cutFirst []int
	page     [][]string
	widths   []int
	started  bool
	err      error
}

func newStreamTable(w io.Writer, width int, header ...string) *streamTable {
	h := make([]string, len(header))
	for i, s := range header {
		h[i] = strings.ToUpper(s)
	}
	return &streamTable{w: w, header: h, width: width}
}

// Append adds a row: held while the first page fills, written after.
func (t *streamTable) Append(row []string) error {
	if !t.started {
		t.page = append(t.page, row)
		if len(t.page) < tablePage {
			return nil
		}
		t.start()
		return t.err
	}
	t.row(row)
	return t.err
}

// Close writes what is held and the bottom border.
func (t *streamTable) Close() error {
	if !t.started {
		t.start()
	}
	t.border()
	return t.err
}

func (t *streamTable) start() {
	t.started = true
	t.widths = make([]int, len(t.header))
	for i, h := range t.header {
		t.widths[i] = runewidth.StringWidth(h)
	}
	for _, r := range t.page {
		for i, c := range r {
			t.widths[i] = max(t.widths[i], runewidth.StringWidth(c))
		}
	}
	t.fit()
	t.border()
	t.row(t.header)
	t.border()
	for _, r := range t.page {
		t.row(r)
	}
	t.page = nil
}

// fit narrows the widest column, a character at a time, until the table
// fits t.width or every column is at minColumn (or its header's width).
func (t *streamTable) fit() {
	if t.width <= 0 {
		return
	}
	total := func() int {
		n := 1
		for _, w := range t.widths {
			n += w + 3
		}
		return n
	}
	widest := func(cols []int) int {
		best := -1
		for _, i := range cols {
			floor := max(minColumn, runewidth.StringWidth(t.header[i]))
			if t.widths[i] > floor && (best < 0 || t.widths[i] > t.widths[best]) {
				best = i
			}
		}
		return best
	}
	all := make([]int, len(t.widths))
	for i := range all {
		all[i] = i
	}
	for total() > t.width {
		i := widest(t.cutFirst)
		if i < 0 {
			i = widest(all)
		}
		if i < 0 {
			return
		}
		t.widths[i]--
	}
}

func (t *streamTable) border() {
	var b strings.Builder
	b.WriteByte('+')
	for _, w := range t.widths {
		b.WriteString(strings.Repeat("-", w+2))
		b.WriteByte('+')
	}
	b.WriteByte('\n')
	t.write(b.String())
}

func (t *streamTable) row(r []string) {
	var b strings.Builder
	b.WriteByte('|')
	for i, w := range t.widths {
		c := ""
		if i < len(r) {
			c = r[i]
		}
		if runewidth.StringWidth(c) > w {
			c = runewidth.Truncate(c, w, "…")
		}
		b.WriteByte(' ')
		b.WriteString(runewidth.FillRight(c, w))
		b.WriteString(" |")
	}
	b.WriteByte('\n')
	t.write(b.String())
}

func (t *streamTable) write(s string) {
	if t.err == nil {
		_, t.err = io.WriteString(t.w, s)
	}
}
