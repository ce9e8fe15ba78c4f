package kv_test

import (
	"os"
	"testing"

	"github.com/kvtool/kv/internal/testsummary"
)

// longRun reports whether the long torture run was asked for
// (KV_TORTURE=long): every sampled test then covers more cases.
func longRun() bool { return os.Getenv("KV_TORTURE") == "long" }

// sample returns n, or under the race detector about n/div (at least 1).
func sample(n, div int) int {
	if raceEnabled {
		return max(1, n/div)
	}
	return n
}

// summary logs one technique's figures as a line starting "summary: ",
// so that `go test -v ./... | grep summary:` lists every technique.
func summary(t *testing.T, format string, args ...any) {
	t.Helper()
	testsummary.Log(t, ""+format, args...)
}
