package vfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync flushes the file's data and the metadata needed to read it back
// (its size), which is all the log needs; it skips the timestamps that a full
// fsync would also write.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}

// startWriteback queues the range for writeback (sync_file_range with
// SYNC_FILE_RANGE_WRITE only: it does not wait for the writes, though it
// can block while the device's queue is full, and syncs no metadata, so
// it is no substitute for Sync).
func (f osFile) startWriteback(off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
