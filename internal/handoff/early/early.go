//go:build unix

// Package early hands a cluster command over to kv-etcd while the kv
// binary initialises its packages, before the rest of them (Cobra, Viper,
// the table and YAML packages) run their initialisation: a command that
// runs on a cluster starts two processes, and the first should cost as
// little as it can. Only the kv binary's main package imports it.
//
// Go initialises the packages in the order of their import paths, each
// once all its imports are: importing only os, strings, syscall and
// handoff lets this package run before most of the binary's others.
//
// It does nothing when the endpoints come from the config file, when
// kv-etcd is not beside the kv executable, or when exec fails: the
// command tree then hands over the usual way, or says what is missing.
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
