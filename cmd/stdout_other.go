//go:build !unix

package cmd

import "os"

// stdoutWasClosed reports whether standard output was closed when the
// process started; only Unix is known to put a stand-in there.
func stdoutWasClosed(*os.File) bool { return false }
