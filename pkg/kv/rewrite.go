package kv

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

func tableName(num uint64) string { return manifest.TableName(num) }

func walName(num uint64) string { return manifest.WALName(num) }

// rewrite is the one way the set of live files changes. It merges srcs
// (newest first) into at most one new table, which replaces the newest
// `replaced` tables; when newLog is set the memtable is among srcs and a
// fresh log replaces the current one. bottom says the output will be the
// oldest table, so tombstones and expired values can be dropped.
//
// Crash safety: the new table and log are written and synced under names
// no manifest mentions, so until the manifest is replaced they are
// leftovers; manifest.Write makes the switch atomic and durable; only then
// are the replaced files deleted. A crash at any step leaves either the old
// manifest with all its files, or the new one with all of its.
func (db *DB) rewrite(srcs []iterator, replaced int, newLog, bottom bool) error {
	db.openedAs = nil
	next := db.man.NextFile
	need := uint64(1) // the table, and the log if newLog
	if newLog {
		need++
	}
	if next-1 > manifest.MaxFileNum-need {
		// Not a failure of the device: the handle stays usable for reads.
		return fmt.Errorf("%s: %w; kv repair renumbers the store's files", db.path(manifest.FileName), manifest.ErrFileNumbersExhausted)
	}
	var newTables []manifest.Table
	var opened *table
	var made []string // files of this rewrite, until the manifest names them
	// undo handles a failure before the switch: the old manifest and its
	// files are untouched, so removing what this rewrite made restores
	// the store. A full device is then no reason to stop the handle.
	undo := func(err error) error {
		if opened != nil {
			opened.release()
		}
		if errors.Is(err, manifest.ErrNotDurable) {
			// The new manifest is in place and names the new files.
			return db.fail(fmt.Errorf("write manifest: %w", err))
		}
		for _, name := range made {
			_ = db.removeFile(name)
		}
		if vfs.IsNoSpace(err) {
			return fmt.Errorf("%w (about %d bytes needed; nothing was changed): %w", ErrNoSpace, db.rewriteNeeds(replaced, newLog), err)
		}
		return db.fail(err)
	}
	tnum := next
	next++
	size, written, err := db.writeTable(tnum, newMergeIter(srcs), bottom, db.rewriteCover(replaced, newLog, bottom))
	if err != nil {
		return undo(err)
	}
	if written {
		made = append(made, tableName(tnum))
		newTables = append(newTables, manifest.Table{Num: tnum, Size: size})
		if opened, err = db.openTable(tnum, size); err != nil {
			return undo(err)
		}
	}
	walNum := db.man.WAL
	if newLog {
		walNum = next
		next++
		made = append(made, walName(walNum))
		if err := db.createWAL(walNum, db.nextSeq); err != nil {
			return undo(err)
		}
	}
	newTables = append(newTables, db.man.Tables[replaced:]...)
	// Make the new files' directory entries durable before the manifest
	// names them, rather than rely on the filesystem ordering the
	// manifest's rename after their creation.
	if err := db.fs.SyncDir(db.dir); err != nil {
		return undo(err)
	}
	man := &manifest.Manifest{WAL: walNum, NextFile: next, Tables: newTables}
	if err := manifest.Write(db.fs, db.dir, man); err != nil {
		return undo(err)
	}
	// The new state is durable; switch the handle over to it.
	oldLog := db.man.WAL
	old := db.tables[:replaced]
	rest := slices.Clone(db.tables[replaced:])
	db.tables = rest
	if opened != nil {
		db.tables = append([]*table{opened}, rest...)
	}
	db.man = man
	db.dirDurable = true // manifest.Write synced the directory
	// The replaced tables are released first: no longer among db.tables,
	// they would stay open if a step below failed. From here on the new
	// state is durable and the handle uses it, so nothing below fails the
	// rewrite: a file that could not be closed or removed is a leftover
	// the next writer removes (removeLeftovers), and the store is
	// consistent either way.
	for _, t := range old {
		_ = t.release()
		_ = db.removeFile(tableName(t.num))
	}
	if newLog {
		f, err := db.fs.OpenRW(db.path(walName(walNum)))
		if err != nil {
			return db.fail(err)
		}
		_ = db.walFile.Close()
		db.walFile, db.walEnd, db.walFirst = f, wal.HeaderSize, db.nextSeq
		db.mem = newMemtable()
		db.walOps = 0
		db.walSynced = true
		_ = db.removeFile(walName(oldLog))
	}
	// The removals are made durable: a replaced table that a power loss
	// kept would be taken for a live one by a Repair that has no manifest
	// to go by (docs/FORMAT.md §12.6). A failed sync is a failing device,
	// as any failed sync is: the handle stops, and the next writer's
	// removeLeftovers removes and syncs again.
	if len(old) > 0 || newLog {
		if err := db.fs.SyncDir(db.dir); err != nil {
			return db.fail(withPath("sync (after removing replaced files)", db.dir, err))
		}
	}
	return nil
}

// rewriteNeeds estimates the bytes a rewrite of the newest `replaced`
// tables (and the log, when newLog) writes: about the size of its inputs,
// with room for a table's index and filter.
func (db *DB) rewriteNeeds(replaced int, newLog bool) int64 {
	var n int64
	for _, t := range db.man.Tables[:replaced] {
		n += t.Size
	}
	if newLog {
		n += db.walEnd + wal.HeaderSize
	}
	return n + 64<<10
}

func (db *DB) removeFile(name string) error {
	err := db.fs.Remove(db.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}
