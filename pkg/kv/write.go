package kv

import (
	"errors"
	"fmt"
	"time"

	"github.com/kvtool/kv/pkg/wal"
)

// Set stores value under key, durably unless Options.NoSync.
func (db *DB) Set(key, value []byte) error {
	var b Batch
	b.Set(key, value)
	return db.Apply(&b)
}

// SetExpiring stores value under key until expiresAt.
func (db *DB) SetExpiring(key, value []byte, expiresAt time.Time) error {
	var b Batch
	b.SetExpiring(key, value, expiresAt)
	return db.Apply(&b)
}

// Delete removes key. Deleting a missing key is not an error.
func (db *DB) Delete(key []byte) error {
	var b Batch
	b.Delete(key)
	return db.Apply(&b)
}

// Apply writes a batch atomically. When it returns nil the whole batch is
// durable (unless Options.NoSync); when it returns an error, the batch may
// or may not be on disk, but never in part.
//
// With Options.NoSync, Apply may return while a large batch's table, or
// the flush a write triggered, is still being written in the background;
// every later call on the handle waits for it and sees its result. If that
// work fails, the next call reports it (Sync and Close included) and the
// handle is broken; if the failed work held an accepted batch, reads fail
// too, since the handle no longer has what Apply accepted. Until that
// later call returns, such a large batch is only in memory: a crash of the
// process can lose it (see Options.NoSync).
//
// Durable writers of one handle that run at the same time share their
// fdatasync (see commit).
func (db *DB) Apply(b *Batch) error {
	if b.Len() == 0 {
		return nil
	}
	for _, op := range b.ops {
		if err := validate(op); err != nil {
			return err
		}
	}
	if !db.opts.NoSync {
		return db.commit(b.ops)
	}
	var sorted *ownedBatch
	if db.ingests(b.ops) && !db.opts.ReadOnly {
		// Sorted and copied (the caller may reuse its buffers once Apply
		// returns) before the locks are taken, so while an earlier
		// batch's table may still be being written.
		sorted = ownBatch(b.ops, db.takeSpare())
	}
	db.lockWriter()
	if err := db.writable(); err != nil {
		db.unlockWriter()
		return err
	}
	return db.applyDeferred(b.ops, sorted)
}

// ingests reports whether a batch is large enough to become a table of its
// own rather than a log record.
func (db *DB) ingests(ops []wal.Op) bool {
	size := int64(wal.EncodedSize(ops))
	return size > db.opts.FlushThreshold || size > wal.MaxRecordSize
}

func (db *DB) writable() error {
	if err := db.checkOpen(); err != nil {
		return err
	}
	if db.opts.ReadOnly {
		return ErrReadOnly
	}
	if db.broken != nil {
		return fmt.Errorf("%w: %w", ErrBroken, db.broken)
	}
	return nil
}

// fail marks the handle broken: after a failed write or sync, what is on
// disk is unknown (a failed fsync may have dropped dirty pages), so the
// only safe course is to stop and let the next open recover from the disk.
// A lack of room (ErrNoSpace) is reported only once what it left was
// undone, so it does not stop the handle.
func (db *DB) fail(err error) error {
	if db.broken == nil && !errors.Is(err, ErrNoSpace) {
		db.broken = err
	}
	return err
}

func (db *DB) applyLocked(ops []wal.Op) error {
	if db.ingests(ops) {
		// A batch larger than the log threshold becomes a table of its
		// own, made live by one manifest write: still all or nothing,
		// without writing the data twice.
		return db.ingest(ops)
	}
	if err := db.appendLocked(ops); err != nil {
		return err
	}
	return db.flushIfFull()
}

// flushIfFull flushes the memtable once the log has passed the threshold.
// A flush that finds no room on the device is put off (putOffFlush): the
// write before it is durable and applied, and the log takes the next ones.
func (db *DB) flushIfFull() error {
	if db.walEnd > db.opts.FlushThreshold {
		if err := db.putOffFlush(db.flushLocked()); err != nil {
			return fmt.Errorf("%w: %w", ErrFlushAfterWrite, err)
		}
	}
	return nil
}

// putOffFlush returns the error of a flush unless it only found no room
// for its table, which changed nothing (rewrite): then the log stays over
// its threshold, and the next write or open tries again. This is what lets
// a delete reach a full disk, where it is needed most.
func (db *DB) putOffFlush(err error) error {
	if errors.Is(err, ErrNoSpace) {
		db.flushPutOff = err
		return nil
	}
	db.flushPutOff = nil
	return err
}

// FlushPutOff returns the error of the flush this handle last put off for
// lack of room (see ErrNoSpace), or nil when the last flush was done or
// none was due. While flushes are put off the log grows past its
// threshold, up to the largest log the engine reads, after which writes
// fail with an error wrapping ErrNoSpace.
func (db *DB) FlushPutOff() error {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.flushPutOff
}

// appendLocked writes a batch to the log as one record and applies it to
// the memtable. The caller holds both locks.
func (db *DB) appendLocked(ops []wal.Op) error {
	rec := wal.AppendRecord(nil, db.nextSeq, ops)
	if err := db.writeLog(rec); err != nil {
		return db.fail(err)
	}
	db.publish(rec, len(ops))
	return nil
}

// writeLog appends a record at the log's end and, unless NoSync, makes it
// durable. It changes nothing in the handle, so a committer runs it
// holding only wmu, while readers go on.
func (db *DB) writeLog(rec []byte) error {
	if !db.dirDurable && !db.opts.NoSync {
		// The manifest naming this (empty) log may not be durable yet.
		if err := db.fs.SyncDir(db.dir); err != nil {
			return withPath("sync", db.dir, err)
		}
	}
	if db.walEnd+int64(len(rec)) > wal.MaxLogBytes {
		// Only flushes put off for lack of room let the log grow this far.
		return fmt.Errorf("%w: the log %s is as large as the engine lets it grow, and its flush into a table is put off until the device has room",
			ErrNoSpace, db.walName())
	}
	if _, err := db.walFile.WriteAt(rec, db.walEnd); err != nil {
		// Cut off what may have landed so the log stays appendable; if
		// that fails too, the next open sees a torn tail and cuts it.
		_ = db.walFile.Truncate(db.walEnd)
		return withPath("write", db.walName(), err)
	}
	if !db.opts.NoSync {
		if err := db.walFile.Sync(); err != nil {
			return withPath("sync", db.walName(), err)
		}
	}
	return nil
}

// publish makes a record writeLog wrote, of n operations, part of what
// readers see. The caller holds both locks.
func (db *DB) publish(rec []byte, n int) {
	db.openedAs = nil
	// A run of ingests has ended: its sort memory is let go (see ingest).
	db.sorted = nil
	if !db.opts.NoSync {
		db.dirDurable, db.walSynced = true, true
	}
	db.walEnd += int64(len(rec))
	// The record's buffer is not reused, so the memtable may alias it.
	db.mem.apply(db.nextSeq, rec[wal.RecordHeaderSize:])
	db.nextSeq++
	db.walOps += n
}

func (db *DB) walName() string {
	return db.path(walName(db.man.WAL))
}

// Sync makes every write so far durable. With Options.NoSync it is how a
// bulk load pays for one fdatasync at the end instead of one per batch.
func (db *DB) Sync() error {
	db.lockWriter()
	defer db.unlockWriter()
	// A Sync ends a run of batches: the memory kept for the next one
	// (takeSpare) is let go, so that a long-lived handle does not hold a
	// large batch's worth of it. Under the locks, no table being written
	// can put it back. Likewise a synced ingest's sort memory.
	db.takeSpare()
	db.sorted = nil
	if err := db.writable(); err != nil {
		return err
	}
	if err := db.walFile.Sync(); err != nil {
		return db.fail(withPath("sync", db.walName(), err))
	}
	db.walSynced = true
	if !db.dirDurable {
		if err := db.fs.SyncDir(db.dir); err != nil {
			return db.fail(withPath("sync", db.dir, err))
		}
		db.dirDurable = true
	}
	return nil
}
