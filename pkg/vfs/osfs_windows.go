//go:build windows

package vfs

import (
	"io"
	"os"
)

// Windows has no O_NOFOLLOW; os.OpenFile does not follow reparse points for
// creation with O_EXCL, which is what protects temporary files.
const noFollow = 0

// nonBlock makes opening a FIFO return at once instead of waiting for
// its other end (see openRegular).
const nonBlock = 0

// mapFile reads the file into memory: the engine only needs read-only bytes,
// and this keeps the Windows build free of a second mmap implementation.
func mapFile(f *os.File) ([]byte, func() error, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}

// syncDir is a no-op: Windows cannot open a directory for syncing, and NTFS
// journals renames.
func syncDir(string) error { return nil }

func ownerUID(os.FileInfo) int { return -1 }

// MapCopies implements MapCopier: Map reads the file whole (mapFile).
func (osFS) MapCopies() bool { return true }
