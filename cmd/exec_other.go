//go:build !unix

package cmd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// execBinary runs path with argv and this process's environment and
// standard streams, and exits with its status: this platform cannot
// replace a process.
func execBinary(path string, argv []string) error {
	c := exec.Command(path, argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := c.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		return fmt.Errorf("run %s: %w", path, err)
	}
	os.Exit(0)
	return nil
}
