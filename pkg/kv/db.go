package kv

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// DB is an open store. It is safe for concurrent use by many goroutines.
type DB struct {
	fs   vfs.FS
	dir  string
	opts Options
	lock io.Closer
	// indexes is the budget of the tables' lookup indexes
	// (Options.IndexMemory).
	indexes *sstable.IndexBudget

	// commits queues durable writers for group commit.
	commits commitQueue
	// wmu is held by whoever changes the handle's state (writers, flush,
	// compaction, Sync, Close), mu by readers (shared) and by a writer
	// while it changes what readers see: a commit writes and fdatasyncs
	// the log under wmu alone, so readers do not wait for the disk. Lock
	// wmu before mu (lockWriter).
	wmu    sync.Mutex
	mu     sync.RWMutex
	closed bool
	broken error
	// deferredErr is the failure of work an unsynced Apply left to the
	// background (see applyDeferred); lost says that work held a batch
	// the handle had accepted and no longer has, so reads fail too.
	deferredErr error
	lost        bool
	// flushPutOff is the error of the last flush put off for lack of
	// room (putOffFlush), nil once a flush succeeds.
	flushPutOff error
	man         *manifest.Manifest // nil: no store on disk yet (read-only)
	tables      []*table           // newest first, as the manifest lists them
	mem         *memtable
	walFile     vfs.File // read-write handles only
	walEnd      int64
	walOps      int // operations in the current log, for Stats
	// walSynced is false while the log may hold bytes not yet synced by
	// this handle (records a failed or dead writer left, a cut tail).
	walSynced bool
	// openedAs is the store as Open found it, when Open flushed a log
	// left over the threshold: Compact reports it as the state before, so
	// kv compact -v does not count the table its own open made. Any later
	// change clears it.
	openedAs *storeSize
	// dirDurable is false while the manifest naming the log may not be
	// durable (see openReadWrite).
	dirDurable bool
	// nextSeq is the revision the next batch takes; walFirst is the
	// current log's first (its header's firstSeq).
	nextSeq, walFirst uint64
	// walRelease releases the log a read-only handle replayed, which its
	// memtable aliases.
	walRelease func() error

	// spare is the memory of a batch written as a table, for the next
	// (takeSpare).
	spareMu sync.Mutex
	spare   *ownedBatch
	// sorted is the memory of the last batch a synced ingest sorted,
	// cleared, for the next (ingest): kept through a run of ingests (a
	// bulk load), let go by any other write, Sync, Close, or an ingest a
	// quarter of its size or smaller. Guarded by mu.
	sorted []wal.Op
}

// Open opens the store in dir, creating it (for a read-write handle) when
// it does not exist. A read-write handle holds the directory's exclusive
// lock until Close; a read-only one holds a shared lock.
func Open(dir string, opts *Options) (*DB, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	o = o.withDefaults()
	dir = resolveDir(o.FS, dir)
	db := &DB{fs: o.FS, dir: dir, opts: o, mem: newMemtable(), indexes: sstable.NewIndexBudget(o.IndexMemory)}
	var err error
	if o.ReadOnly {
		err = db.openReadOnly()
	} else {
		err = db.openReadWrite()
	}
	if err != nil {
		db.releaseAll()
		return nil, err
	}
	return db, nil
}

func (db *DB) path(name string) string { return filepath.Join(db.dir, name) }

func (db *DB) corrupt(name string, off int64, format string, args ...any) error {
	return &CorruptionError{File: db.path(name), Offset: off, Reason: fmt.Sprintf(format, args...)}
}

func (db *DB) openReadOnly() error {
	if _, err := db.fs.Stat(db.dir); errors.Is(err, fs.ErrNotExist) {
		return nil // an absent store reads as empty and stays absent
	} else if err != nil {
		return err
	}
	lock, err := db.fs.LockDir(db.dir, false, db.opts.LockTimeout)
	if err != nil {
		return db.lockError(err)
	}
	db.lock = lock
	man, err := db.readManifest()
	if errors.Is(err, fs.ErrNotExist) {
		_, err := db.orphans()
		return err
	}
	if err != nil {
		return err
	}
	if err := db.openTables(man); err != nil {
		return err
	}
	lb, err := db.readLog(db.path(manifest.WALName(man.WAL)))
	if err != nil {
		return db.missing(manifest.WALName(man.WAL), err)
	}
	db.walRelease = lb.Release
	// A torn tail is ignored: only a writer may truncate it.
	res, err := db.replayLog(lb.Data)
	if err != nil {
		return db.walError(manifest.WALName(man.WAL), err)
	}
	db.nextSeq, db.walEnd, db.walFirst = res.NextSeq, res.End, res.FirstSeq
	db.man = man
	return nil
}

// replayRecordGuess is the record size replayLog sizes the memtable's
// record list for, so that it is made once instead of grown a doubling
// at a time (copied, zeroed and scanned by the collector at each step:
// about half of a one-shot open of a store with a full log of small
// writes, whose records are about 130 bytes). A log of larger records gets
// a list too long, by at most a fifth of the log's size.
const replayRecordGuess = 128

// replayLog checks the log's records and gives them to a fresh memtable,
// which aliases data.
func (db *DB) replayLog(data []byte) (wal.Result, error) {
	db.mem = newMemtable()
	db.mem.records = make([][]byte, 0, len(data)/replayRecordGuess)
	db.mem.seqs = make([]uint64, 0, len(data)/replayRecordGuess)
	return wal.ScanPayloads(data, func(r wal.Record) error {
		db.mem.apply(r.Seq, r.Payload)
		db.walOps += wal.PayloadCount(r.Payload)
		return nil
	})
}

func (db *DB) lockError(err error) error {
	if errors.Is(err, vfs.ErrLockTimeout) {
		return fmt.Errorf("%s: %w (after %s)", db.dir, ErrLocked, db.opts.LockTimeout)
	}
	return fmt.Errorf("lock %s: %w", db.dir, err)
}

func (db *DB) missing(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return db.corrupt(name, -1, "named by the manifest but missing")
	}
	return err
}

// versionError reports a file written by a newer kv, whose format version
// this one does not know.
func (db *DB) versionError(name string, err error) error {
	return fmt.Errorf("%s: %w: %v", db.path(name), ErrUnsupportedVersion, err)
}

func (db *DB) walError(name string, err error) error {
	if errors.Is(err, wal.ErrUnsupportedVersion) {
		return db.versionError(name, err)
	}
	var ce *wal.CorruptError
	if errors.As(err, &ce) {
		return db.corrupt(name, ce.Offset, "%s", ce.Reason)
	}
	return err
}

func (db *DB) readManifest() (*manifest.Manifest, error) {
	man, err := manifest.Read(db.fs, db.dir)
	if errors.Is(err, manifest.ErrUnsupportedVersion) {
		return nil, db.versionError(manifest.FileName, err)
	}
	var ce *manifest.CorruptError
	if errors.As(err, &ce) {
		return nil, db.corrupt(manifest.FileName, ce.Offset, "%s", ce.Reason)
	}
	return man, err
}

func (db *DB) openTables(man *manifest.Manifest) error {
	for _, t := range man.Tables {
		tb, err := db.openTable(t.Num, t.Size)
		if err != nil {
			return err
		}
		db.tables = append(db.tables, tb)
	}
	return nil
}

func (db *DB) openTable(num uint64, size int64) (*table, error) {
	name := manifest.TableName(num)
	f, err := db.fs.Open(db.path(name))
	if err != nil {
		return nil, db.missing(name, err)
	}
	got, err := f.Size()
	if err != nil {
		err = withPath("", db.path(name), err)
	} else if got != size {
		err = db.corrupt(name, -1, "size %d, manifest says %d", got, size)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	r, err := sstable.OpenAt(f, size)
	if err != nil {
		f.Close()
		return nil, db.tableError(name, err)
	}
	t := &table{num: num, path: db.path(name), fs: db.fs, file: f, noMap: vfs.MapCopies(db.fs), indexes: db.indexes}
	t.r.Store(r)
	return t, nil
}

func (db *DB) tableError(name string, err error) error {
	if errors.Is(err, sstable.ErrUnsupportedVersion) {
		return db.versionError(name, err)
	}
	var ce *sstable.CorruptError
	if errors.As(err, &ce) {
		return db.corrupt(name, ce.Offset, "%s", ce.Reason)
	}
	// A read that failed: name the file it failed in.
	return withPath("", db.path(name), err)
}

func (db *DB) openReadWrite() error {
	parentSynced := false
	if _, err := db.fs.Stat(db.dir); errors.Is(err, fs.ErrNotExist) {
		if err := db.fs.MkdirAll(db.dir); err != nil {
			return fmt.Errorf("create data directory: %w", err)
		}
		// The new directory's own entry must survive a crash too.
		if err := db.syncParent(); err != nil {
			return err
		}
		parentSynced = true
	} else if err != nil {
		// Not "does not exist" from the lock file later: the real cause.
		return fmt.Errorf("data directory: %w", err)
	}
	lock, err := db.fs.LockDir(db.dir, true, db.opts.LockTimeout)
	if err != nil {
		return db.lockError(err)
	}
	db.lock = lock
	man, err := db.readManifest()
	created := false
	if errors.Is(err, fs.ErrNotExist) {
		man, err = db.create()
		created = true
		if err == nil && !parentSynced {
			// A directory made before (by the user, or by an open that
			// died before syncing its parent): its entry must be
			// durable before the store in it acknowledges a write.
			err = db.syncParent()
		}
	}
	if err != nil {
		return err
	}
	if err := db.openTables(man); err != nil {
		return err
	}
	if err := db.recoverWAL(man); err != nil {
		return err
	}
	db.man = man
	if err := db.removeLeftovers(); err != nil {
		return err
	}
	// What this open found may not be durable yet: a handle that failed
	// (or a process that died) after renaming a manifest but before
	// syncing the directory, or after writing a record but before syncing
	// the log, leaves state that a power loss would undo. It is made
	// durable before anything is acknowledged on top of it, but lazily,
	// so that a one-shot write pays for one fdatasync, not three:
	//   - the log: the next append's fdatasync covers every earlier byte
	//     of the file; a handle that never syncs the log syncs it at Close;
	//   - the directory: a manifest that may be unsynced names a log with
	//     no record yet (every rewrite starts a fresh log or keeps one
	//     whose records were appended after such a sync), so the first
	//     append to an empty log syncs the directory first, unless this
	//     open created the store: create's manifest.Write synced it.
	db.dirDurable = created || db.walEnd > wal.HeaderSize
	if db.walEnd > db.opts.FlushThreshold {
		// A log left over the threshold (a flush that failed or was cut
		// short) is flushed now, so every open stays bounded.
		before := &storeSize{tables: len(db.tables), bytes: db.diskBytes()}
		if err := db.putOffFlush(db.flushLocked()); err != nil {
			return err
		}
		db.openedAs = before
	}
	return nil
}

// syncParent makes the data directory's entry in its parent durable.
func (db *DB) syncParent() error {
	if err := db.fs.SyncDir(filepath.Dir(filepath.Clean(db.dir))); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	return nil
}

// create initialises an empty store: a log, then the manifest naming it.
func (db *DB) create() (*manifest.Manifest, error) {
	names, err := db.orphans()
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !mayPrecedeStore(n) {
			return nil, fmt.Errorf("%s: %w: it holds %s; kv creates a store only in an empty or new directory (check --dir)", db.dir, ErrNotStore, n)
		}
	}
	// Only empty logs, if anything: a crash cut an earlier create short
	// before its manifest was written. They hold nothing; start afresh.
	for _, n := range names {
		if _, _, ok := manifest.ParseName(n); ok {
			if err := db.fs.Remove(db.path(n)); err != nil {
				return nil, err
			}
		}
	}
	man := &manifest.Manifest{WAL: 1, NextFile: 2}
	if err := db.createWAL(man.WAL, 1); err != nil {
		return nil, err
	}
	if err := manifest.Write(db.fs, db.dir, man); err != nil {
		return nil, err
	}
	return man, nil
}

// LocksDir is the folder of a data directory that holds named locks
// (pkg/coord). The engine leaves it alone, and it may be there before
// the store is.
const LocksDir = "locks"

// mayPrecedeStore reports whether a file named name may be in a
// directory before kv creates a store there: what locking and
// coordination leave, and the files of a create a crash cut short.
func mayPrecedeStore(name string) bool {
	_, _, ok := manifest.ParseName(name)
	return ok || manifest.IsTemp(name) || name == vfs.QueueDir || name == LocksDir || name == "LOCK"
}

// orphans lists the directory when it has no manifest, and fails if store
// files that hold data are there: the manifest was lost, which reading the
// store as empty would hide.
func (db *DB) orphans() ([]string, error) {
	names, err := db.fs.List(db.dir)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if _, _, ok := manifest.ParseName(n); ok && !db.emptyLog(n) {
			return nil, db.corrupt(manifest.FileName, -1, "missing, but store files such as %s are present (run kv repair)", n)
		}
	}
	return names, nil
}

// emptyLog reports whether name is a log holding no record (a header, a
// part of one, or nothing), which a crash during create can leave.
func (db *DB) emptyLog(name string) bool {
	if _, ext, _ := manifest.ParseName(name); ext != "wal" {
		return false
	}
	st, err := db.fs.Stat(db.path(name))
	return err == nil && st.Size <= wal.HeaderSize
}

// createWAL writes a new, empty, synced log.
func (db *DB) createWAL(num, firstSeq uint64) error {
	name := db.path(manifest.WALName(num))
	f, err := db.fs.Create(name)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(wal.AppendHeader(nil, firstSeq), 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// recoverWAL replays the log into the memtable and cuts a torn tail off.
func (db *DB) recoverWAL(man *manifest.Manifest) error {
	name := manifest.WALName(man.WAL)
	f, err := db.fs.OpenRW(db.path(name))
	if err != nil {
		return db.missing(name, err)
	}
	db.walFile = f
	end, size, err := vfs.DataEnd(f)
	if err != nil {
		return err
	}
	if end > wal.MaxLogBytes {
		return db.logTooLarge(name, end)
	}
	data := make([]byte, end)
	if _, err := f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	res, err := db.replayLog(data)
	if err != nil {
		return db.walError(name, err)
	}
	if wal.TornTail(res, size) != nil {
		// What a crash leaves: the write was never acknowledged (or a
		// hole of zeros after the last record). Cut it off so the next
		// record follows the last whole one.
		if err := f.Truncate(res.End); err != nil {
			return err
		}
	}
	db.walEnd, db.nextSeq, db.walFirst = res.End, res.NextSeq, res.FirstSeq
	db.walSynced = res.Torn == nil && res.Records == 0
	return nil
}

// removeLeftovers deletes the store files the manifest does not name: the
// remains of a flush or compaction that a crash interrupted, or files
// already replaced. Files of other names are never touched.
func (db *DB) removeLeftovers() error {
	names, err := db.fs.List(db.dir)
	if err != nil {
		return err
	}
	live := db.liveSet()
	removed := false
	for _, n := range names {
		if num, _, ok := manifest.ParseName(n); (ok && !live[num]) || manifest.IsTemp(n) {
			if err := db.fs.Remove(db.path(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			removed = true
		}
	}
	if removed {
		// Durable, so that no replaced table comes back after a power loss.
		return db.fs.SyncDir(db.dir)
	}
	return nil
}

func (db *DB) liveSet() map[uint64]bool {
	live := map[uint64]bool{db.man.WAL: true}
	for _, t := range db.man.Tables {
		live[t.Num] = true
	}
	return live
}

// lockWriter takes both of the handle's locks, for a change of its state.
func (db *DB) lockWriter() {
	db.wmu.Lock()
	db.mu.Lock()
}

func (db *DB) unlockWriter() {
	db.mu.Unlock()
	db.wmu.Unlock()
}

// Close releases the handle's files and lock.
func (db *DB) Close() error {
	db.lockWriter()
	defer db.unlockWriter()
	db.takeSpare()
	db.sorted = nil
	if db.closed {
		return ErrClosed
	}
	db.closed = true
	err := db.syncFound()
	if db.deferredErr != nil {
		// No call after the failure may have reported it.
		err = db.deferredError()
	}
	if rerr := db.releaseAll(); err == nil {
		err = rerr
	}
	return err
}

// syncFound makes durable what a read-write handle found at open and has
// not synced since (see openReadWrite), so that state this handle may have
// shown to readers survives a power loss even when it wrote nothing.
func (db *DB) syncFound() error {
	if db.opts.ReadOnly || db.walFile == nil || db.broken != nil || db.opts.NoSync {
		return nil
	}
	if !db.walSynced {
		if err := db.walFile.Sync(); err != nil {
			return err
		}
		db.walSynced = true
	}
	if !db.dirDurable {
		if err := db.fs.SyncDir(db.dir); err != nil {
			return err
		}
		db.dirDurable = true
	}
	return nil
}

// ReleaseLock lets go of a read-only handle's shared lock; the handle stays
// usable. A read-only Open builds its whole view under the lock: the
// manifest read, every table open (its descriptor, and any mapping, keep
// it readable after a writer removes its name) and the log read to its
// end. After ReleaseLock the handle goes on reading that view, one instant
// of the store, and sees no later write, while writers are free to run.
// It is how a reader streams output to a pipe that may stall without
// holding writers off. On a read-write handle it returns an error and
// keeps the lock.
func (db *DB) ReleaseLock() error {
	if !db.opts.ReadOnly {
		return errors.New("kv: ReleaseLock on a read-write handle")
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.lock == nil {
		return nil
	}
	err := db.lock.Close()
	db.lock = nil
	return err
}

func (db *DB) releaseAll() error {
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, t := range db.tables {
		keep(t.release())
	}
	db.tables = nil
	if db.walFile != nil {
		keep(db.walFile.Close())
		db.walFile = nil
	}
	if db.walRelease != nil {
		keep(db.walRelease())
		db.walRelease = nil
	}
	if db.lock != nil {
		keep(db.lock.Close())
		db.lock = nil
	}
	return first
}

// Dir is the data directory (with symlinks resolved).
func (db *DB) Dir() string { return db.dir }

func (db *DB) checkOpen() error {
	if db.closed {
		return ErrClosed
	}
	if db.lost {
		return db.deferredError()
	}
	return nil
}

func (db *DB) deferredError() error {
	return fmt.Errorf("%w: %w", ErrBroken, db.deferredErr)
}

// storeSize is a store's number of tables and bytes on disk.
type storeSize struct {
	tables int
	bytes  int64
}
