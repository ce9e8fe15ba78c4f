package kv

import (
	"sync"

	"github.com/kvtool/kv/pkg/wal"
)

// maxGroupBytes bounds the log records one group commit writes, so that a
// small write queued behind large ones does not wait for megabytes.
const maxGroupBytes = 1 << 20

// commitQueue lines up a handle's durable writers. The writer at the front
// is the leader: it takes the log writes queued behind its own, writes
// them as one record, pays one fdatasync for all of them, and hands each
// writer its result. Writers that arrive during an fdatasync thus share
// the next one instead of taking turns at one each (group commit).
type commitQueue struct {
	mu      sync.Mutex
	waiting []*pendingCommit
}

// pendingCommit is one writer's batch in the queue.
type pendingCommit struct {
	ops []wal.Op
	// wake is signalled once: when the writer is at the front, or when
	// a leader has written its batch (done is then set, and err).
	wake chan struct{}
	done bool
	err  error
}

// commit applies a batch durably, as a leader or through one.
func (db *DB) commit(ops []wal.Op) error {
	c := &pendingCommit{ops: ops, wake: make(chan struct{}, 1)}
	q := &db.commits
	q.mu.Lock()
	q.waiting = append(q.waiting, c)
	leader := len(q.waiting) == 1
	q.mu.Unlock()
	if !leader {
		<-c.wake
		if c.done {
			return c.err
		}
	}

	q.mu.Lock()
	group := db.takeGroup(q.waiting)
	q.mu.Unlock()
	return db.lead(group)
}

// errLeaderPanicked is what the writers of a group get when the leader
// writing it panicked. (A type rather than fmt.Errorf: package
// initialisation is part of every one-shot command's start-up.)
var errLeaderPanicked error = leaderPanicked{}

type leaderPanicked struct{}

func (leaderPanicked) Error() string { return ErrBroken.Error() + ": a write of this handle panicked" }
func (leaderPanicked) Unwrap() error { return ErrBroken }

// lead commits a group as its leader, then hands each writer of the group
// its result and wakes the next writer in the queue. The hand-over is
// deferred, as is the unlock of wmu: should the commit panic (a bug, or a
// caller's filesystem), the handle is marked broken, the group's writers
// get errLeaderPanicked, and later writers the broken handle's error,
// instead of all waiting forever.
func (db *DB) lead(group []*pendingCommit) (err error) {
	q := &db.commits
	done := false
	defer func() {
		if !done {
			err = errLeaderPanicked
			db.mu.Lock()
			_ = db.fail(err)
			db.mu.Unlock()
		}
		db.wmu.Unlock()
		q.mu.Lock()
		q.waiting = q.waiting[len(group):]
		for _, g := range group[1:] {
			g.err, g.done = err, true
			g.wake <- struct{}{}
		}
		if len(q.waiting) > 0 {
			q.waiting[0].wake <- struct{}{}
		}
		q.mu.Unlock()
	}()
	db.wmu.Lock()
	err = db.commitGroup(group)
	done = true
	return err
}

// commitGroup writes a group's batches. The caller holds wmu, so nothing
// else changes the handle; the log write and its fdatasync run without
// db.mu, so readers do not wait for the disk, and db.mu is taken only to
// publish the record (and for a flush).
//
// The whole group is one log record: its batches' operations in queue
// order, under one sequence number and one checksum. A crash may keep any
// part of unsynced data, holes included (§11.1, A4); were the batches
// records of their own, a crash during the fdatasync could keep a later
// record whole and an earlier one damaged, which a scan must report as
// corruption, not as a torn tail. As one record, the group is whole or a
// torn tail, like a single batch; each batch is still all or nothing.
func (db *DB) commitGroup(group []*pendingCommit) error {
	if err := db.writable(); err != nil {
		return err
	}
	ops := group[0].ops
	if len(group) > 1 {
		ops = nil
		for _, g := range group {
			ops = append(ops, g.ops...)
		}
	}
	if len(group) == 1 && db.ingests(ops) {
		db.mu.Lock()
		defer db.mu.Unlock()
		return db.ingest(ops)
	}
	rec := wal.AppendRecord(nil, db.nextSeq, ops)
	werr := db.writeLog(rec)
	db.mu.Lock()
	defer db.mu.Unlock()
	if werr != nil {
		return db.fail(werr)
	}
	db.publish(rec, len(ops))
	return db.flushIfFull()
}

// takeGroup returns the leader's commit (waiting[0]) and the log writes
// queued right behind it, up to maxGroupBytes. A batch that becomes a
// table of its own (see ingests) is committed alone.
func (db *DB) takeGroup(waiting []*pendingCommit) []*pendingCommit {
	if db.ingests(waiting[0].ops) {
		return waiting[:1:1]
	}
	size := wal.EncodedSize(waiting[0].ops)
	n := 1
	for ; n < len(waiting); n++ {
		s := wal.EncodedSize(waiting[n].ops)
		if db.ingests(waiting[n].ops) || size+s > maxGroupBytes {
			break
		}
		size += s
	}
	return waiting[:n:n]
}
