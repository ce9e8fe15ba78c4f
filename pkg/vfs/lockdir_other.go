//go:build !unix

package vfs

import (
	"io"
	"path/filepath"
	"time"
)

// LockDir implements FS with the file dir/LOCK. Windows cannot lock a
// directory handle, but refuses to delete a file that is open, so the file
// cannot be replaced under its holder there; the other platforms here
// have no flock on directories at all.
func (fs osFS) LockDir(dir string, exclusive bool, timeout time.Duration) (io.Closer, error) {
	return fs.Lock(filepath.Join(dir, "LOCK"), exclusive, true, timeout)
}
