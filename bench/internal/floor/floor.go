// Package floor is the floor under one-shot commands: a Go process that
// starts and exits, and with "sync FILE", also appends one 113-byte record
// to FILE and fdatasyncs it, as a one-shot durable set must at least do.
package floor

import (
	"os"

	"golang.org/x/sys/unix"
)

// Main runs the floor with the process's arguments.
func Main() {
	if len(os.Args) == 3 && os.Args[1] == "sync" {
		f, err := os.OpenFile(os.Args[2], os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			panic(err)
		}
		if _, err := f.Write(make([]byte, 113)); err != nil {
			panic(err)
		}
		if err := unix.Fdatasync(int(f.Fd())); err != nil {
			panic(err)
		}
		f.Close()
	}
}
