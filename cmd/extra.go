package cmd

import "github.com/spf13/cobra"

// extraCommands are the commands for scripts and operators beyond the core
// six.
func (a *app) extraCommands() []*cobra.Command {
	return []*cobra.Command{
		a.newIncrCmd(), a.newTTLCmd(), a.newBatchCmd(), a.newLoadCmd(),
		a.newKeysCmd(), a.newStatsCmd(), a.newBackupCmd(), a.newRepairCmd(),
	}
}
