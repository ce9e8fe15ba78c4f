//go:build !linux

package vfs

import "os"

func datasync(f *os.File) error { return f.Sync() }

// startWriteback does nothing where sync_file_range is missing; the final
// Sync writes everything.
func (osFile) startWriteback(off, n int64) {}
