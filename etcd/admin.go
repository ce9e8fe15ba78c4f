package etcd

import (
	"context"
	"fmt"
	"strings"

	"go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/kvtool/kv/pkg/backend"
)

// memberStatus is what the cluster's members report.
type memberStatus struct {
	endpoint string
	status   *clientv3.StatusResponse
	err      error
}

// statuses asks every member for its status, by its client URL.
func (s *store) statuses() ([]memberStatus, error) {
	ctx, cancel := s.ctx()
	defer cancel()
	ml, err := s.cli.MemberList(ctx)
	if err != nil {
		return nil, s.wrap(err)
	}
	var out []memberStatus
	for _, m := range ml.Members {
		if len(m.ClientURLs) == 0 {
			continue
		}
		ep := m.ClientURLs[0]
		st, err := s.cli.Status(ctx, ep)
		out = append(out, memberStatus{endpoint: ep, status: st, err: err})
	}
	return out, nil
}

func dbSize(sts []memberStatus) int64 {
	var n int64
	for _, m := range sts {
		if m.status != nil {
			n += m.status.DbSize
		}
	}
	return n
}

// Compact compacts the keyspace's history at the current revision and
// defragments every member, giving the space of old revisions back.
func (s *store) Compact() (backend.CompactReport, error) {
	before, err := s.statuses()
	if err != nil {
		return backend.CompactReport{}, err
	}
	rev, err := s.Revision()
	if err != nil {
		return backend.CompactReport{}, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	if _, err := s.cli.Compact(ctx, int64(rev), clientv3.WithCompactPhysical()); err != nil && !strings.Contains(err.Error(), "compacted") {
		return backend.CompactReport{}, s.wrap(err)
	}
	for _, m := range before {
		if _, err := s.cli.Defragment(ctx, m.endpoint); err != nil {
			return backend.CompactReport{}, fmt.Errorf("defragment %s: %w", m.endpoint, s.wrap(err))
		}
	}
	notes, err := s.disarmNoSpace(ctx)
	if err != nil {
		return backend.CompactReport{}, err
	}
	after, err := s.statuses()
	if err != nil {
		return backend.CompactReport{}, err
	}
	return backend.CompactReport{
		BytesBefore: dbSize(before), BytesAfter: dbSize(after),
		Before: fmt.Sprintf("in %d members' databases (history compacted at revision %d)", len(before), rev),
		Notes:  notes,
	}, nil
}

// disarmNoSpace disarms the out-of-space alarms, after a compaction and
// defragmentation freed what they could, as etcd's maintenance guide
// says to: a raised alarm keeps the cluster refusing every write but
// deletes, whatever space is free. A member still over its quota raises
// it again at its next write.
func (s *store) disarmNoSpace(ctx context.Context) ([]string, error) {
	alarms, err := s.cli.AlarmList(ctx)
	if err != nil {
		return nil, s.wrap(err)
	}
	var notes []string
	for _, a := range alarms.Alarms {
		if a.Alarm != etcdserverpb.AlarmType_NOSPACE {
			continue
		}
		if _, err := s.cli.AlarmDisarm(ctx, (*clientv3.AlarmMember)(a)); err != nil {
			return notes, fmt.Errorf("disarm the out-of-space alarm of member %x: %w", a.MemberID, s.wrap(err))
		}
		notes = append(notes, fmt.Sprintf("disarmed the out-of-space alarm of member %x: writes are accepted again while the database stays under its quota", a.MemberID))
	}
	return notes, nil
}

// Stats reports the cluster as its members see it.
func (s *store) Stats() (backend.Stats, error) {
	sts, err := s.statuses()
	if err != nil {
		return backend.Stats{}, err
	}
	ctx, cancel := s.ctx()
	defer cancel()
	count, err := s.cli.Get(ctx, "\x00", s.readOpts(clientv3.WithFromKey(), clientv3.WithCountOnly())...)
	if err != nil {
		return backend.Stats{}, s.wrap(err)
	}
	s.pin(count.Header.Revision)
	type member struct {
		Endpoint  string `json:"endpoint"`
		ID        string `json:"id,omitempty"`
		Leader    bool   `json:"leader"`
		Version   string `json:"version,omitempty"`
		DBSize    int64  `json:"db_size"`
		RaftIndex uint64 `json:"raft_index"`
		Error     string `json:"error,omitempty"`
	}
	members := []member{}
	var rows [][2]string
	leader := ""
	for _, m := range sts {
		mb := member{Endpoint: m.endpoint}
		if m.err != nil {
			mb.Error = m.err.Error()
			rows = append(rows, [2]string{"  " + m.endpoint, "unreachable: " + mb.Error})
		} else {
			st := m.status
			mb.ID = fmt.Sprintf("%x", st.Header.MemberId)
			mb.Leader = st.Header.MemberId == st.Leader
			mb.Version, mb.DBSize, mb.RaftIndex = st.Version, st.DbSize, st.RaftIndex
			if mb.Leader {
				leader = m.endpoint
			}
			rows = append(rows, [2]string{"  " + m.endpoint, fmt.Sprintf("%s, %d bytes, raft index %d, etcd %s", map[bool]string{true: "leader", false: "follower"}[mb.Leader], st.DbSize, st.RaftIndex, st.Version)})
		}
		members = append(members, mb)
	}
	return backend.Stats{Figures: []backend.Figure{
		{Name: "keys", Key: "keys", Value: count.Count},
		{Name: "revision", Key: "revision", Value: count.Header.Revision},
		{Name: "leader", Key: "leader", Value: leader},
		{Name: "db size", Key: "db_size", Value: dbSize(sts), Text: fmt.Sprintf("%d bytes (all members)", dbSize(sts))},
		{Name: "members", Key: "members", Value: members, Text: fmt.Sprint(len(members)), Rows: rows},
	}}, nil
}
