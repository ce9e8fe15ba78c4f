package etcd_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkOneShot measures whole processes against one local etcd
// member, as a script runs them: kv get, kv set (kv execs kv-etcd) and
// kv lock's acquire and release around a no-op command, each beside
// etcdctl's get, put and lock (Debian's etcd-client; skipped without
// it). Read the ratios of one run; the machine's load moves all of them.
//
//	go -C etcd test -run '^$' -bench OneShot -benchtime 200x
func BenchmarkOneShot(b *testing.B) {
	bin := etcdServer(b)
	dir := b.TempDir()
	ms, err := startCluster(bin, dir, 1)
	if err != nil {
		b.Fatal(err)
	}
	defer ms[0].stop()
	url := ms[0].client
	for _, build := range [][]string{
		{"build", "-o", filepath.Join(dir, "kv"), "github.com/kvtool/kv"},
		{"build", "-o", filepath.Join(dir, "kv-etcd"), "./cmd/kv-etcd"},
	} {
		if out, err := exec.Command("go", build...).CombinedOutput(); err != nil {
			b.Fatalf("go %v: %v\n%s", build, err, out)
		}
	}
	kv := filepath.Join(dir, "kv")
	env := append(os.Environ(), "KV_ENDPOINTS="+url, "XDG_CONFIG_HOME="+dir)
	etcdctl, _ := exec.LookPath("etcdctl")
	run := func(b *testing.B, args ...string) {
		c := exec.Command(args[0], args[1:]...)
		c.Env = env
		if out, err := c.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	run(b, kv, "set", "k", "v")
	cases := []struct {
		name string
		args []string
		ctl  bool
	}{
		{"get/kv", []string{kv, "get", "k"}, false},
		{"get/etcdctl", []string{etcdctl, "--endpoints", url, "get", "k", "--print-value-only"}, true},
		{"set/kv", []string{kv, "set", "k", "v"}, false},
		{"set/etcdctl", []string{etcdctl, "--endpoints", url, "put", "k", "v"}, true},
		{"lock/kv", []string{kv, "lock", "bench", "--", "true"}, false},
		{"lock/etcdctl", []string{etcdctl, "--endpoints", url, "lock", "bench", "true"}, true},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if c.ctl && etcdctl == "" {
				b.Skip("etcdctl is not installed (apt-get install etcd-client)")
			}
			for b.Loop() {
				run(b, c.args...)
			}
		})
	}
}
