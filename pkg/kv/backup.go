package kv

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/kvtool/kv/pkg/manifest"
)

// ErrDestNotEmpty is returned by Backup when the destination directory
// already holds files.
var ErrDestNotEmpty = errors.New("destination is not empty")

// Backup writes a consistent, compacted copy of the store into dest, which
// must not exist or be empty: one table of the live contents (the same
// bytes Compact would write), an empty log and a manifest, all synced,
// with the same private modes as the store. The copy reflects the store at
// one instant: the handle's read lock keeps writers out while it runs.
// A Backup that fails (a full disk, say) removes what it created, the
// directory too if it made it, so that the same Backup can be run again.
func (db *DB) Backup(dest string) error {
	db.mu.RLock()
	defer db.mu.RUnlock()
	if err := db.checkOpen(); err != nil {
		return err
	}
	names, err := db.fs.List(dest)
	made := false
	switch {
	case errors.Is(err, fs.ErrNotExist):
		made = true
	case err != nil:
		return err
	case len(names) > 0:
		return fmt.Errorf("%s: %w", dest, ErrDestNotEmpty)
	}
	if err := db.fs.MkdirAll(dest); err != nil {
		return err
	}
	out := &DB{fs: db.fs, dir: dest, opts: db.opts, mem: newMemtable()}
	err = db.backupInto(out)
	out.releaseAll()
	if err != nil {
		out.removeBackup(made)
	}
	return err
}

// removeBackup removes what a failed Backup wrote into out's directory,
// and the directory itself when Backup made it. It is best effort: the
// error that made the Backup fail is the one reported.
func (out *DB) removeBackup(made bool) {
	names, _ := out.fs.List(out.dir)
	for _, n := range names {
		if _, _, ok := manifest.ParseName(n); ok || n == manifest.FileName || manifest.IsTemp(n) {
			_ = out.fs.Remove(out.path(n))
		}
	}
	if made {
		_ = out.fs.Remove(out.dir)
		_ = out.fs.SyncDir(filepath.Dir(filepath.Clean(out.dir)))
		return
	}
	_ = out.fs.SyncDir(out.dir)
}

// backupInto writes the copy into out, an empty directory.
func (db *DB) backupInto(out *DB) error {
	dest := out.dir
	lock, err := out.fs.LockDir(dest, true, db.opts.LockTimeout)
	if err != nil {
		return out.lockError(err)
	}
	out.lock = lock
	const tnum = 1
	// The copy keeps every revision and continues the numbering: its
	// table covers all the store's writes so far, its log starts above.
	size, written, err := out.writeTable(tnum, db.newIter(nil), true, cover{0, db.nextSeq - 1})
	if err != nil {
		return err
	}
	man := &manifest.Manifest{WAL: tnum + 1, NextFile: tnum + 2}
	if written {
		man.Tables = []manifest.Table{{Num: tnum, Size: size}}
	}
	if err := out.createWAL(man.WAL, db.nextSeq); err != nil {
		return err
	}
	if err := manifest.Write(out.fs, dest, man); err != nil {
		return err
	}
	return out.fs.SyncDir(filepath.Dir(filepath.Clean(dest)))
}
