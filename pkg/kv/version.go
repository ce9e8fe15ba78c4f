package kv

import (
	"errors"
	"io/fs"

	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// CheckVersions returns an error wrapping ErrUnsupportedVersion when a
// store file in dir (on fsys, the OS when nil) is intact but was written
// by a newer kv; see checkVersions. Tools that read a store's files
// directly (pkg/inspect) call it first.
func CheckVersions(fsys vfs.FS, dir string) error {
	if fsys == nil {
		fsys = vfs.Default
	}
	return (&DB{fs: fsys, dir: dir}).checkVersions()
}

// checkVersions returns an error wrapping ErrUnsupportedVersion when any
// store file of the directory is intact but of a format version this kv
// does not know. Verify and Repair call it before anything else: such a
// file was written by a newer kv, and reporting it as damage, or
// salvaging it into a "repaired" store, would lose what the newer kv
// wrote. Damaged files are left for the caller to report.
func (db *DB) checkVersions() error {
	if _, err := manifest.Read(db.fs, db.dir); errors.Is(err, manifest.ErrUnsupportedVersion) {
		return db.versionError(manifest.FileName, err)
	}
	names, err := db.fs.List(db.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, name := range names {
		_, ext, ok := manifest.ParseName(name)
		if !ok {
			continue
		}
		data, release, err := db.fs.Map(db.path(name))
		if err != nil {
			continue // unreadable: the caller reports it
		}
		switch ext {
		case "wal":
			_, err = wal.DecodeHeader(data)
			if errors.Is(err, wal.ErrUnsupportedVersion) {
				err = db.versionError(name, err)
			} else {
				err = nil
			}
		case "sst":
			_, err = sstable.Open(data)
			if errors.Is(err, sstable.ErrUnsupportedVersion) {
				err = db.versionError(name, err)
			} else {
				err = nil
			}
		}
		_ = release()
		if err != nil {
			return err
		}
	}
	return nil
}
