package cmd

import (
	"errors"
	"fmt"
	"io"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
)

// Store is what the commands need from a backend (see pkg/backend).
type Store = backend.Store

// options builds engine options from the configuration.
func (a *app) options(readOnly bool) (string, *kv.Options, error) {
	if _, on, err := a.cluster(); err != nil {
		return "", nil, err
	} else if on {
		// A command that reached here has no cluster path: refuse rather
		// than touch a data directory the user did not mean.
		return "", nil, usagef("this command works on a data directory only, and --endpoints is set")
	}
	dir, err := a.dataDir()
	if err != nil {
		return "", nil, err
	}
	timeout, err := a.lockTimeout()
	if err != nil {
		return "", nil, err
	}
	sync, err := a.syncWrites()
	if err != nil {
		return "", nil, err
	}
	if timeout == 0 {
		timeout = -1 // try once
	}
	return dir, &kv.Options{ReadOnly: readOnly, LockTimeout: timeout, NoSync: !sync, Now: a.now}, nil
}

// openCluster opens the configured cluster in kv-etcd; ok is false when
// no endpoints are configured (the data directory is used).
func (a *app) openCluster(readOnly bool) (s Store, ok bool, err error) {
	c, on, err := a.cluster()
	if err != nil || !on {
		return nil, on, err
	}
	if a.remote == nil {
		return nil, true, a.handOver()
	}
	s, err = a.remote.Open(c, readOnly)
	return s, true, err
}

// openRead opens the store read-only under a shared lock.
func (a *app) openRead() (Store, error) {
	if s, ok, err := a.openCluster(true); ok {
		return s, err
	}
	dir, opts, err := a.options(true)
	if err != nil {
		return nil, err
	}
	s, err := openStore(dir, opts)
	if err != nil {
		return nil, err
	}
	// The view is built: the lock guards the store's consistency, not
	// the speed of whoever reads the output, so a paused pipe
	// (kv dump | less) never keeps writers out.
	if db, ok := backend.LocalDB(s); ok {
		if err := db.ReleaseLock(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// openStore opens the engine; the one place a backend is chosen.
func openStore(dir string, opts *kv.Options) (Store, error) {
	db, err := kv.Open(dir, opts)
	if err != nil {
		return nil, err
	}
	return backend.Local(db), nil
}

// openWrite opens the store read-write under the exclusive lock.
func (a *app) openWrite() (Store, error) {
	if s, ok, err := a.openCluster(false); ok {
		return s, err
	}
	dir, opts, err := a.options(false)
	if err != nil {
		return nil, err
	}
	s, err := openStore(dir, opts)
	if err != nil {
		return nil, err
	}
	if db, ok := backend.LocalDB(s); ok {
		return &localWriter{Store: s, db: db, stderr: a.stderr}, nil
	}
	return s, nil
}

// localWriter is a read-write engine handle that, when it closes, warns
// if a flush was put off for lack of room: every write succeeded, but the
// log now grows past its threshold until the device has room.
type localWriter struct {
	Store
	db       *kv.DB
	stderr   io.Writer
	reported bool
}

func (w *localWriter) Close() error {
	if err := w.db.FlushPutOff(); err != nil && !w.reported {
		fmt.Fprintf(w.stderr, "kv: warning: the writes are stored, but %v; until space is freed, writes go to the log, which grows past its threshold\n", err)
	}
	return w.Store.Close()
}

// closeStore closes s and keeps the first error.
func closeStore(s Store, err *error) {
	if w, ok := s.(*localWriter); ok && errors.Is(*err, kv.ErrNoSpace) {
		w.reported = true // the error says it already
	}
	if cerr := s.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}

// keyNotFound is the error of a command whose key is absent; when there
// is no store at all, it says so, since a mistyped --dir looks the same.
func (a *app) keyNotFound(s Store, key string) error {
	if !s.Found() {
		dir, _ := a.dataDir()
		return fmt.Errorf("%q: %w (there is no store at %s)", key, kv.ErrNotFound, dir)
	}
	return fmt.Errorf("%q: %w", key, kv.ErrNotFound)
}
