package cmd

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/mattn/go-runewidth"
)

// A table on a narrow terminal fits it: no line is wider than the
// terminal, and a long value is cut with an ellipsis, its start kept.
func TestStreamTableFitsWidth(t *testing.T) {
	var out bytes.Buffer
	tb := newStreamTable(&out, 50, "key", "value", "expires")
	tb.cutFirst = []int{1, 0}
	long := strings.Repeat("lorem ipsum ", 20)
	if err := tb.Append([]string{"user:0001", long, "2030-01-01T00:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if w := runewidth.StringWidth(line); w > 50 {
			t.Errorf("line of width %d on a 50-column terminal: %q", w, line)
		}
	}
	if !strings.Contains(out.String(), "| lorem ipsu") || !strings.Contains(out.String(), "…") {
		t.Errorf("the long value is not cut with an ellipsis:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "| user:0001 |") || !strings.Contains(out.String(), "| 2030-01-01T00:00:00Z |") {
		t.Errorf("the key or the expiry was cut though the value could give way:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "KEY") {
		t.Errorf("no header:\n%s", out.String())
	}
}

// Rows beyond the first page are written as they come, before Close:
// the first rows of a large dump appear at once.
func TestStreamTableStreams(t *testing.T) {
	var out bytes.Buffer
	tb := newStreamTable(&out, 0, "key")
	for i := range tablePage + 5 {
		if err := tb.Append([]string{fmt.Sprintf("k%05d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(out.String(), fmt.Sprintf("k%05d", tablePage+4)) {
		t.Fatalf("rows after the first page were held back until Close")
	}
	if err := tb.Close(); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != tablePage+5+4 {
		t.Errorf("%d lines, want %d rows and 4 borders/header lines", n, tablePage+5+4)
	}
}
