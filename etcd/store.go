// Package etcd is the etcd backend of kv's commands: a backend.Store on
// an etcd cluster through etcd's official client, built into the kv-etcd
// binary only, so that the kv binary never links gRPC. Every command maps
// onto etcd's own primitives: revisions are etcd's, conditional writes are
// transactions on a key's mod_revision, expiries are leases, a prefix is a
// range read in pages.
package etcd

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"

	"github.com/kvtool/kv/pkg/backend"
)

// Limits of one transaction on a default etcd server (--max-txn-ops and
// --max-request-bytes), which Apply keeps within.
const (
	MaxTxnOps   = 128
	MaxTxnBytes = 1536 << 10
)

// pageSize is how many keys a range read asks for at a time: a prefix of
// any size is read in pages, never at once.
const pageSize = 1000

// Opener opens stores on etcd.
type Opener struct{}

// Name implements backend.Opener.
func (Opener) Name() string { return "etcd" }

// Open implements backend.Opener: it connects, and fails within the dial
// timeout, naming the endpoints, when no member answers.
func (Opener) Open(c backend.Cluster, readOnly bool) (backend.Store, error) {
	var tlsConfig *tls.Config
	if c.CACert != "" || c.Cert != "" || c.Key != "" {
		info := transport.TLSInfo{CertFile: c.Cert, KeyFile: c.Key, TrustedCAFile: c.CACert}
		var err error
		if tlsConfig, err = info.ClientConfig(); err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
	}
	if c.DialTimeout <= 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.CommandTimeout <= 0 {
		c.CommandTimeout = 10 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   c.Endpoints,
		DialTimeout: c.DialTimeout,
		TLS:         tlsConfig,
		Username:    c.User,
		Password:    c.Password,
		// The client's log would go to stderr, which carries kv's own
		// one-line errors only.
		Logger: zap.NewNop(),
	})
	if err != nil {
		if aerr := authError(c, err); aerr != nil {
			return nil, aerr
		}
		return nil, unreachable(c, err)
	}
	s := &store{cli: cli, c: c, readOnly: readOnly, leases: map[clientv3.LeaseID]time.Time{}}
	// Reaching a member within the dial timeout tells a reachable cluster
	// from none. The client connects in the background; waiting for its
	// connection costs no request.
	ctx, cancel := context.WithTimeout(context.Background(), c.DialTimeout)
	defer cancel()
	if err := waitConnected(ctx, cli.ActiveConnection()); err != nil {
		cli.Close()
		return nil, unreachable(c, err)
	}
	return s, nil
}

// waitConnected waits until conn has a connection to a member, or ctx
// ends.
func waitConnected(ctx context.Context, conn *grpc.ClientConn) error {
	conn.Connect()
	for {
		st := conn.GetState()
		if st == connectivity.Ready {
			return nil
		}
		if !conn.WaitForStateChange(ctx, st) {
			return ctx.Err()
		}
	}
}

// authError says what to do about etcd's authentication errors (nil for
// any other error).
func authError(c backend.Cluster, err error) error {
	if err == nil {
		return nil
	}
	userEmpty := errors.Is(err, rpctypes.ErrGRPCUserEmpty) || errors.Is(err, rpctypes.ErrUserEmpty) || strings.Contains(err.Error(), rpctypes.ErrUserEmpty.Error())
	switch {
	case userEmpty && c.User != "" && c.Password == "":
		// The client authenticates only with both: the user was given,
		// the password was not.
		return fmt.Errorf("etcd requires a password for user %q: put it in KV_PASSWORD or a file named by --password-file (kv never prompts) (%v)", c.User, err)
	case userEmpty:
		return fmt.Errorf("etcd requires a user: give --user, with the password in KV_PASSWORD or --password-file (%v)", err)
	case errors.Is(err, rpctypes.ErrGRPCAuthFailed), errors.Is(err, rpctypes.ErrAuthFailed), strings.Contains(err.Error(), rpctypes.ErrAuthFailed.Error()):
		return fmt.Errorf("etcd refused the user name or password (--user, KV_PASSWORD or --password-file): %v", err)
	case errors.Is(err, rpctypes.ErrGRPCPermissionDenied), errors.Is(err, rpctypes.ErrPermissionDenied), strings.Contains(err.Error(), rpctypes.ErrPermissionDenied.Error()):
		return fmt.Errorf("etcd denied the user this operation (its roles do not grant it): %v", err)
	}
	return nil
}

// ErrUnreachable is wrapped by the error of an Open that reached no
// member of the cluster in time.
var ErrUnreachable = errors.New("no etcd member reachable")

func unreachable(c backend.Cluster, err error) error {
	return fmt.Errorf("%w at %s within %s (--dial-timeout): %v", ErrUnreachable, strings.Join(c.Endpoints, ","), c.DialTimeout, err)
}

// ErrTimeout is wrapped by the error of a request that the cluster, once
// reached, did not answer within --command-timeout.
var ErrTimeout = errors.New("etcd did not answer in time")

func timedOut(c backend.Cluster, err error) error {
	return fmt.Errorf("%w: a request to %s took longer than %s (--command-timeout; a member lost, no leader, or an overloaded cluster): %v", ErrTimeout, strings.Join(c.Endpoints, ","), c.CommandTimeout, err)
}

type store struct {
	cli      *clientv3.Client
	c        backend.Cluster
	readOnly bool
	// rev is the revision a read-only store reads at: that of its first
	// read (see pin).
	rev int64
	// leases caches the expiry of each lease read.
	leases map[clientv3.LeaseID]time.Time
}

func (s *store) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), s.c.CommandTimeout)
}

// wrap turns etcd's errors into what kv's exit codes mean, with what to do.
func (s *store) wrap(err error) error {
	if aerr := authError(s.c, err); aerr != nil {
		return aerr
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		// Open waited for a connection: a deadline now is a request's.
		return timedOut(s.c, err)
	case errors.Is(err, rpctypes.ErrGRPCNoLeader), strings.Contains(err.Error(), "connection refused"):
		return unreachable(s.c, err)
	case errors.Is(err, rpctypes.ErrGRPCCompacted), errors.Is(err, rpctypes.ErrCompacted):
		return fmt.Errorf("%w: %v", backend.ErrCompacted, err)
	case errors.Is(err, rpctypes.ErrGRPCRequestTooLarge), errors.Is(err, rpctypes.ErrRequestTooLarge):
		return fmt.Errorf("%w: etcd refused the request as too large (its --max-request-bytes): split the batch, or use kv load, which splits", backend.ErrTooLarge)
	case errors.Is(err, rpctypes.ErrGRPCTooManyOps), errors.Is(err, rpctypes.ErrTooManyOps):
		return fmt.Errorf("%w: more operations than etcd takes in one transaction (its --max-txn-ops)", backend.ErrTooLarge)
	case errors.Is(err, rpctypes.ErrGRPCNoSpace), errors.Is(err, rpctypes.ErrNoSpace):
		return fmt.Errorf("etcd's database is out of space (its quota): delete what is not needed (kv del; deletes are still accepted), then run kv compact, which frees the space and disarms the alarm: %w", err)
	}
	return err
}

// pin makes rev, the revision a read answered at, the one every later
// read of a read-only store answers at, if none is yet: a read-only
// command sees one snapshot of the cluster.
func (s *store) pin(rev int64) {
	if s.readOnly && s.rev == 0 {
		s.rev = rev
	}
}

func (s *store) readOpts(opts ...clientv3.OpOption) []clientv3.OpOption {
	if s.readOnly && s.rev > 0 {
		opts = append(opts, clientv3.WithRev(s.rev))
	}
	return opts
}

// expiry is the expiry time of a key's lease (zero without one).
func (s *store) expiry(ctx context.Context, id int64) (time.Time, error) {
	if id == 0 {
		return time.Time{}, nil
	}
	lid := clientv3.LeaseID(id)
	if t, ok := s.leases[lid]; ok {
		return t, nil
	}
	resp, err := s.cli.TimeToLive(ctx, lid)
	if err != nil {
		return time.Time{}, s.wrap(err)
	}
	t := s.c.Now().Add(time.Duration(max(resp.TTL, 0)) * time.Second)
	s.leases[lid] = t
	return t, nil
}

func (s *store) entry(ctx context.Context, kv *mvccpb.KeyValue) (backend.Entry, error) {
	exp, err := s.expiry(ctx, kv.Lease)
	return backend.Entry{Key: kv.Key, Value: kv.Value, ExpiresAt: exp, Rev: uint64(kv.ModRevision)}, err
}

// entryOwnRequest is entry with a request deadline of its own, for a
// scan whose reader may take any time between two entries.
func (s *store) entryOwnRequest(kv *mvccpb.KeyValue) (backend.Entry, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	return s.entry(ctx, kv)
}

func (s *store) GetEntry(key []byte) (backend.Entry, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	resp, err := s.cli.Get(ctx, string(key), s.readOpts()...)
	if err != nil {
		return backend.Entry{}, s.wrap(err)
	}
	s.pin(resp.Header.Revision)
	if len(resp.Kvs) == 0 {
		return backend.Entry{}, backend.ErrNotFound
	}
	return s.entry(ctx, resp.Kvs[0])
}

func (s *store) GetTo(key []byte, w io.Writer) (backend.Entry, error) {
	e, err := s.GetEntry(key)
	if err != nil {
		return e, err
	}
	if _, err := w.Write(e.Value); err != nil {
		return backend.Entry{}, err
	}
	e.Value = nil
	return e, nil
}

func (s *store) Revision() (uint64, error) {
	if s.readOnly && s.rev > 0 {
		return uint64(s.rev), nil
	}
	ctx, cancel := s.ctx()
	defer cancel()
	resp, err := s.cli.Get(ctx, "\x00", clientv3.WithCountOnly())
	if err != nil {
		return 0, s.wrap(err)
	}
	s.pin(resp.Header.Revision)
	return uint64(resp.Header.Revision), nil
}

// Found is always true: a cluster has a keyspace from the start.
func (s *store) Found() bool { return true }

// MaxBatch implements backend.Limited.
func (s *store) MaxBatch() (int, int) { return MaxTxnOps, MaxTxnBytes }

// ttl is the lease TTL, in whole seconds rounded up, that expires at t.
func (s *store) ttl(t time.Time) int64 {
	d := t.Sub(s.c.Now())
	return max(int64(math.Ceil(d.Seconds())), 1)
}

// grant returns a lease per distinct expiry time among times, shared by
// the writes that expire together.
func (s *store) grant(ctx context.Context, times []time.Time) (map[int64]clientv3.LeaseID, error) {
	ids := map[int64]clientv3.LeaseID{}
	for _, t := range times {
		if _, ok := ids[t.UnixNano()]; ok {
			continue
		}
		resp, err := s.cli.Grant(ctx, s.ttl(t))
		if err != nil {
			return nil, s.wrap(err)
		}
		ids[t.UnixNano()] = resp.ID
	}
	return ids, nil
}

// ops turns writes into etcd operations; a write that has already
// expired is a delete, as the local engine reads it.
func (s *store) ops(ctx context.Context, writes []backend.Op) ([]clientv3.Op, error) {
	var times []time.Time
	now := s.c.Now()
	for _, w := range writes {
		if !w.Delete && w.Expires && w.ExpiresAt.After(now) {
			times = append(times, w.ExpiresAt)
		}
	}
	leases, err := s.grant(ctx, times)
	if err != nil {
		return nil, err
	}
	var ops []clientv3.Op
	for _, w := range writes {
		switch {
		case w.Delete || (w.Expires && !w.ExpiresAt.After(now)):
			ops = append(ops, clientv3.OpDelete(string(w.Key)))
		case w.Expires:
			ops = append(ops, clientv3.OpPut(string(w.Key), string(w.Value), clientv3.WithLease(leases[w.ExpiresAt.UnixNano()])))
		default:
			ops = append(ops, clientv3.OpPut(string(w.Key), string(w.Value)))
		}
	}
	return ops, nil
}

// Apply writes a batch as one transaction, within etcd's limits.
func (s *store) Apply(b *backend.Batch) error {
	if b.Len() == 0 {
		return nil
	}
	if b.Len() > MaxTxnOps || b.Size() > MaxTxnBytes {
		return fmt.Errorf("%w: %d operations, %d bytes; etcd takes at most %d operations and %d bytes in one transaction", backend.ErrTooLarge, b.Len(), b.Size(), MaxTxnOps, MaxTxnBytes)
	}
	ctx, cancel := s.ctx()
	defer cancel()
	ops, err := s.ops(ctx, lastPerKey(b.Ops()))
	if err != nil {
		return err
	}
	_, err = s.cli.Txn(ctx).Then(ops...).Commit()
	return s.wrap(err)
}

// lastPerKey keeps the last write of each key, in order: within a batch
// the later write wins, and etcd refuses a transaction that names a key
// twice.
func lastPerKey(writes []backend.Op) []backend.Op {
	last := make(map[string]int, len(writes))
	for i, w := range writes {
		last[string(w.Key)] = i
	}
	if len(last) == len(writes) {
		return writes
	}
	out := make([]backend.Op, 0, len(last))
	for i, w := range writes {
		if last[string(w.Key)] == i {
			out = append(out, w)
		}
	}
	return out
}

func (s *store) DeletePrefix(prefix []byte) (int, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	key, opts := string(prefix), []clientv3.OpOption{clientv3.WithPrefix()}
	if len(prefix) == 0 {
		key, opts = "\x00", []clientv3.OpOption{clientv3.WithFromKey()}
	}
	resp, err := s.cli.Delete(ctx, key, opts...)
	if err != nil {
		return 0, s.wrap(err)
	}
	return int(resp.Deleted), nil
}

// rangeEnd is the end of the range of keys under prefix ("\x00" from
// the start for all keys).
func rangeEnd(prefix []byte) string {
	if len(prefix) == 0 {
		return "\x00"
	}
	return clientv3.GetPrefixRangeEnd(string(prefix))
}

// pages calls fn for every key under prefix from start on, in order, a
// page at a time, all at one revision. --command-timeout bounds each
// page's request, not the scan: a scan of millions of keys into a slow
// pipe takes as long as its reader.
func (s *store) pages(prefix, start []byte, keysOnly bool, fn func(kv *mvccpb.KeyValue) error) error {
	end := rangeEnd(prefix)
	from := string(start)
	if from < string(prefix) {
		from = string(prefix)
	}
	if from == "" {
		from = "\x00"
	}
	rev := int64(0)
	if s.readOnly {
		rev = s.rev
	}
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(pageSize), clientv3.WithRev(rev)}
		if keysOnly {
			opts = append(opts, clientv3.WithKeysOnly())
		}
		ctx, cancel := s.ctx()
		resp, err := s.cli.Get(ctx, from, opts...)
		cancel()
		if err != nil {
			return s.wrap(err)
		}
		rev = resp.Header.Revision
		s.pin(rev)
		for _, kv := range resp.Kvs {
			if err := fn(kv); err != nil {
				return err
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			return nil
		}
		from = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
}

func (s *store) Scan(prefix []byte, fn func(backend.Entry) error) error {
	return s.pages(prefix, nil, false, func(kv *mvccpb.KeyValue) error {
		e, err := s.entryOwnRequest(kv)
		if err != nil {
			return err
		}
		return fn(e)
	})
}

var errStop = errors.New("stop")

func (s *store) ScanKeys(prefix []byte, limit int, fn func(key []byte) error) error {
	n := 0
	err := s.pages(prefix, nil, true, func(kv *mvccpb.KeyValue) error {
		if limit > 0 && n >= limit {
			return errStop
		}
		n++
		return fn(kv.Key)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// cursor is a KeyCursor of one range read per seek.
type cursor struct {
	s      *store
	prefix []byte
}

func (s *store) KeyCursor(prefix []byte) (backend.KeyCursor, error) {
	return &cursor{s: s, prefix: prefix}, nil
}

func (c *cursor) SeekGE(key []byte) ([]byte, bool, error) {
	var found []byte
	err := c.s.pagesOne(c.prefix, key, &found)
	return found, found != nil, err
}

func (c *cursor) Close() {}

// pagesOne sets *found to the first key >= key under prefix.
func (s *store) pagesOne(prefix, key []byte, found *[]byte) error {
	ctx, cancel := s.ctx()
	defer cancel()
	from := string(key)
	if from < string(prefix) {
		from = string(prefix)
	}
	if from == "" {
		from = "\x00"
	}
	resp, err := s.cli.Get(ctx, from, s.readOpts(clientv3.WithRange(rangeEnd(prefix)), clientv3.WithLimit(1), clientv3.WithKeysOnly())...)
	if err != nil {
		return s.wrap(err)
	}
	s.pin(resp.Header.Revision)
	if len(resp.Kvs) > 0 {
		*found = resp.Kvs[0].Key
	}
	return nil
}

// Digest is kv.DB.Digest's digest, computed the same way at one
// revision: the SHA-256 of each live key and value in key order, each
// after its uvarint length. Equal contents give equal digests on either
// backend.
func (s *store) Digest() (string, error) {
	h := sha256.New()
	var buf []byte
	err := s.pages(nil, nil, false, func(kv *mvccpb.KeyValue) error {
		for _, p := range [][]byte{kv.Key, kv.Value} {
			buf = binary.AppendUvarint(buf[:0], uint64(len(p)))
			h.Write(buf)
			h.Write(p)
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), err
}

func (s *store) Close() error { return s.cli.Close() }
