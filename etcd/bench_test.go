package etcd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// BenchmarkOneShot measures whole processes against one local etcd
// member, as a script runs them: kv get, kv set (kv execs kv-etcd) and
// kv lock's acquire and release around a no-op command, each beside
// etcdctl's get, put and lock (Debian's etcd-client; skipped without
// it); and a local kv get (no endpoints) beside the same get from a kv
// built without the early hand-over (-tags kv_noearly), which shows
// what the hand-over costs a local command. The binaries are built as
// the release builds them (static, no cgo, stripped, the older garbage
// collector: see .goreleaser.yaml). Each iteration
// runs both commands of a pair once, so that a change in the machine's
// load moves both; it reports their medians and the ratio.
//
//	go -C etcd test -run '^$' -bench OneShot -benchtime 200x
func BenchmarkOneShot(b *testing.B) {
	etcdctl, err := exec.LookPath("etcdctl")
	if err != nil {
		b.Skip("etcdctl is not installed (apt-get install etcd-client)")
	}
	bin := etcdServer(b)
	dir := b.TempDir()
	ms, err := startCluster(bin, dir, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer ms[0].stop()
	url := ms[0].client
	kv, kvNoEarly := filepath.Join(dir, "kv"), filepath.Join(dir, "noearly", "kv")
	for _, build := range [][]string{
		{"build", "-trimpath", "-ldflags=-s -w", "-o", kv, "github.com/kvtool/kv"},
		{"build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "kv-etcd"), "./cmd/kv-etcd"},
		{"build", "-trimpath", "-ldflags=-s -w", "-tags", "kv_noearly", "-o", kvNoEarly, "github.com/kvtool/kv"},
	} {
		c := exec.Command("go", build...)
		c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOEXPERIMENT=nogreenteagc")
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("go %v: %v\n%s", build, err, out)
		}
	}
	base := append(os.Environ(), "XDG_CONFIG_HOME="+dir, "KV_ENDPOINTS=")
	cluster := append(slices.Clone(base), "KV_ENDPOINTS="+url)
	run := func(b *testing.B, env, args []string) time.Duration {
		c := exec.Command(args[0], args[1:]...)
		c.Env = env
		start := time.Now()
		out, err := c.CombinedOutput()
		if err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
		return time.Since(start)
	}
	run(b, cluster, []string{kv, "set", "k", "v"})
	local := filepath.Join(dir, "local")
	run(b, base, []string{kv, "-d", local, "set", "k", "v"})
	for _, c := range []struct {
		name   string
		env    []string
		a, b   []string
		aName  string
		bName  string
		metric string
	}{
		{"get", cluster, []string{kv, "get", "k"}, []string{etcdctl, "--endpoints", url, "get", "k", "--print-value-only"}, "kv", "etcdctl", "kv/etcdctl"},
		{"set", cluster, []string{kv, "set", "k", "v"}, []string{etcdctl, "--endpoints", url, "put", "k", "v"}, "kv", "etcdctl", "kv/etcdctl"},
		{"lock", cluster, []string{kv, "lock", "bench", "--", "true"}, []string{etcdctl, "--endpoints", url, "lock", "bench", "true"}, "kv", "etcdctl", "kv/etcdctl"},
		{"local-get", base, []string{kv, "-d", local, "get", "k"}, []string{kvNoEarly, "-d", local, "get", "k"}, "kv", "noearly", "kv/noearly"},
	} {
		b.Run(c.name, func(b *testing.B) {
			var aTimes, bTimes []time.Duration
			for b.Loop() {
				aTimes = append(aTimes, run(b, c.env, c.a))
				bTimes = append(bTimes, run(b, c.env, c.b))
			}
			am, bm := median(aTimes), median(bTimes)
			b.ReportMetric(float64(am)/1e6, c.aName+"-ms")
			b.ReportMetric(float64(bm)/1e6, c.bName+"-ms")
			b.ReportMetric(float64(am)/float64(bm), c.metric)
		})
	}
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
