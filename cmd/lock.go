package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/coord"
	"github.com/kvtool/kv/pkg/vfs"
)

// The defaults of kv lock's --ttl and --kill-after.
const (
	defaultLockTTL   = 10 * time.Second
	defaultKillAfter = 10 * time.Second
)

type lockOptions struct {
	nonblock     bool
	wait         time.Duration
	conflictExit int
	ttl          time.Duration
	killAfter    time.Duration
}

func (a *app) newLockCmd() *cobra.Command {
	var o lockOptions
	c := &cobra.Command{
		Use:   "lock NAME [flags] -- COMMAND [ARGS...]",
		Short: "Run a command while holding a named lock",
		Long: `Run COMMAND while holding the lock NAME of the data directory, as flock(1)
does with a file: two jobs that take the same NAME never run at once.

kv lock waits for the lock as long as it takes; --nonblock (-n) fails at
once, --wait D after D. When the lock is not acquired, kv lock exits with
--conflict-exit-code (default 1, like flock -E), silently with -q: the
expected "another run is still going" of a cron job.

COMMAND's exit status is kv lock's; a COMMAND killed by signal N gives
128+N. SIGINT, SIGTERM and SIGHUP sent to kv lock are passed on to COMMAND.
The lock is released when COMMAND ends, however it ends, and the kernel
releases it if kv lock itself is killed (even by SIGKILL): a crashed holder
never leaves a stale lock. COMMAND not found exits 127, not executable 126.

The lock is not the store's: while COMMAND runs, every other kv command on
the store proceeds, COMMAND's own included (kv get and kv set inside the
locked section are the usual read-modify-write).

COMMAND's environment has KV_LOCK_NAME, the lock's name, and KV_LOCK_REV,
a fencing token: a number larger at every acquisition of NAME than at any
before it, kept across crashes and reboots. A job can store it with its
results, and a reader can tell a late writer (one that lost the lock
without knowing it) from the current holder.

On etcd (--endpoints), the lock is etcd's: a concurrency.Mutex in etcdctl
lock's layout (the holder's key is NAME/<lease ID>, so kv lock and etcdctl
lock of one NAME exclude each other), on a session whose lease is --ttl
(default 10s), kept alive while kv lock runs. A holder that the cluster stops
hearing from (a crashed host, a partition) loses the lock after the TTL, and
another may take it. If that happens while COMMAND runs, kv lock says so on
stderr, sends COMMAND SIGTERM, then SIGKILL after --kill-after (default 10s),
and exits 6: COMMAND must not go on believing it holds the lock.
KV_LOCK_REV is the revision that created the holder's key.

On a data directory the lock lives exactly as long as the holding process:
--ttl and --kill-after are accepted and checked, and change nothing.

Lock names are at most 80 bytes; the lock is a folder under the data
directory's locks/, which must not be removed while a lock is held.`,
		Example: `  # cron: skip this run if the previous one is still going
  kv lock -q -n backup -- /usr/local/bin/backup.sh
  # wait up to 5 minutes, then give up with status 75 (EX_TEMPFAIL)
  kv lock --wait 5m -E 75 deploy -- ./deploy.sh
  # an exact read-modify-write across processes
  kv lock counter -- sh -c 'n=$(kv get n || echo 0); kv set n $((n + 1))'`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: cobra.NoFileCompletions,
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("ttl") && o.ttl <= 0 {
				return usagef("--ttl must be positive")
			}
			if cmd.Flags().Changed("wait") && o.wait < 0 {
				return usagef("--wait must not be negative")
			}
			if o.conflictExit < 0 || o.conflictExit > 255 {
				return usagef("--conflict-exit-code %d: want 0 to 255", o.conflictExit)
			}
			if dash := cmd.ArgsLenAtDash(); dash > 1 {
				return usagef("one NAME before --, then COMMAND")
			}
			if len(args) < 2 {
				return usagef("no COMMAND: kv lock NAME -- COMMAND [ARGS...]")
			}
			timeout := coord.Forever
			switch {
			case o.nonblock:
				timeout = 0
			case cmd.Flags().Changed("wait"):
				timeout = o.wait
			}
			if cmd.Flags().Changed("kill-after") && o.killAfter <= 0 {
				return usagef("--kill-after must be positive")
			}
			if o.ttl == 0 {
				o.ttl = defaultLockTTL
			}
			if o.killAfter == 0 {
				o.killAfter = defaultKillAfter
			}
			return a.runLocked(args[0], args[1:], timeout, o)
		}),
	}
	f := c.Flags()
	f.BoolVarP(&o.nonblock, "nonblock", "n", false, "fail at once if the lock is held")
	f.Var(durationValue{&o.wait}, "wait", "wait at most this long for the lock (90s, 5m, 1d); default: as long as it takes")
	f.IntVarP(&o.conflictExit, "conflict-exit-code", "E", 1, "exit status when the lock is not acquired")
	f.Var(durationValue{&o.ttl}, "ttl", "lease time on etcd (default 10s); a local lock lives as long as its holder")
	f.Var(durationValue{&o.killAfter}, "kill-after", "on etcd, when the lock is lost: how long COMMAND has after SIGTERM before SIGKILL (default 10s)")
	c.MarkFlagsMutuallyExclusive("nonblock", "wait")
	return c
}

// runLocked takes the lock, runs command with it held, and returns
// command's exit status as a noError carrying the code.
func (a *app) runLocked(name string, command []string, timeout time.Duration, o lockOptions) error {
	lock, err := a.acquireLock(name, timeout, o.ttl)
	switch {
	case errors.Is(err, coord.ErrBadName):
		return usageError{err}
	case errors.Is(err, coord.ErrHeld):
		msg := fmt.Sprintf("lock %q is held by another process", name)
		if timeout > 0 && timeout != coord.Forever {
			msg += fmt.Sprintf(" (waited %s)", timeout)
		}
		return noError{msg: msg, clean: true, code: o.conflictExit}
	case err != nil:
		return err
	}
	defer lock.Release()

	child := exec.Command(command[0], command[1:]...)
	child.Stdin, child.Stdout, child.Stderr = a.stdin, a.rawStdout, a.stderr
	child.Env = append(os.Environ(), "KV_LOCK_NAME="+name, "KV_LOCK_REV="+strconv.FormatUint(lock.Token(), 10))
	// Caught before the child starts, so that none of them kills kv lock
	// between the two: each is passed on to the child instead.
	signals := make(chan os.Signal, 8)
	signal.Notify(signals, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(signals)
	if err := child.Start(); err != nil {
		code := 126
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			code = 127
		}
		return noError{msg: fmt.Sprintf("lock %q: %v", name, err), code: code}
	}
	done := make(chan struct{})
	lost := make(chan struct{})
	go func() {
		var kill <-chan time.Time
		lostLock := lock.Lost()
		for {
			select {
			case sig := <-signals:
				_ = child.Process.Signal(sig)
			case <-lostLock:
				fmt.Fprintf(a.stderr, "kv: lock %q was lost while COMMAND ran (its lease expired: the cluster did not hear from kv lock within --ttl); stopping COMMAND (SIGTERM, then SIGKILL after %s)\n", name, o.killAfter)
				close(lost)
				_ = child.Process.Signal(syscall.SIGTERM)
				kill = time.After(o.killAfter)
				lostLock = nil
			case <-kill:
				_ = child.Process.Kill()
			case <-done:
				return
			}
		}
	}()
	err = child.Wait()
	close(done)
	select {
	case <-lost:
		return noError{code: ExitLockLost}
	default:
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &exitErr):
		code := exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return noError{code: code}
	}
	return err
}

// acquireLock takes the named lock: the cluster's when endpoints are
// configured, else the data directory's.
func (a *app) acquireLock(name string, timeout, ttl time.Duration) (backend.HeldLock, error) {
	if co, closeCo, on, err := a.clusterCoordinator(false); on {
		if err != nil {
			return nil, err
		}
		l, err := co.Lock(name, ttl, timeout)
		if err != nil {
			closeCo()
			return nil, err
		}
		return closingLock{l, closeCo}, nil
	}
	dir, err := a.dataDir()
	if err != nil {
		return nil, err
	}
	l, err := coord.Acquire(vfs.Default, dir, name, timeout)
	if err != nil {
		return nil, err
	}
	return localLock{l}, nil
}

// localLock is a data directory's lock, which lives exactly as long as
// its holder: it is never lost.
type localLock struct{ l *coord.Lock }

func (l localLock) Token() uint64         { return l.l.Token }
func (l localLock) Lost() <-chan struct{} { return nil }
func (l localLock) Release() error        { return l.l.Release() }

// closingLock closes the cluster's store when its lock is released.
type closingLock struct {
	backend.HeldLock
	close func() error
}

func (l closingLock) Release() error {
	err := l.HeldLock.Release()
	if cerr := l.close(); err == nil {
		err = cerr
	}
	return err
}
