package kv

import (
	"errors"
	"io/fs"
)

// pathError is an error about one file that names it once: "op path:
// cause". The cause often names the path itself (the *fs.PathError of
// the failed write or sync), which printed as is would give "write X:
// write X: no space left on device"; its text is then left out of the
// message but kept in the chain, so errors.Is and errors.As still see
// the *fs.PathError and its errno.
type pathError struct {
	op, path string // op may be empty: "path: cause"
	err      error
}

func (e *pathError) Error() string {
	prefix := e.path
	if e.op != "" {
		prefix = e.op + " " + e.path
	}
	return prefix + ": " + causeWithoutPath(e.path, e.err)
}

func (e *pathError) Unwrap() error { return e.err }

// withPath wraps err as an error of op on path (see pathError).
func withPath(op, path string, err error) error {
	return &pathError{op: op, path: path, err: err}
}

// causeWithoutPath is err's text, less the "op path: " of an
// *fs.PathError for path that is the whole of err.
func causeWithoutPath(path string, err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) && pe.Path == path && err.Error() == pe.Error() {
		return pe.Err.Error()
	}
	return err.Error()
}
