//go:build !unix && !windows

package vfs

import (
	"io"
	"os"
)

const noFollow = 0

// nonBlock makes opening a FIFO return at once instead of waiting for
// its other end (see openRegular).
const nonBlock = 0

func mapFile(f *os.File) ([]byte, func() error, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}

func syncDir(string) error { return nil }

func ownerUID(os.FileInfo) int { return -1 }

// MapCopies implements MapCopier: Map reads the file whole (mapFile).
func (osFS) MapCopies() bool { return true }
