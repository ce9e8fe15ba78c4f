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
// it). The binaries are built as the release builds them (static, no
// cgo, stripped). Each iteration runs kv once and etcdctl once, so that
// a change in the machine's load moves both; it reports their medians
// and kv's ratio to etcdctl's.
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
	for _, build := range [][]string{
		{"build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "kv"), "github.com/kvtool/kv"},
		{"build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, "kv-etcd"), "./cmd/kv-etcd"},
	} {
		c := exec.Command("go", build...)
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("go %v: %v\n%s", build, err, out)
		}
	}
	kv := filepath.Join(dir, "kv")
	env := append(os.Environ(), "KV_ENDPOINTS="+url, "XDG_CONFIG_HOME="+dir)
	run := func(b *testing.B, args []string) time.Duration {
		c := exec.Command(args[0], args[1:]...)
		c.Env = env
		start := time.Now()
		out, err := c.CombinedOutput()
		if err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
		return time.Since(start)
	}
	run(b, []string{kv, "set", "k", "v"})
	for _, c := range []struct {
		name    string
		kv, ctl []string
	}{
		{"get", []string{kv, "get", "k"}, []string{etcdctl, "--endpoints", url, "get", "k", "--print-value-only"}},
		{"set", []string{kv, "set", "k", "v"}, []string{etcdctl, "--endpoints", url, "put", "k", "v"}},
		{"lock", []string{kv, "lock", "bench", "--", "true"}, []string{etcdctl, "--endpoints", url, "lock", "bench", "true"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var kvTimes, ctlTimes []time.Duration
			for b.Loop() {
				kvTimes = append(kvTimes, run(b, c.kv))
				ctlTimes = append(ctlTimes, run(b, c.ctl))
			}
			kvMedian, ctlMedian := median(kvTimes), median(ctlTimes)
			b.ReportMetric(float64(kvMedian)/1e6, "kv-ms")
			b.ReportMetric(float64(ctlMedian)/1e6, "etcdctl-ms")
			b.ReportMetric(float64(kvMedian)/float64(ctlMedian), "kv/etcdctl")
		})
	}
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}
