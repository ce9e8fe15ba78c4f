package cmd

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
)

// Exit codes, the contract scripts rely on. They are listed in kv --help
// and in the man pages.
const (
	// ExitOK is success.
	ExitOK = 0
	// ExitNo is a clean "no": key not found, verify found problems, a
	// condition not met.
	ExitNo = 1
	// ExitUsage is a usage error: unknown flag or command, wrong number of
	// arguments, invalid input.
	ExitUsage = 2
	// ExitLocked means the lock was not acquired within --lock-timeout.
	ExitLocked = 3
	// ExitCorrupt means corruption stopped the operation.
	ExitCorrupt = 4
	// ExitIO is any other error: I/O (disk full, permission denied, …), or
	// a store written by a newer kv.
	ExitIO = 5
	// ExitLockLost is kv lock's when its lock on a cluster was lost
	// while COMMAND ran: COMMAND was stopped.
	ExitLockLost = 6
)

// ExitCodesHelp lists the exit codes, for help texts and man pages.
const ExitCodesHelp = `Exit status:
  0  success
  1  a clean "no": key not found, condition not met, no expiry (silent
     with -q); also a value incr cannot add to, verify found problems
  2  usage error: unknown flag or command, wrong arguments, invalid input
  3  the data directory's lock was not acquired within --lock-timeout
  4  corrupt data stopped the operation (run kv verify)
  5  any other error: I/O (disk full, permission denied, …), or a store
     written by a newer version of kv (nothing is changed: upgrade kv)
  6  kv lock on etcd: the lock was lost while COMMAND ran (its lease
     expired), and COMMAND was stopped`

// usageError marks an error as the user's: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// noError is a clean "no" that has already been explained (or needs no
// explanation): exit code 1.
type noError struct {
	msg string
	// clean marks a "no" that --quiet silences: an expected answer (a
	// key without expiry), not a problem with the data (a value that is
	// not an integer, a verify that found damage).
	clean bool
	// code, when not 0, is the exit status instead of ExitNo: kv lock's
	// --conflict-exit-code, or the status of the command it ran.
	code int
}

// cleanNo reports whether err is a clean "no": a missing key, a failed
// condition, or a noError marked clean. --quiet makes these exit 1 with
// nothing on stderr; everything else is still reported.
func cleanNo(err error) bool {
	var ne noError
	return errors.Is(err, kv.ErrNotFound) || errors.Is(err, kv.ErrConditionFailed) ||
		(errors.As(err, &ne) && ne.clean)
}

func (e noError) Error() string { return e.msg }

// exitCode maps an error to the documented exit code, in one place.
func exitCode(err error) int {
	var ue usageError
	var ne noError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ue):
		return ExitUsage
	case errors.As(err, &ne) && ne.code != 0:
		return ne.code
	case errors.As(err, &ne), errors.Is(err, kv.ErrNotFound), errors.Is(err, kv.ErrConditionFailed), errors.Is(err, kv.ErrCompacted):
		return ExitNo
	case errors.Is(err, kv.ErrLocked):
		return ExitLocked
	case errors.Is(err, kv.ErrCorrupt):
		return ExitCorrupt
	case errors.Is(err, kv.ErrEmptyKey), errors.Is(err, kv.ErrKeyTooLarge), errors.Is(err, kv.ErrValueTooLarge), errors.Is(err, backend.ErrTooLarge):
		return ExitUsage
	}
	return ExitIO
}

// describe turns an error into the one line printed on stderr.
func describe(err error) string {
	var pe *fs.PathError
	switch {
	case errors.Is(err, kv.ErrCorrupt):
		return err.Error() + " (run kv verify for a full report)"
	case errors.Is(err, kv.ErrLocked):
		return err.Error() + ": another kv process holds the store; retry, or raise --lock-timeout"
	case errors.Is(err, kv.ErrUnsupportedVersion):
		return err.Error() + "; nothing was changed: use a kv at least as new as the one that wrote the store"
	case errors.As(err, &pe) && errors.Is(err, fs.ErrPermission):
		return fmt.Sprintf("permission denied: %s", pe.Path)
	}
	return err.Error()
}
