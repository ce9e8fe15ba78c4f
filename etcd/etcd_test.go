package etcd_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/kvtool/kv/cmd"
	"github.com/kvtool/kv/etcd"
	"github.com/kvtool/kv/internal/scripttest"
)

// TestMain makes this test binary kv, kv-etcd and exitcode for the
// scripts: kv hands a command with endpoints over to kv-etcd on PATH, as
// the installed binaries do.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kv":           func() { os.Exit(cmd.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) },
		"kv-etcd":      func() { os.Exit(cmd.MainCluster(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, etcd.Opener{})) },
		"exitcode":     scripttest.ExitCode,
		"stdoutto":     func() { scripttest.RunWithStdout(true) },
		"stdoutclosed": func() { scripttest.RunWithStdout(false) },
	})
}

// freePort returns a TCP port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// etcdServer is the etcd binary the tests run (Debian's etcd-server);
// without one they are skipped, saying so.
func etcdServer(t testing.TB) string {
	p, err := exec.LookPath("etcd")
	if err != nil {
		const why = "etcd is not installed (apt-get install etcd-server): the etcd backend's tests need a real member"
		if os.Getenv("KV_REQUIRE_ETCD") != "" {
			t.Fatal(why) // CI: a check of kv never skips
		}
		t.Skip(why)
	}
	return p
}

// member is one etcd member of a test cluster, which can be stopped and
// started again on the same ports and data.
type member struct {
	bin, dir, name string
	client, peer   string
	initialCluster string
	cmd            *exec.Cmd
	log            *os.File
	// tls, when set, serves clients over TLS and requires their
	// certificates.
	tls *testPKI
	// flags are more of etcd's flags.
	flags []string
}

// newMember gives a member free ports in dir.
func newMember(bin, dir, name string) (*member, error) {
	cp, err := freePort()
	if err != nil {
		return nil, err
	}
	pp, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &member{bin: bin, dir: dir, name: name,
		client: fmt.Sprintf("http://127.0.0.1:%d", cp), peer: fmt.Sprintf("http://127.0.0.1:%d", pp)}
	m.initialCluster = name + "=" + m.peer
	return m, nil
}

// start runs the member and returns once it accepts connections.
func (m *member) start() error {
	if err := m.launch(); err != nil {
		return err
	}
	return m.ready()
}

// launch starts the member's process.
func (m *member) launch() error {
	args := []string{"--data-dir", filepath.Join(m.dir, m.name+"-data"), "--name", m.name,
		"--listen-client-urls", m.client, "--advertise-client-urls", m.client,
		"--listen-peer-urls", m.peer, "--initial-advertise-peer-urls", m.peer,
		"--initial-cluster", m.initialCluster}
	if m.tls != nil {
		args = append(args, "--cert-file", m.tls.serverCert, "--key-file", m.tls.serverKey,
			"--trusted-ca-file", m.tls.ca, "--client-cert-auth")
	}
	args = append(args, m.flags...)
	c := exec.Command(m.bin, args...)
	logPath := filepath.Join(m.dir, m.name+".log")
	log, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	c.Stdout, c.Stderr = log, log
	if err := c.Start(); err != nil {
		log.Close()
		return err
	}
	m.cmd, m.log = c, log
	return nil
}

// ready waits until the member accepts connections.
func (m *member) ready() error {
	logPath := filepath.Join(m.dir, m.name+".log")
	// Ready when it accepts connections; a loaded machine may take a
	// while, so the bound is generous.
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, host, _ := strings.Cut(m.client, "://")
		conn, err := net.DialTimeout("tcp", host, time.Second)
		if err == nil {
			conn.Close()
			return nil
		}
		if time.Now().After(deadline) {
			m.stop()
			out, _ := os.ReadFile(logPath)
			return fmt.Errorf("etcd did not start: %s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop kills the member (as a crash or a lost host would).
func (m *member) stop() {
	if m.cmd == nil {
		return
	}
	_ = m.cmd.Process.Kill()
	_ = m.cmd.Wait()
	m.log.Close()
	m.cmd = nil
}

// startCluster starts an n-member cluster in dir (members m1, m2, …),
// each with more etcd flags if given, and returns once every member
// answers.
func startCluster(bin, dir string, n int, flags ...string) ([]*member, error) {
	var ms []*member
	var peers []string
	for i := 1; i <= n; i++ {
		m, err := newMember(bin, dir, fmt.Sprintf("m%d", i))
		if err != nil {
			return nil, err
		}
		m.flags = flags
		ms = append(ms, m)
		peers = append(peers, m.name+"="+m.peer)
	}
	for _, m := range ms {
		m.initialCluster = strings.Join(peers, ",")
		if err := m.launch(); err != nil {
			return nil, err
		}
	}
	for _, m := range ms {
		if err := m.ready(); err != nil {
			for _, m := range ms {
				m.stop()
			}
			return nil, err
		}
	}
	return ms, nil
}

// TestScripts runs each script against a fresh one-member etcd (three
// members for a script named cluster_*; one that serves TLS and requires
// client certificates, made in $WORK, for tls_*; one whose database
// quota is 1 MiB for quota_*), with KV_ENDPOINTS naming them.
func TestScripts(t *testing.T) {
	bin := etcdServer(t)
	testscript.Run(t, testscript.Params{
		Dir: "testscripts",
		Setup: func(env *testscript.Env) error {
			n := 1
			if strings.HasPrefix(filepath.Base(env.WorkDir), "script-cluster") {
				n = 3
			}
			var ms []*member
			var err error
			switch name := filepath.Base(env.WorkDir); {
			case strings.HasPrefix(name, "script-tls"):
				ms, err = startTLSMember(bin, env.WorkDir)
			case strings.HasPrefix(name, "script-quota"):
				ms, err = startCluster(bin, env.WorkDir, 1, "--quota-backend-bytes=1048576")
			default:
				ms, err = startCluster(bin, env.WorkDir, n)
			}
			if err != nil {
				return err
			}
			var urls []string
			for _, m := range ms {
				env.Defer(m.stop)
				urls = append(urls, m.client)
				env.Setenv("ETCD"+m.name[1:], m.client)
			}
			env.Values["etcd"] = ms
			env.Setenv("KV_ENDPOINTS", strings.Join(urls, ","))
			env.Setenv("KV_CONFIG", "")
			scripttest.Isolate(env)
			return nil
		},
		Cmds: withSharedCommands(map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// etcdauth USER PASSWORD: add USER with the root role and
			// turn authentication on.
			"etcdauth": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: etcdauth USER PASSWORD")
				}
				cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ts.Value("etcd").([]*member)[0].client}, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
				ts.Check(err)
				defer cli.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				_, err = cli.UserAdd(ctx, args[0], args[1])
				ts.Check(err)
				_, err = cli.RoleAdd(ctx, "root")
				ts.Check(err)
				_, err = cli.UserGrantRole(ctx, args[0], "root")
				ts.Check(err)
				_, err = cli.AuthEnable(ctx)
				ts.Check(err)
			},
			// etcd stop|start [N|follower]: stop the script's member N
			// (default 1) as a crash would, or start it again on the
			// same ports and data. Member N's URL is $ETCDN. "etcd
			// follower" picks a member that is not the leader: its URL
			// is $FOLLOWER, the others' $QUORUM, and "follower" names it
			// to stop and start.
			"etcd": func(ts *testscript.TestScript, neg bool, args []string) {
				ms := ts.Value("etcd").([]*member)
				if len(args) == 1 && args[0] == "follower" {
					follower(ts, ms)
					return
				}
				i := 1
				if len(args) == 2 {
					n := args[1]
					if n == "follower" {
						n = ts.Getenv("FOLLOWER_INDEX")
					}
					i, _ = strconv.Atoi(n)
				}
				if len(args) < 1 || len(args) > 2 || i < 1 || i > len(ms) {
					ts.Fatalf("usage: etcd stop|start [N|follower] or etcd follower")
				}
				switch m := ms[i-1]; args[0] {
				case "stop":
					m.stop()
				case "start":
					ts.Check(m.start())
				default:
					ts.Fatalf("usage: etcd stop|start [N]")
				}
			},
		}),
	})
}

// follower finds a member that is not the cluster's leader.
func follower(ts *testscript.TestScript, ms []*member) {
	var urls []string
	for _, m := range ms {
		urls = append(urls, m.client)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: urls, DialTimeout: 10 * time.Second, Logger: zap.NewNop()})
	ts.Check(err)
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i, m := range ms {
		st, err := cli.Status(ctx, m.client)
		ts.Check(err)
		if st.Leader != st.Header.MemberId {
			ts.Setenv("FOLLOWER", m.client)
			ts.Setenv("QUORUM", strings.Join(append(urls[:i:i], urls[i+1:]...), ","))
			ts.Setenv("FOLLOWER_INDEX", strconv.Itoa(i+1))
			return
		}
	}
	ts.Fatalf("no member is a follower")
}

// sharedScripts are the main module's behaviour scripts that run against
// both backends, so that the two cannot drift: each runs here against a
// fresh etcd, where its -d is ignored, as the endpoints take over. A
// line that differs on etcd is under [etcd] or [!etcd] (revisions start
// at 2 on etcd, the engine's log and lock exist only locally). Scripts
// that pin expiry times with the test clock (KV_NOW) stay local: a
// lease counts down in real seconds.
var sharedScripts = []string{
	"args_flag_like", "del_if_value", "del_missing", "del_multiple",
	"del_prefix", "del_removes", "dump_prefix",
	"get_many", "get_missing", "incr_counter",
	"incr_dashdash", "incr_not_integer", "incr_overflow", "keys_prefix",
	"load_malformed", "load_rejects_ambiguous", "quiet_clean_no", "set_empty_key",
	"set_empty_value", "set_get_basic", "set_if_absent", "set_if_value",
	"set_stdin_binary", "set_stdin_dash", "set_stdin_newlines",
	"set_value_file", "set_value_spaces", "stdout_write_error", "ttl_no_expiry",
	"version_broken_config", "completion", "completion_large", "keys_null",
	"load_tsv_roundtrip", "get_wrong_args", "get_unknown_flag", "dump_unknown_format",
	"kv_unknown_command", "wait", "set_stdin_terminal",
}

// TestSharedScripts runs sharedScripts against etcd.
func TestSharedScripts(t *testing.T) {
	bin := etcdServer(t)
	var files []string
	for _, name := range sharedScripts {
		files = append(files, filepath.Join("..", "testscripts", name+".txtar"))
	}
	testscript.Run(t, testscript.Params{
		Files:               files,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			ms, err := startCluster(bin, env.WorkDir, 1)
			if err != nil {
				return err
			}
			env.Defer(ms[0].stop)
			env.Setenv("KV_ENDPOINTS", ms[0].client)
			scripttest.Isolate(env)
			return nil
		},
		Cmds:      scripttest.Commands,
		Condition: scripttest.Backend(true),
	})
}

// testPKI is a CA and the certificates it signed, as PEM files.
type testPKI struct {
	ca, serverCert, serverKey, clientCert, clientKey string
}

// startTLSMember starts a one-member cluster serving clients over TLS
// with certificates it makes in dir: ca.pem, client.pem, client-key.pem.
func startTLSMember(bin, dir string) ([]*member, error) {
	pki, err := writeTestPKI(dir)
	if err != nil {
		return nil, err
	}
	m, err := newMember(bin, dir, "m1")
	if err != nil {
		return nil, err
	}
	m.client = "https" + strings.TrimPrefix(m.client, "http")
	m.tls = pki
	if err := m.start(); err != nil {
		return nil, err
	}
	return []*member{m}, nil
}

// writeTestPKI makes a CA, a server certificate for 127.0.0.1 and a
// client certificate, and writes them into dir.
func writeTestPKI(dir string) (*testPKI, error) {
	newKey := func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }
	write := func(name, kind string, der []byte) (string, error) {
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600)
	}
	writeKey := func(name string, k *ecdsa.PrivateKey) (string, error) {
		der, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			return "", err
		}
		return write(name, "EC PRIVATE KEY", der)
	}
	now := time.Now()
	caKey, err := newKey()
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "kv test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	pki := &testPKI{}
	if pki.ca, err = write("ca.pem", "CERTIFICATE", caDER); err != nil {
		return nil, err
	}
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage, certFile, keyFile string) (string, string, error) {
		k, err := newKey()
		if err != nil {
			return "", "", err
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage, x509.ExtKeyUsageClientAuth},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			return "", "", err
		}
		c, err := write(certFile, "CERTIFICATE", der)
		if err != nil {
			return "", "", err
		}
		kf, err := writeKey(keyFile, k)
		return c, kf, err
	}
	if pki.serverCert, pki.serverKey, err = leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, "server.pem", "server-key.pem"); err != nil {
		return nil, err
	}
	if pki.clientCert, pki.clientKey, err = leaf(3, "kv", x509.ExtKeyUsageClientAuth, "client.pem", "client-key.pem"); err != nil {
		return nil, err
	}
	return pki, nil
}

// withSharedCommands adds the main module's script commands to cmds.
func withSharedCommands(cmds map[string]func(ts *testscript.TestScript, neg bool, args []string)) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	for name, c := range scripttest.Commands {
		cmds[name] = c
	}
	return cmds
}
