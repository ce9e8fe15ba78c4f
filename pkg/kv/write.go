package kv

import (
	"fmt"
	"sync"
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

// applyDeferred is Apply for an unsynced handle. The caller holds both
// locks (lockWriter); applyDeferred releases them, either at once or, when
// a table must be written, from a goroutine that writes it (Go's mutexes
// may be unlocked by another goroutine than the one that locked them). A
// bulk loader thus prepares, copies and sorts its next batch while this
// one is written, and the two share the cores. Every other call takes
// db.mu, so it waits for the table and sees it, and the filesystem
// operations happen in the same order, with the same bytes, as a
// synchronous Apply's. Only unsynced handles defer: their Apply promises
// visibility, not durability.
//
// sorted is the batch sorted and in memory of its own (ownBatch) when the
// batch becomes a table, else nil.
func (db *DB) applyDeferred(ops []wal.Op, sorted *ownedBatch) error {
	var work func() error
	what, holdsBatch := "flush after an accepted write", false
	if sorted != nil {
		work = func() error {
			if err := db.ingestSorted(sorted.ops); err != nil {
				return err
			}
			db.putSpare(sorted)
			return nil
		}
		what, holdsBatch = "write of an accepted batch", true
	} else {
		if err := db.appendLocked(ops); err != nil || db.walEnd <= db.opts.FlushThreshold {
			db.unlockWriter()
			return err
		}
		work = db.flushLocked
	}
	go func() {
		defer db.unlockWriter()
		defer func() {
			// A panic here could not reach the caller, whose Apply has
			// returned: it breaks the handle instead of the process.
			if r := recover(); r != nil {
				db.deferredErr, db.lost = fmt.Errorf("%s: panic: %v", what, r), holdsBatch
				_ = db.fail(db.deferredErr)
			}
		}()
		if err := work(); err != nil {
			db.deferredErr, db.lost = fmt.Errorf("%s: %w", what, err), holdsBatch
		}
	}()
	return nil
}

// ownedBatch is an ingest-sized batch sorted (sortBatch) and copied into
// memory of its own.
type ownedBatch struct {
	ops []wal.Op
	// arena holds the keys and values that ops point into.
	arena []byte
}

// ownBatch sorts ops and copies them, in key order, into memory of their
// own: spare's where it is large enough. Copied in key order, the table
// writer then reads the copy from start to end instead of all over it.
func ownBatch(ops []wal.Op, spare *ownedBatch) *ownedBatch {
	if spare == nil {
		spare = &ownedBatch{}
	}
	dst := spare.ops[:0]
	if cap(dst)/4 > len(ops) {
		dst = nil // see arena below
	}
	sorted := sortBatchInto(dst, ops)
	// n bytes in all; the first half of the operations take off of them.
	half, n, off := len(sorted)/2, 0, 0
	for i, op := range sorted {
		if i == half {
			off = n
		}
		n += len(op.Key) + len(op.Value)
	}
	arena := spare.arena[:0]
	if cap(arena) < n || cap(arena)/4 > n {
		// Too small, or far larger than needed: a handle that once
		// took a huge batch does not keep its memory for small ones.
		arena = make([]byte, 0, n)
	}
	arena = arena[:n]
	if n < parallelCopyMin {
		copyInto(arena, sorted)
	} else {
		// The reads are all over the caller's memory, cache misses most
		// of them: two goroutines wait for them side by side, while the
		// table of the batch before may be using the other core.
		var wg sync.WaitGroup
		wg.Go(func() { copyInto(arena[off:], sorted[half:]) })
		copyInto(arena[:off], sorted[:half])
		wg.Wait()
	}
	spare.ops, spare.arena = sorted, arena
	return spare
}

// parallelCopyMin is the batch size in bytes from which ownBatch copies
// in two goroutines.
const parallelCopyMin = 1 << 20

// copyInto copies the keys and values of ops into arena, which is exactly
// large enough, one after the other, and points ops at the copies.
func copyInto(arena []byte, ops []wal.Op) {
	off := 0
	for i, op := range ops {
		k := copy(arena[off:], op.Key)
		ops[i].Key = arena[off : off+k : off+k]
		off += k
		if op.Value != nil {
			v := copy(arena[off:], op.Value)
			ops[i].Value = arena[off : off+v : off+v]
			off += v
		}
	}
}

// takeSpare returns the memory of the last batch an unsynced Apply wrote
// as a table, or nil. A bulk load thus copies each batch into memory it
// has used before instead of fresh memory and its page faults (the sort's
// own scratch memory is still fresh each time). Sync and Close drop it.
func (db *DB) takeSpare() *ownedBatch {
	db.spareMu.Lock()
	defer db.spareMu.Unlock()
	b := db.spare
	db.spare = nil
	return b
}

// putSpare keeps b, whose table is written, for the next batch.
func (db *DB) putSpare(b *ownedBatch) {
	// Entries past the next batch's end must not keep an arena that
	// batch replaces alive.
	clear(b.ops)
	db.spareMu.Lock()
	defer db.spareMu.Unlock()
	db.spare = b
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
func (db *DB) fail(err error) error {
	if db.broken == nil {
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
func (db *DB) flushIfFull() error {
	if db.walEnd > db.opts.FlushThreshold {
		if err := db.flushLocked(); err != nil {
			return fmt.Errorf("%w: %w", ErrFlushAfterWrite, err)
		}
	}
	return nil
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

// Txn is a read-modify-write transaction: reads see the store plus the
// transaction's own writes, and the writes are applied as one atomic batch
// when the function passed to Update returns nil.
type Txn struct {
	db    *DB
	batch Batch
	own   map[string]wal.Op
}

// Update runs fn under the handle's write lock, so no other writer of this
// handle (and, through the directory lock, of any process) runs between
// its reads and its writes. If fn returns an error nothing is written.
func (db *DB) Update(fn func(tx *Txn) error) error {
	db.lockWriter()
	defer db.unlockWriter()
	if err := db.writable(); err != nil {
		return err
	}
	tx := &Txn{db: db, own: map[string]wal.Op{}}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.batch.Len() == 0 {
		return nil
	}
	for _, op := range tx.batch.ops {
		if err := validate(op); err != nil {
			return err
		}
	}
	return db.applyLocked(tx.batch.ops)
}

// Get reads key as the transaction sees it.
func (tx *Txn) Get(key []byte) ([]byte, error) {
	v, _, err := tx.GetWithExpiry(key)
	return v, err
}

// GetWithExpiry reads key and its expiry (zero time when none).
func (tx *Txn) GetWithExpiry(key []byte) ([]byte, time.Time, error) {
	e, err := tx.GetEntry(key)
	return e.Value, e.ExpiresAt, err
}

// GetEntry reads key's entry as the transaction sees it. A key the
// transaction wrote reports the revision its commit will take.
func (tx *Txn) GetEntry(key []byte) (Entry, error) {
	op, ok := tx.own[string(key)]
	if ok {
		op.Rev = tx.db.nextSeq
	} else {
		var err error
		op, ok, err = tx.db.lookup(key)
		if err != nil {
			return Entry{}, err
		}
	}
	return tx.db.visible(op, ok)
}

// Set stages a write.
func (tx *Txn) Set(key, value []byte) {
	tx.batch.Set(key, value)
	tx.own[string(key)] = tx.batch.ops[len(tx.batch.ops)-1]
}

// SetExpiring stages an expiring write.
func (tx *Txn) SetExpiring(key, value []byte, expiresAt time.Time) {
	tx.batch.SetExpiring(key, value, expiresAt)
	tx.own[string(key)] = tx.batch.ops[len(tx.batch.ops)-1]
}

// Delete stages a removal.
func (tx *Txn) Delete(key []byte) {
	tx.batch.Delete(key)
	tx.own[string(key)] = tx.batch.ops[len(tx.batch.ops)-1]
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
