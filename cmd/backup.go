package cmd

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
)

func (a *app) newBackupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup DEST",
		Short: "Write a consistent, compacted copy of the store into DEST",
		Long: `Write a consistent copy of the store, compacted to its live contents, into
the directory DEST, taken under the shared lock (writers wait; readers go
on). DEST must not exist or be empty; kv backup never overwrites (exit 1).
The copy is a store of its own: kv -d DEST verify checks it, and it has the
same private permissions (0700 directory, 0600 files).`,
		Example: `  kv backup /var/backups/kv-$(date +%F)`,
		Args:    cobra.ExactArgs(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			s, err := a.openRead()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			db, ok := backend.LocalDB(s)
			if !ok {
				return fmt.Errorf("this backend cannot make backups")
			}
			err = db.Backup(args[0])
			if errors.Is(err, kv.ErrDestNotEmpty) {
				return noError{msg: err.Error() + "; kv backup never overwrites"}
			}
			return err
		}),
	}
}
