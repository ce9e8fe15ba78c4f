package coord

import (
	"context"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultPoll is how often a watcher reads the store when nothing woke it:
// the bound on its latency where the filesystem gives no change events
// (NFS, some FUSE filesystems).
const DefaultPoll = time.Second

// settle is how long a watcher lets a change settle before it reads.
const settle = 2 * time.Millisecond

// waker wakes a watcher when the data directory changes. Events are only
// a hint to read the store again, never data: what changed is read from
// the store. Without events (inotify unavailable, or a filesystem that
// gives none) the poll interval bounds the wait.
type waker struct {
	w    *fsnotify.Watcher // nil when the directory cannot be watched
	poll time.Duration
}

func newWaker(dir string, poll time.Duration, pollOnly bool) *waker {
	if poll <= 0 {
		poll = DefaultPoll
	}
	wk := &waker{poll: poll}
	if pollOnly {
		return wk
	}
	if w, err := fsnotify.NewWatcher(); err == nil {
		if err := w.Add(dir); err == nil {
			wk.w = w
		} else {
			w.Close()
		}
	}
	return wk
}

// wait returns when the directory changed, the poll interval passed, the
// deadline (if not zero) came, or ctx ended (its error).
func (wk *waker) wait(ctx context.Context, deadline time.Time) error {
	d := wk.poll
	if !deadline.IsZero() {
		d = min(d, max(time.Until(deadline), 0))
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	var events chan fsnotify.Event
	var errs chan error
	if wk.w != nil {
		events, errs = wk.w.Events, wk.w.Errors
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
	case <-events:
		// A writer's change event comes while it still holds the store
		// (its fsync is to come): reading at once would only queue on its
		// lock. A short pause lets it finish first and gathers the events
		// of one write into one read.
		time.Sleep(settle)
		wk.drain()
	case <-errs:
		// An overflowed queue or a watch that broke: read the store now,
		// as after an event.
	}
	return nil
}

// drain discards the events already queued: one read of the store
// answers for all of them.
func (wk *waker) drain() {
	for {
		select {
		case <-wk.w.Events:
		default:
			return
		}
	}
}

func (wk *waker) close() {
	if wk.w != nil {
		wk.w.Close()
	}
}
