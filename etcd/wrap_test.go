package etcd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kvtool/kv/pkg/backend"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// A request that runs out of time once the cluster was reached is
// --command-timeout's doing, and says so; a cluster without a leader is
// unreachable. Both are exit 5 (no sentinel of exit 1 or 2 wrapped).
func TestWrapNamesTheTimeoutThatExpired(t *testing.T) {
	s := &store{c: backend.Cluster{Endpoints: []string{"http://a:2379", "http://b:2379"}, DialTimeout: 5 * time.Second, CommandTimeout: 2 * time.Second}}
	err := s.wrap(fmt.Errorf("range: %w", context.DeadlineExceeded))
	if !errors.Is(err, ErrTimeout) || errors.Is(err, ErrUnreachable) {
		t.Fatalf("deadline: got %v, want ErrTimeout", err)
	}
	for _, want := range []string{"http://a:2379,http://b:2379", "2s (--command-timeout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("deadline: %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "--dial-timeout") {
		t.Errorf("deadline: %q blames --dial-timeout", err)
	}
	err = s.wrap(rpctypes.ErrGRPCNoLeader)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("no leader: got %v, want ErrUnreachable", err)
	}
	for _, e := range []error{backend.ErrNotFound, backend.ErrConditionFailed, backend.ErrTooLarge} {
		if errors.Is(s.wrap(context.DeadlineExceeded), e) {
			t.Errorf("a timeout wraps %v", e)
		}
	}
}
