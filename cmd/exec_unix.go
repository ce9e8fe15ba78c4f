//go:build unix

package cmd

import (
	"fmt"
	"os"
	"syscall"
)

// execBinary replaces this process with path, argv and the environment,
// so the standard streams, signals and exit status are the new one's.
func execBinary(path string, argv []string) error {
	err := syscall.Exec(path, argv, os.Environ())
	return fmt.Errorf("exec %s: %w", path, err)
}
