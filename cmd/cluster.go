package cmd

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kvtool/kv/internal/handoff"
	"github.com/kvtool/kv/pkg/backend"
)

// clusterBinary is the binary that runs kv's commands on a cluster: the
// kv binary execs it when endpoints are configured, so that kv itself
// never links the cluster's client (gRPC and protobuf).
const clusterBinary = handoff.Binary

// clusterKeys are the settings of a cluster, named as etcdctl names them.
var clusterKeys = []string{"endpoints", "cacert", "cert", "key", "user", "password-file", "dial-timeout", "command-timeout"}

// addClusterFlags adds the cluster's flags to the root's.
func addClusterFlags(pf *pflag.FlagSet) {
	pf.String("endpoints", "", "etcd endpoints, comma-separated URLs: run the command on that cluster instead of the data directory (KV_ENDPOINTS)")
	pf.String("cacert", "", "etcd: CA certificate file to verify the members (PEM)")
	pf.String("cert", "", "etcd: client certificate file (PEM)")
	pf.String("key", "", "etcd: client key file (PEM)")
	pf.String("user", "", "etcd: user name; the password comes from KV_PASSWORD or --password-file, never the command line")
	pf.String("password-file", "", "etcd: file holding the user's password")
	pf.String("dial-timeout", "5s", "etcd: how long to wait to reach a member")
	pf.String("command-timeout", "10s", "etcd: how long one request may take")
}

// cluster reads the cluster settings; on is false when no endpoints are
// configured (the data directory is used).
func (a *app) cluster() (c backend.Cluster, on bool, err error) {
	eps := strings.TrimSpace(a.v.GetString("endpoints"))
	if eps == "" {
		return c, false, nil
	}
	for _, e := range strings.Split(eps, ",") {
		if e = strings.TrimSpace(e); e != "" {
			c.Endpoints = append(c.Endpoints, e)
		}
	}
	c.CACert, c.Cert, c.Key = a.v.GetString("cacert"), a.v.GetString("cert"), a.v.GetString("key")
	c.User = a.v.GetString("user")
	if c.User != "" {
		c.Password = os.Getenv("KV_PASSWORD")
		if f := a.v.GetString("password-file"); f != "" {
			b, err := os.ReadFile(f)
			if err != nil {
				return c, true, usagef("--password-file: %v", unwrapPath(err))
			}
			c.Password = strings.TrimRight(string(b), "\r\n")
		}
	}
	for _, d := range []struct {
		name string
		to   *time.Duration
	}{{"dial-timeout", &c.DialTimeout}, {"command-timeout", &c.CommandTimeout}} {
		if *d.to, err = parseDuration(a.v.GetString(d.name)); err != nil || *d.to <= 0 {
			return c, true, usagef("invalid --%s %q: want a positive duration (5s, 1m)", d.name, a.v.GetString(d.name))
		}
	}
	c.Now = a.now
	return c, true, nil
}

// findClusterBinary finds kv-etcd beside this executable, then on PATH.
func findClusterBinary() (string, error) {
	if self, err := os.Executable(); err == nil {
		if p, ok := handoff.Beside(self); ok {
			return p, nil
		}
	}
	p, err := exec.LookPath(clusterBinary)
	if err != nil {
		return "", errClusterBinaryMissing
	}
	return p, nil
}

var errClusterBinaryMissing = errors.New(clusterBinary + " is not installed beside kv or on PATH")

// handOver runs the command in kv-etcd when endpoints are configured and
// this binary has no cluster backend: same arguments, environment,
// standard streams and exit status. It returns only on failure.
func (a *app) handOver() error {
	if a.remote != nil {
		return nil
	}
	if _, on, err := a.cluster(); err != nil || !on {
		return err
	}
	path, err := findClusterBinary()
	if err != nil {
		return fmt.Errorf("endpoints are configured (--endpoints, KV_ENDPOINTS or the config file), but %w: install the kv package's %s, or unset the endpoints to use the data directory", err, clusterBinary)
	}
	return execBinary(path, append([]string{clusterBinary}, a.args...))
}

// localOnly refuses, exit 2, a command that has no meaning on a cluster
// when endpoints are configured: what names it, why says what to do.
func (a *app) localOnly(what, why string) error {
	if _, on, err := a.cluster(); err != nil || !on {
		return err
	}
	return usagef("%s has no meaning on etcd (--endpoints is set): %s", what, why)
}
