package etcd

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/inspect"
	"github.com/kvtool/kv/pkg/kv"
)

// Verify implements backend.Verifier: every member's hash of the
// keyspace at one revision (etcd's HashKV) must agree, every member must
// answer, and no alarm may be raised (a member out of space, or one that
// found its data corrupt).
func (s *store) Verify() (*inspect.Report, error) {
	sts, err := s.statuses()
	if err != nil {
		return nil, err
	}
	rep := &inspect.Report{Dir: strings.Join(s.c.Endpoints, ","), Files: []inspect.FileReport{}, Problems: []kv.Problem{}, Notes: []string{}, Warnings: []string{}}
	urev, err := s.Revision()
	if err != nil {
		return nil, err
	}
	rev := int64(urev)
	hashes := map[string]uint32{}
	for _, m := range sts {
		f := inspect.FileReport{File: m.endpoint, Kind: "member", Status: "ok"}
		if m.err != nil {
			f.Status = "unreachable"
			rep.Problems = append(rep.Problems, kv.Problem{File: m.endpoint, Offset: -1, Reason: "the member did not answer: " + s.wrap(m.err).Error()})
		} else {
			f.Bytes = m.status.DbSize
			h, err := s.hashKV(m.endpoint, rev)
			if err != nil {
				f.Status = "no hash"
				rep.Problems = append(rep.Problems, kv.Problem{File: m.endpoint, Offset: -1, Reason: fmt.Sprintf("the member gave no hash of the keys at revision %d: %v", rev, s.wrap(err))})
			} else {
				hashes[m.endpoint] = h
			}
		}
		rep.Files = append(rep.Files, f)
	}
	distinct := map[uint32][]string{}
	for ep, h := range hashes {
		distinct[h] = append(distinct[h], ep)
	}
	if len(distinct) > 1 {
		for h, eps := range distinct {
			slices.Sort(eps)
			for _, ep := range eps {
				rep.Problems = append(rep.Problems, kv.Problem{File: ep, Offset: -1, Reason: fmt.Sprintf("hash of the keys at revision %d is %08x, and the members disagree (%d distinct hashes): a member's data is corrupt", rev, h, len(distinct))})
			}
		}
		for i := range rep.Files {
			if _, ok := hashes[rep.Files[i].File]; ok {
				rep.Files[i].Status = "disagrees"
			}
		}
	} else if len(hashes) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d member(s) agree on the hash of the keys at revision %d", len(hashes), rev))
	}
	ctx, cancel := s.ctx()
	defer cancel()
	alarms, err := s.cli.AlarmList(ctx)
	if err != nil {
		return nil, s.wrap(err)
	}
	for _, a := range alarms.Alarms {
		rep.Problems = append(rep.Problems, kv.Problem{File: fmt.Sprintf("member %x", a.MemberID), Offset: -1, Reason: "alarm raised: " + a.Alarm.String()})
	}
	if rep.Digest, err = s.Digest(); err != nil {
		return nil, err
	}
	err = s.pages(nil, nil, true, func(*mvccpb.KeyValue) error {
		rep.Keys++
		return nil
	})
	return rep, err
}

// hashKV asks one member for its hash of the keys at rev, waiting a
// little for a member that has not yet applied rev.
func (s *store) hashKV(endpoint string, rev int64) (uint32, error) {
	for try := 0; ; try++ {
		ctx, cancel := s.ctx()
		resp, err := s.cli.HashKV(ctx, endpoint, rev)
		cancel()
		if err == nil {
			return resp.Hash, nil
		}
		if try == 20 || !strings.Contains(err.Error(), rpctypes.ErrFutureRev.Error()) {
			return 0, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Snapshot implements backend.Snapshotter: the database of the member
// the client is connected to, as etcdctl snapshot save writes it (and
// etcdutl snapshot restore reads it).
func (s *store) Snapshot(w io.Writer) (int64, error) {
	rc, err := s.cli.Snapshot(context.Background())
	if err != nil {
		return 0, s.wrap(err)
	}
	defer rc.Close()
	n, err := io.Copy(w, rc)
	return n, s.wrap(err)
}

var (
	_ backend.Verifier    = (*store)(nil)
	_ backend.Snapshotter = (*store)(nil)
)
