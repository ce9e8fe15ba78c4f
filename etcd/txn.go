package etcd

import (
	"context"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kvtool/kv/pkg/backend"
)

// maxAttempts bounds how often Update runs its function again after
// another client's write came between its reads and its commit.
const maxAttempts = 64

// txn reads through to the cluster at the revision of its first read and
// buffers its writes; its commit holds only if no key it read has changed
// since (a compare on each key's mod_revision, 0 for an absent key).
type txn struct {
	s      *store
	ctx    context.Context
	rev    int64
	read   map[string]int64
	writes []backend.Op
	own    map[string]int
}

func (t *txn) GetEntry(key []byte) (backend.Entry, error) {
	if i, ok := t.own[string(key)]; ok {
		w := t.writes[i]
		if w.Delete || (w.Expires && !w.ExpiresAt.After(t.s.c.Now())) {
			return backend.Entry{}, backend.ErrNotFound
		}
		e := backend.Entry{Key: w.Key, Value: w.Value, Rev: uint64(t.rev) + 1}
		if w.Expires {
			e.ExpiresAt = w.ExpiresAt
		}
		return e, nil
	}
	opts := []clientv3.OpOption{}
	if t.rev > 0 {
		opts = append(opts, clientv3.WithRev(t.rev))
	}
	resp, err := t.s.cli.Get(t.ctx, string(key), opts...)
	if err != nil {
		return backend.Entry{}, t.s.wrap(err)
	}
	if t.rev == 0 {
		t.rev = resp.Header.Revision
	}
	if len(resp.Kvs) == 0 {
		t.read[string(key)] = 0
		return backend.Entry{}, backend.ErrNotFound
	}
	kv := resp.Kvs[0]
	t.read[string(key)] = kv.ModRevision
	return t.s.entry(t.ctx, kv)
}

func (t *txn) put(op backend.Op) {
	if i, ok := t.own[string(op.Key)]; ok {
		t.writes[i] = op
		return
	}
	t.own[string(op.Key)] = len(t.writes)
	t.writes = append(t.writes, op)
}

func (t *txn) Set(key, value []byte) { t.put(backend.Op{Key: key, Value: value}) }

func (t *txn) SetExpiring(key, value []byte, at time.Time) {
	t.put(backend.Op{Key: key, Value: value, Expires: true, ExpiresAt: at})
}

func (t *txn) Delete(key []byte) { t.put(backend.Op{Delete: true, Key: key}) }

// errConflict: another write changed a key the transaction read.
var errConflict = errors.New("a key read changed before the commit")

func (t *txn) commit() error {
	if len(t.writes) == 0 {
		return nil
	}
	if len(t.writes)+len(t.read) > MaxTxnOps {
		return fmt.Errorf("%w: %d writes and %d compares", backend.ErrTooLarge, len(t.writes), len(t.read))
	}
	var cmps []clientv3.Cmp
	for k, rev := range t.read {
		cmps = append(cmps, clientv3.Compare(clientv3.ModRevision(k), "=", rev))
	}
	ops, err := t.s.ops(t.ctx, t.writes)
	if err != nil {
		return err
	}
	resp, err := t.s.cli.Txn(t.ctx).If(cmps...).Then(ops...).Commit()
	if err != nil {
		return t.s.wrap(err)
	}
	if !resp.Succeeded {
		return errConflict
	}
	return nil
}

// Update runs fn and commits its writes if nothing it read changed in
// between, running it again otherwise, as a compare-and-swap loop: what
// kv incr does with 20 processes on 3 hosts stays exact.
func (s *store) Update(fn func(tx backend.Txn) error) error {
	ctx, cancel := s.ctx()
	defer cancel()
	for attempt := 0; ; attempt++ {
		t := &txn{s: s, ctx: ctx, read: map[string]int64{}, own: map[string]int{}}
		if err := fn(t); err != nil {
			return err
		}
		err := t.commit()
		if !errors.Is(err, errConflict) {
			return err
		}
		if attempt == maxAttempts {
			return fmt.Errorf("gave up after %d attempts: other clients kept changing the keys read", maxAttempts)
		}
		// Let the writer that won go first; spread the retries.
		time.Sleep(time.Duration(attempt+1) * time.Millisecond)
	}
}
