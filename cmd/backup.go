package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

func (a *app) newBackupCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "backup DEST",
		Short: "Write a consistent, compacted copy of the store into DEST",
		Long: `Write a consistent copy of the store, compacted to its live contents, into
the directory DEST, taken under the shared lock (writers wait; readers go
on). DEST must not exist or be empty; kv backup never overwrites (exit 1).
The copy is a store of its own: kv -d DEST verify checks it, and it has the
same private permissions (0700 directory, 0600 files).

On etcd (--endpoints), DEST is a file: a snapshot of the database of the
member kv is connected to, as etcdctl snapshot save writes it, which
etcdutl snapshot restore turns into a new cluster's data. DEST must not
exist (exit 1); it appears whole or not at all.`,
		Example: `  kv backup /var/backups/kv-$(date +%F)`,
		Args:    cobra.ExactArgs(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) (err error) {
			s, err := a.openRead()
			if err != nil {
				return err
			}
			defer closeStore(s, &err)
			if snap, ok := s.(backend.Snapshotter); ok {
				return a.writeSnapshot(snap, args[0])
			}
			db, ok := backend.LocalDB(s)
			if !ok {
				return usagef("kv backup has no meaning on this backend")
			}
			err = db.Backup(args[0])
			if errors.Is(err, kv.ErrDestNotEmpty) {
				return noError{msg: err.Error() + "; kv backup never overwrites"}
			}
			return err
		}),
	}
}

// writeSnapshot writes a cluster's snapshot into the new file dest: into
// a temporary file beside it first, synced, then linked to dest (which
// fails if dest exists), so dest is whole or absent.
func (a *app) writeSnapshot(snap backend.Snapshotter, dest string) (err error) {
	if _, err := os.Lstat(dest); err == nil {
		return noError{msg: fmt.Sprintf("%s exists; kv backup never overwrites", dest)}
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = snap.Snapshot(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), dest); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return noError{msg: fmt.Sprintf("%s exists; kv backup never overwrites", dest)}
		}
		return err
	}
	return vfs.Default.SyncDir(filepath.Dir(dest))
}
