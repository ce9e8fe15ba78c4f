package etcd

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/coord"
	"github.com/kvtool/kv/pkg/kv"
)

// Lock implements backend.Coordinator with etcd's concurrency.Mutex on a
// session whose lease is ttl, in etcdctl lock's layout (the holder's key
// is NAME/<lease ID>), so kv lock and etcdctl lock of one name exclude
// each other. The fencing token is the revision that created the
// holder's key: etcd's revisions only grow, so every acquisition's is
// larger than every earlier one's.
func (s *store) Lock(name string, ttl, timeout time.Duration) (backend.HeldLock, error) {
	if err := coord.CheckName(name); err != nil {
		return nil, err
	}
	secs := int(math.Ceil(ttl.Seconds()))
	if secs < 1 {
		secs = 1
	}
	sess, err := concurrency.NewSession(s.cli, concurrency.WithTTL(secs))
	if err != nil {
		return nil, s.wrap(err)
	}
	m := concurrency.NewMutex(sess, name)
	token, err := s.acquire(m, name, timeout)
	if err != nil {
		sess.Close()
		return nil, err
	}
	return &heldLock{m: m, sess: sess, token: token, s: s}, nil
}

// acquire takes m, the lock name, within timeout (0: one try;
// coord.Forever: no bound) and returns the revision that created the holder's key.
//
// A free lock is taken by TryLock's one transaction, which creates the
// key: that transaction's revision (the header's) is the token. A held
// one is waited for with Lock, whose header is a later read's, so the
// key is read back for its create revision; that read also finds a
// session that expired while it waited.
func (s *store) acquire(m *concurrency.Mutex, name string, timeout time.Duration) (uint64, error) {
	ctx, cancel := s.ctx()
	err := m.TryLock(ctx)
	cancel()
	switch {
	case err == nil:
		return uint64(m.Header().Revision), nil
	case !errors.Is(err, concurrency.ErrLocked):
		return 0, s.wrap(err)
	case timeout == 0:
		return 0, coord.ErrHeld
	}
	ctx, cancel = context.Background(), context.CancelFunc(func() {})
	if timeout != coord.Forever {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	defer cancel()
	if err := m.Lock(ctx); err != nil {
		if ctx.Err() != nil {
			return 0, coord.ErrHeld
		}
		return 0, s.wrap(err)
	}
	gctx, gcancel := s.ctx()
	defer gcancel()
	resp, err := s.cli.Get(gctx, m.Key())
	if err == nil && len(resp.Kvs) == 0 {
		err = errors.New("the lock's key vanished as it was taken: its session expired")
	}
	if err != nil {
		return 0, fmt.Errorf("lock %q: %w", name, s.wrap(err))
	}
	return uint64(resp.Kvs[0].CreateRevision), nil
}

type heldLock struct {
	m     *concurrency.Mutex
	sess  *concurrency.Session
	token uint64
	s     *store
}

func (l *heldLock) Token() uint64         { return l.token }
func (l *heldLock) Lost() <-chan struct{} { return l.sess.Done() }

// Release deletes the holder's key, which releases the lock, and stops
// renewing the session's lease, which then expires holding no key. Only
// when the delete fails is the lease revoked, which releases the lock
// too: a revoke is one more write for the cluster to commit.
func (l *heldLock) Release() error {
	select {
	case <-l.sess.Done():
		// The lease expired, or kv lock cannot reach the cluster to
		// renew it: the key goes with the lease, and a delete would only
		// wait out --command-timeout on a cluster that is not there.
		l.sess.Orphan()
		return nil
	default:
	}
	ctx, cancel := l.s.ctx()
	defer cancel()
	if err := l.m.Unlock(ctx); err != nil {
		if rerr := l.sess.Close(); rerr == nil {
			return nil
		}
		return l.s.wrap(err)
	}
	l.sess.Orphan()
	return nil
}

// Watch implements backend.Coordinator with etcd's Watch. Every event
// carries the revision of its write; a value whose lease expired is
// reported as etcd reports it, a delete.
func (s *store) Watch(ctx context.Context, t coord.Target, from uint64, fn func(coord.Event) error) error {
	key := string(t.Key)
	var opts []clientv3.OpOption
	if t.Prefix {
		if key == "" {
			key = "\x00"
		}
		opts = append(opts, clientv3.WithRange(rangeEnd(t.Key)))
	}
	if from == 0 {
		// From the revision after the store's snapshot (its first read's).
		rev, err := s.Revision()
		if err != nil {
			return err
		}
		from = rev + 1
	}
	start := int64(from)
	opts = append(opts, clientv3.WithRev(start))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for resp := range s.cli.Watch(ctx, key, opts...) {
		if resp.CompactRevision != 0 {
			return &kv.CompactedError{Rev: uint64(start), Oldest: uint64(resp.CompactRevision)}
		}
		if err := resp.Err(); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return s.wrap(err)
		}
		for _, ev := range resp.Events {
			if err := fn(event(ev)); err != nil {
				return err
			}
		}
	}
	if ctx.Err() != nil {
		return nil // ctx ended: the watch is over
	}
	return errors.New("etcd ended the watch")
}

func event(ev *clientv3.Event) coord.Event {
	e := coord.Event{Type: coord.Delete, Key: ev.Kv.Key, Rev: uint64(ev.Kv.ModRevision)}
	if ev.Type == mvccpb.PUT {
		e.Type, e.Value = coord.Put, ev.Kv.Value
	}
	return e
}

// Wait implements backend.Coordinator: it reads the key, then watches it
// from the revision after that read, so no change falls between the two.
func (s *store) Wait(ctx context.Context, key []byte, cond coord.Condition) (backend.Entry, error) {
	rctx, cancel := s.ctx()
	resp, err := s.cli.Get(rctx, string(key))
	cancel()
	if err != nil {
		return backend.Entry{}, s.wrap(err)
	}
	if len(resp.Kvs) == 0 {
		if cond.Holds(nil, false) {
			return backend.Entry{}, nil
		}
	} else if kv := resp.Kvs[0]; cond.Holds(kv.Value, true) {
		return backend.Entry{Key: kv.Key, Value: kv.Value, Rev: uint64(kv.ModRevision)}, nil
	}
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	for wr := range s.cli.Watch(wctx, string(key), clientv3.WithRev(resp.Header.Revision+1)) {
		if err := wr.Err(); err != nil {
			if ctx.Err() != nil {
				return backend.Entry{}, ctx.Err()
			}
			return backend.Entry{}, s.wrap(err)
		}
		for _, ev := range wr.Events {
			switch {
			case ev.Type != mvccpb.PUT && cond.Holds(nil, false):
				return backend.Entry{}, nil
			case ev.Type == mvccpb.PUT && cond.Holds(ev.Kv.Value, true):
				return backend.Entry{Key: ev.Kv.Key, Value: ev.Kv.Value, Rev: uint64(ev.Kv.ModRevision)}, nil
			}
		}
	}
	if ctx.Err() != nil {
		return backend.Entry{}, ctx.Err()
	}
	return backend.Entry{}, errors.New("etcd ended the watch")
}

var _ backend.Coordinator = (*store)(nil)
