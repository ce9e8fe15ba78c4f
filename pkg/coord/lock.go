package coord

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// LocksDir is the folder of the data directory that holds named locks.
const LocksDir = kv.LocksDir

// MaxNameSize bounds a lock name, so that its encoded form is a valid
// file name on every system.
const MaxNameSize = 80

// Forever is the timeout that waits as long as it takes.
const Forever = time.Duration(1<<63 - 1)

// ErrHeld is returned by Acquire when another holder kept the lock for
// the whole timeout.
var ErrHeld = errors.New("lock held by another process")

// ErrBadName is returned for a lock name that is empty, too long or holds
// a NUL byte.
var ErrBadName = errors.New("bad lock name")

// Lock is a held named lock. The kernel releases it when the process
// ends, however it ends; Release releases it before.
type Lock struct {
	// Name is the lock's name.
	Name string
	// Token is the fencing token of this acquisition: larger than that of
	// every earlier acquisition of the name, and kept across crashes and
	// reboots (in the lock's folder), so a holder that lost the lock
	// without knowing it can be told apart from the current one.
	Token uint64
	held  io.Closer
}

// Release releases the lock.
func (l *Lock) Release() error { return l.held.Close() }

// Acquire takes the exclusive named lock name of the data directory
// dataDir (creating the directory if needed), waiting at most timeout
// (Forever: as long as it takes; 0: not at all) before failing with
// ErrHeld, and gives the acquisition its fencing token.
//
// The lock is the lock of a directory, locks/<encoded name>/, which holds
// the token file once the lock was first taken: a non-empty directory is
// not removed by accident (rm without -r, rmdir), so a new holder cannot
// lock a fresh directory of the same name while an old one holds the
// first. Nothing removes these directories.
func Acquire(fsys vfs.FS, dataDir, name string, timeout time.Duration) (*Lock, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	dir := filepath.Join(dataDir, LocksDir, encodeName(name))
	if err := fsys.MkdirAll(dir); err != nil {
		return nil, err
	}
	held, err := fsys.LockDir(dir, true, timeout)
	if errors.Is(err, vfs.ErrLockTimeout) {
		return nil, fmt.Errorf("%q: %w", name, ErrHeld)
	}
	if err != nil {
		return nil, err
	}
	token, err := nextToken(fsys, dir)
	if err != nil {
		held.Close()
		return nil, err
	}
	return &Lock{Name: name, Token: token, held: held}, nil
}

const tokenFile = "token"

// nextToken reads the last token given under dir, writes the next one
// durably (a new file renamed over the old, then the directory synced)
// and returns it. The caller holds the lock.
func nextToken(fsys vfs.FS, dir string) (uint64, error) {
	path := filepath.Join(dir, tokenFile)
	var last uint64
	data, err := vfs.ReadFile(fsys, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return 0, err
	default:
		last, err = strconv.ParseUint(strings.TrimSuffix(string(data), "\n"), 10, 64)
		if err != nil || last == 0 {
			return 0, fmt.Errorf("%s: the fencing token file is damaged (%q), so kv cannot know the last token given; remove the file when no holder runs to start again from 1", path, data)
		}
	}
	next := last + 1
	tmp := path + ".tmp"
	_ = fsys.Remove(tmp) // the remains of an update a crash cut short
	f, err := fsys.Create(tmp)
	if err != nil {
		return 0, err
	}
	_, err = f.WriteAt([]byte(strconv.FormatUint(next, 10)+"\n"), 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err == nil {
		err = fsys.SyncDir(dir)
	}
	if err != nil {
		return 0, fmt.Errorf("write fencing token: %w", err)
	}
	return next, nil
}

// CheckName fails with ErrBadName for a name no lock may have, on any
// backend.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrBadName)
	case len(name) > MaxNameSize:
		return fmt.Errorf("%w: %d bytes, above the limit of %d", ErrBadName, len(name), MaxNameSize)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("%w: it holds a NUL byte", ErrBadName)
	}
	return nil
}

// encodeName turns a lock name into a file name that means only it:
// letters, digits, '-' and '_' stay, '.' too except first, every other
// byte becomes %XX. No two names give the same file name, and none gives
// "." or "..".
func encodeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}
