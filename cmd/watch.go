package cmd

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/coord"
)

// maxEnvValue is the largest value kv watch puts in KV_WATCH_VALUE: the
// environment has a size limit shared by everything in it.
const maxEnvValue = 32 << 10

type watchEvent struct {
	Event       coord.EventType `json:"event"`
	Key         *string         `json:"key,omitempty"`
	KeyBase64   *string         `json:"key_base64,omitempty"`
	Value       *string         `json:"value,omitempty"`
	ValueBase64 *string         `json:"value_base64,omitempty"`
	Revision    uint64          `json:"revision"`
}

func (a *app) newWatchCmd() *cobra.Command {
	var prefix string
	var from uint64
	var poll time.Duration
	c := &cobra.Command{
		Use:   "watch [KEY | --prefix P] [flags] [-- COMMAND [ARGS...]]",
		Short: "Print every change to a key or a prefix as it happens",
		Long: `Print one JSON line per change to KEY, or to every key starting with
--prefix P, until interrupted (SIGINT or SIGTERM end it with status 0):

  {"event":"put","key":"k","value":"v","revision":7}
  {"event":"delete","key":"k","revision":8}
  {"event":"expire","key":"k","revision":8}

A key or value that is not UTF-8 is written as key_base64 or value_base64;
with --base64 every one is, so every line has one shape.
"revision" is the revision of the write; an expiry takes none, and shows
the store's revision when it was seen. Each batch is reported whole, in
revision order; a write interrupted by a crash is never reported.

By default the watch starts now. --rev N first replays the changes from
revision N on (kv get --rev shows a key's), as far as the store's log still
holds them: after a flush or compaction moved them into tables, kv watch
exits 1 naming the oldest revision it can replay. A watch that falls behind
a compaction while running reports each changed key once, with its latest
value, and each removed key as a delete.

With -- COMMAND, COMMAND runs once per change instead of the line being
printed, one at a time and in order, with KV_WATCH_EVENT, KV_WATCH_KEY,
KV_WATCH_REV and KV_WATCH_VALUE (set only when the value holds no NUL byte
and is at most 32 KiB: otherwise read it with kv get) in its environment,
and its standard input empty. Its exit status does not stop the watch.

kv watch holds no lock between reads, so writers are never slowed by it.
It is woken by the filesystem's change events (inotify) and reads the store
at least every --poll interval, which bounds its latency where the
filesystem gives no events (NFS).

On etcd (--endpoints) the watch is etcd's Watch, from the revision the
command started at, or from --rev N as far as etcd's history still holds it
(before its last compaction); --poll changes nothing there. An expired lease
shows as etcd reports it: a "delete" of each key it held.`,
		Example: `  kv watch config:mode
  kv watch --prefix job: | while read -r line; do echo "$line"; done
  kv watch --rev 120 --prefix deploy/
  kv watch config:mode -- sh -c 'systemctl reload myapp'`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: a.completeKeys(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			keyArgs, command := args, []string(nil)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				keyArgs, command = args[:dash], args[dash:]
				if len(command) == 0 {
					return usagef("no COMMAND after --")
				}
			}
			usePrefix := cmd.Flags().Changed("prefix")
			var t coord.Target
			switch {
			case usePrefix && len(keyArgs) > 0:
				return usagef("give KEY or --prefix, not both")
			case usePrefix:
				t = coord.Target{Key: []byte(prefix), Prefix: true}
			case len(keyArgs) != 1:
				return usagef("give one KEY, or --prefix P")
			default:
				if err := checkKeys(keyArgs[0]); err != nil {
					return err
				}
				t = coord.Target{Key: []byte(keyArgs[0])}
			}
			if cmd.Flags().Changed("rev") && from == 0 {
				return usagef("--rev must be at least 1")
			}
			if cmd.Flags().Changed("poll") && poll <= 0 {
				return usagef("--poll must be positive")
			}
			ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			emit := a.printEvent
			if command != nil {
				emit = a.runForEvent(command)
			}
			co, closeCo, on, err := a.clusterCoordinator(true)
			if on {
				if err != nil {
					return err
				}
				defer closeCo()
				return co.Watch(ctx, t, from, emit)
			}
			src, err := a.watchSource(poll)
			if err != nil {
				return err
			}
			return coord.Watch(ctx, src, t, from, emit)
		}),
	}
	f := c.Flags()
	f.StringVar(&prefix, "prefix", "", "watch every key that starts with this prefix")
	f.Uint64Var(&from, "rev", 0, "first replay the changes from this revision on")
	f.Var(durationValue{&poll}, "poll", "read the store at least this often (default 1s)")
	f.BoolVar(&a.base64, "base64", false, "write every key and value in base64 (key_base64, value_base64)")
	return c
}

// clusterCoordinator opens the cluster's locks and watches when endpoints
// are configured (on is false otherwise); closeCo closes it.
func (a *app) clusterCoordinator(readOnly bool) (co backend.Coordinator, closeCo func() error, on bool, err error) {
	s, on, err := a.openCluster(readOnly)
	if !on || err != nil {
		return nil, nil, on, err
	}
	co, ok := s.(backend.Coordinator)
	if !ok {
		s.Close()
		return nil, nil, true, usagef("the cluster backend has no locks or watches")
	}
	return co, s.Close, true, nil
}

// watchSource is where kv watch and kv wait read from. The data directory
// is created if missing, so that its changes can be watched from the
// start.
func (a *app) watchSource(poll time.Duration) (coord.Source, error) {
	dir, opts, err := a.options(true)
	if err != nil {
		return coord.Source{}, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return coord.Source{}, err
	}
	return coord.Source{Dir: dir, Opts: *opts, Poll: poll}, nil
}

func (a *app) printEvent(ev coord.Event) error {
	e := watchEvent{Event: ev.Type, Revision: ev.Rev}
	e.Key, e.KeyBase64 = a.textOrBase64(ev.Key)
	if ev.Type == coord.Put {
		e.Value, e.ValueBase64 = a.textOrBase64(ev.Value)
	}
	line, err := marshalLine(e)
	if err != nil {
		return err
	}
	_, err = a.stdout.Write(line)
	return err
}

// runForEvent runs command for each event, as etcdctl watch does.
func (a *app) runForEvent(command []string) func(coord.Event) error {
	return func(ev coord.Event) error {
		child := exec.Command(command[0], command[1:]...)
		child.Stdout, child.Stderr = a.rawStdout, a.stderr
		env := append(os.Environ(),
			"KV_WATCH_EVENT="+string(ev.Type),
			"KV_WATCH_KEY="+string(ev.Key),
			"KV_WATCH_REV="+strconv.FormatUint(ev.Rev, 10))
		if ev.Type == coord.Put && len(ev.Value) <= maxEnvValue && bytes.IndexByte(ev.Value, 0) < 0 {
			env = append(env, "KV_WATCH_VALUE="+string(ev.Value))
		}
		child.Env = env
		if err := child.Run(); err != nil {
			if _, exited := err.(*exec.ExitError); !exited {
				return err // COMMAND could not be run at all
			}
		}
		return nil
	}
}
