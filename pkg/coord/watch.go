package coord

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"maps"
	"slices"
	"time"

	"github.com/kvtool/kv/pkg/entry"
	"github.com/kvtool/kv/pkg/kv"
)

// EventType is what happened to a key.
type EventType string

// Event types.
const (
	// Put is a write of a value.
	Put EventType = "put"
	// Delete is a removal.
	Delete EventType = "delete"
	// Expire is a value whose expiry time passed. It takes no revision:
	// the event carries the store's revision when it was seen.
	Expire EventType = "expire"
)

// Event is one change to a watched key.
type Event struct {
	Type  EventType
	Key   []byte
	Value []byte // Put only
	// Rev is the revision of the write (Put, Delete), or the store's
	// revision when the expiry was seen (Expire).
	Rev uint64
}

// Target is the keys a watch or wait looks at: one key, or every key
// starting with a prefix.
type Target struct {
	Key    []byte
	Prefix bool
}

func (t Target) match(key []byte) bool {
	if t.Prefix {
		return bytes.HasPrefix(key, t.Key)
	}
	return bytes.Equal(key, t.Key)
}

// Source opens the store for one read: a read-only handle whose lock is
// already released (kv.DB.ReleaseLock), so a watcher never holds the
// store's lock between reads and writers are never held up by it.
type Source struct {
	Dir  string
	Opts kv.Options
	// Poll bounds the wait between reads when the filesystem gives no
	// change events (DefaultPoll when 0).
	Poll time.Duration
	// pollOnly ignores change events, as on a filesystem that gives none
	// (set by benchmarks).
	pollOnly bool
}

func (s Source) open() (*kv.DB, error) {
	o := s.Opts
	o.ReadOnly = true
	db, err := kv.Open(s.Dir, &o)
	if err != nil {
		return nil, err
	}
	if err := db.ReleaseLock(); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// openRev opens the store for one read, as open does, and reads its
// revision.
func (s Source) openRev() (*kv.DB, uint64, error) {
	db, err := s.open()
	if err != nil {
		return nil, 0, err
	}
	rev, err := db.Revision()
	if err != nil {
		db.Close()
		return nil, 0, err
	}
	return db, rev, nil
}

func (s Source) now() time.Time {
	if s.Opts.Now != nil {
		return s.Opts.Now()
	}
	return time.Now()
}

// keyState is what a watcher remembers of a live watched key.
type keyState struct {
	rev       uint64
	expiresAt time.Time
}

// Watch calls fn with every change to t, in revision order, until ctx
// ends or fn fails. From 0 watches from now; otherwise it first replays
// the changes from revision from on, and fails with a *kv.CompactedError
// (naming the oldest revision kept) when the log no longer holds them.
//
// Each batch is seen whole or not at all: only committed records are
// read. Every delete is reported, of a key that had a value or not: each
// takes a revision, as every write does. When the watcher falls behind a flush or compaction (the log no
// longer holds every change since its last read), it reads the watched
// keys' current state instead: each key that changed since is reported
// once, with its last value, and each key gone as a delete at the store's
// revision. A store that is locked for a while (a long kv load) is read
// when it is free again, and a damaged one after kv repair (which
// continues the revisions, so the watch goes on from where it was).
func Watch(ctx context.Context, src Source, t Target, from uint64, fn func(Event) error) error {
	wk := newWaker(src.Dir, src.Poll, src.pollOnly)
	defer wk.close()
	w := &watcher{src: src, t: t, fn: fn, known: map[string]keyState{}}
	if err := w.start(from); err != nil {
		return err
	}
	for {
		if err := wk.wait(ctx, w.nextExpiry()); err != nil {
			return nil // ctx ended: the watch is over
		}
		if err := w.read(); err != nil {
			return err
		}
	}
}

type watcher struct {
	src   Source
	t     Target
	fn    func(Event) error
	last  uint64 // every change up to this revision was reported
	known map[string]keyState
}

func (w *watcher) start(from uint64) error {
	db, rev, err := w.src.openRev()
	if err != nil {
		return err
	}
	defer db.Close()
	if from > 0 && from <= rev {
		// Replay first, then learn the keys' state: the replay ends at
		// the same revision the scan reads.
		err := db.Changes(from, w.emitChange)
		if err != nil {
			return err
		}
	}
	w.last = rev
	if err := w.scan(db, func(key []byte, st keyState, _ []byte) error {
		w.known[string(key)] = st
		return nil
	}); err != nil {
		return err
	}
	return w.expire(rev)
}

// read reports what changed since the last read.
func (w *watcher) read() error {
	db, rev, err := w.src.openRev()
	if errors.Is(err, kv.ErrLocked) || errors.Is(err, kv.ErrCorrupt) {
		// A writer holds the store for long, or the store is damaged
		// (and kv repair is the expected next step): read again next
		// time. Nothing is reported from a store that cannot be read.
		return nil
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if rev > w.last {
		err := db.Changes(w.last+1, w.emitChange)
		if errors.Is(err, kv.ErrCompacted) {
			err = w.diff(db, rev)
		}
		if err != nil {
			return err
		}
		w.last = rev
	}
	return w.expire(rev)
}

func (w *watcher) emitChange(c kv.Change) error {
	for _, op := range c.Ops {
		if !w.t.match(op.Key) {
			continue
		}
		if op.Kind == entry.KindDelete {
			if err := w.fn(Event{Type: Delete, Key: op.Key, Rev: c.Rev}); err != nil {
				return err
			}
			delete(w.known, string(op.Key))
			continue
		}
		st := keyState{rev: c.Rev}
		if op.Kind == entry.KindSetExpiring {
			st.expiresAt = time.Unix(0, op.ExpiresAt)
		}
		if err := w.fn(Event{Type: Put, Key: op.Key, Value: op.Value, Rev: c.Rev}); err != nil {
			return err
		}
		w.known[string(op.Key)] = st
	}
	return nil
}

// diff reports the watched keys' changes from their current state, when
// the log no longer holds every change since the last read.
func (w *watcher) diff(db *kv.DB, rev uint64) error {
	seen := map[string]bool{}
	var puts []Event
	err := w.scan(db, func(key []byte, st keyState, value []byte) error {
		seen[string(key)] = true
		if st.rev > w.last {
			puts = append(puts, Event{Type: Put, Key: key, Value: bytes.Clone(value), Rev: st.rev})
		}
		w.known[string(key)] = st
		return nil
	})
	if err != nil {
		return err
	}
	// In revision order, as the log would have given them.
	slices.SortStableFunc(puts, func(a, b Event) int { return cmp.Compare(a.Rev, b.Rev) })
	for _, ev := range puts {
		if err := w.fn(ev); err != nil {
			return err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(w.known)) {
		if !seen[k] {
			delete(w.known, k)
			if err := w.fn(Event{Type: Delete, Key: []byte(k), Rev: rev}); err != nil {
				return err
			}
		}
	}
	return nil
}

// scan calls fn with every live watched key.
func (w *watcher) scan(db *kv.DB, fn func(key []byte, st keyState, value []byte) error) error {
	if !w.t.Prefix {
		e, err := db.GetEntry(w.t.Key)
		if errors.Is(err, kv.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return fn(w.t.Key, keyState{rev: e.Rev, expiresAt: e.ExpiresAt}, e.Value)
	}
	return db.Scan(w.t.Key, func(e kv.Entry) error {
		return fn(bytes.Clone(e.Key), keyState{rev: e.Rev, expiresAt: e.ExpiresAt}, e.Value)
	})
}

// expire reports the known keys whose expiry time has passed.
func (w *watcher) expire(rev uint64) error {
	now := w.src.now()
	if next := w.nextExpiry(); next.IsZero() || next.After(now) {
		return nil
	}
	for _, k := range slices.Sorted(maps.Keys(w.known)) {
		if st := w.known[k]; !st.expiresAt.IsZero() && !st.expiresAt.After(now) {
			delete(w.known, k)
			if err := w.fn(Event{Type: Expire, Key: []byte(k), Rev: rev}); err != nil {
				return err
			}
		}
	}
	return nil
}

// nextExpiry is the earliest expiry of a known key, zero when none.
func (w *watcher) nextExpiry() time.Time {
	var next time.Time
	for _, st := range w.known {
		if !st.expiresAt.IsZero() && (next.IsZero() || st.expiresAt.Before(next)) {
			next = st.expiresAt
		}
	}
	return next
}
