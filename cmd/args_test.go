package cmd

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// TestDataArgs: after KEY, words that look like flags but are not the
// command's are data; flags, --help included, keep working everywhere,
// and other commands' arguments are never touched.
func TestDataArgs(t *testing.T) {
	cases := []struct{ in, want string }{
		{"set temp -5", "set -- temp -5"},
		{"set x -1.5 --ttl 1h", "set --ttl 1h -- x -1.5"},
		{"-d /s set x -1 -q", "-d /s set -q -- x -1"},
		{"set --help", "set --help"},
		{"set k --help", "set k --help"},
		{"set k -h", "set k -h"},
		{"set k v", "set k v"},
		{"set k --value-file f", "set k --value-file f"},
		{"get k -n", "get k -n"},
		{"get k -nx", "get -- k -nx"},
		{"get -- -dash", "get -- -dash"},
		{"del a -b c", "del -- a -b c"},
		{"incr n -2", "incr n -2"},
		{"lock L -n -- cmd -x", "lock L -n -- cmd -x"},
		{"dump --format tsv", "dump --format tsv"},
	}
	for _, c := range cases {
		a := &app{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}, now: time.Now}
		args := strings.Fields(c.in)
		buildWholeTree = true
		root := a.newRoot(args)
		buildWholeTree = false
		if got := strings.Join(dataArgs(root, args), " "); got != c.want {
			t.Errorf("%s: got %q, want %q", c.in, got, c.want)
		}
	}
}
