//go:build unix && !kv_noearly

package early

import (
	"os"
	"strings"
	"syscall"

	"github.com/kvtool/kv/internal/handoff"
)

func init() {
	// A test binary (kv.test) links this package through package main;
	// it must run its tests, whatever the environment says.
	if strings.HasSuffix(os.Args[0], ".test") || !handoff.Requested(os.Args[1:], os.Getenv) {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return
	}
	if path, ok := handoff.Beside(exe); ok {
		// Exec returns only on failure, which the command tree reports.
		_ = syscall.Exec(path, append([]string{handoff.Binary}, os.Args[1:]...), os.Environ())
	}
}
