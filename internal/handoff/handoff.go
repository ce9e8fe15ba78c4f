// Package handoff decides, from the arguments and the environment alone,
// whether a kv command runs on a cluster, and finds the binary that runs
// it there. The kv binary links no cluster client: it execs that binary
// instead. This package is read before kv builds its command tree (from
// package early, during initialisation), so it imports only os and
// strings.
package handoff

import (
	"os"
	"strings"
)

// Binary is the name of the binary that runs kv's commands on an etcd
// cluster.
const Binary = "kv-etcd"

// Requested reports whether args (without the program name) or the
// environment's KV_ENDPOINTS name endpoints. It is a shortcut read
// without the command tree: endpoints from the config file, and anything
// it does not recognise, are left to the command tree, which reads them
// with everything else.
func Requested(args []string, getenv func(string) string) bool {
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--":
			i = len(args)
		case a == "version" || a == "--version" || a == "help" || a == "--help" || a == "-h":
			return false // kv answers these itself
		case strings.HasPrefix(a, "--endpoints="):
			return strings.TrimSpace(strings.TrimPrefix(a, "--endpoints=")) != ""
		case a == "--endpoints" && i+1 < len(args):
			return strings.TrimSpace(args[i+1]) != ""
		}
	}
	return strings.TrimSpace(getenv("KV_ENDPOINTS")) != ""
}

// Beside returns the path of Binary in the directory of the executable
// exe, and whether a regular file is there.
func Beside(exe string) (string, bool) {
	path := exe[:strings.LastIndexByte(exe, os.PathSeparator)+1] + Binary
	st, err := os.Stat(path)
	return path, err == nil && st.Mode().IsRegular()
}
