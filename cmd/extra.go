package cmd

import "github.com/spf13/cobra"

// extraCommands are the commands for scripts beyond the core six.
func (a *app) extraCommands() []*cobra.Command {
	return nil
}
