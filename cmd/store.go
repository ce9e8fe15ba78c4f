package cmd

import (
	"time"

	"github.com/kvtool/kv/pkg/kv"
)

// Store is what the commands need from a backend. *kv.DB implements it;
// a second backend (a distributed store, say) is an addition, not a
// rewrite of the commands.
type Store interface {
	Get(key []byte) ([]byte, error)
	GetWithExpiry(key []byte) ([]byte, time.Time, error)
	GetEntry(key []byte) (kv.Entry, error)
	Revision() (uint64, error)
	Apply(b *kv.Batch) error
	Update(fn func(tx *kv.Txn) error) error
	Scan(prefix []byte, fn func(kv.Entry) error) error
	ScanKeys(prefix []byte, limit int, fn func(key []byte) error) error
	KeyCursor(prefix []byte) (*kv.KeyCursor, error)
	Compact() (kv.CompactStats, error)
	Digest() (string, error)
	Stats() (kv.Stats, error)
	Close() error
}

var _ Store = (*kv.DB)(nil)

// options builds engine options from the configuration.
func (a *app) options(readOnly bool) (string, *kv.Options, error) {
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

// openRead opens the store read-only under a shared lock.
func (a *app) openRead() (Store, error) {
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
	if db, ok := s.(*kv.DB); ok {
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
	return db, nil
}

// openWrite opens the store read-write under the exclusive lock.
func (a *app) openWrite() (Store, error) {
	dir, opts, err := a.options(false)
	if err != nil {
		return nil, err
	}
	return openStore(dir, opts)
}

// closeStore closes s and keeps the first error.
func closeStore(s Store, err *error) {
	if cerr := s.Close(); cerr != nil && *err == nil {
		*err = cerr
	}
}
