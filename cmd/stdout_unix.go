//go:build unix

package cmd

import (
	"os"

	"golang.org/x/sys/unix"
)

// stdoutWasClosed reports whether f, the process's standard output, is the
// stand-in the Go runtime puts in place of a closed one (kv get k >&-):
// /dev/null opened read-write at start-up. Writes to it succeed and go
// nowhere, so a value would be lost with exit 0. A shell's >/dev/null
// opens it write-only, which is a choice to discard and is left alone.
func stdoutWasClosed(f *os.File) bool {
	if f != os.Stdout {
		return false
	}
	var st, null unix.Stat_t
	if unix.Fstat(int(f.Fd()), &st) != nil || unix.Stat(os.DevNull, &null) != nil {
		return false
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != null.Rdev {
		return false
	}
	flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFL, 0)
	return err == nil && flags&unix.O_ACCMODE == unix.O_RDWR
}
