// Package testsummary records the one-line figures each test technique
// reports ("crash points: 237 × 3 …"). go test shows a passing package's
// log only with -v, so the lines are also appended to the file named by
// $KV_SUMMARY_FILE when it is set; .ci/run prints that file after
// `go test ./...`. Only tests import it.
package testsummary

import (
	"fmt"
	"os"
	"testing"
)

// Log logs "summary: " and the formatted figures, and appends the line to
// $KV_SUMMARY_FILE when set.
func Log(t testing.TB, format string, args ...any) {
	t.Helper()
	line := "summary: " + fmt.Sprintf(format, args...)
	t.Log(line)
	name := os.Getenv("KV_SUMMARY_FILE")
	if name == "" {
		return
	}
	// One write per line with O_APPEND: lines from parallel test binaries
	// do not interleave.
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		t.Errorf("summary file: %v", err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(line + "\n"); err != nil {
		t.Errorf("summary file: %v", err)
	}
}
