package wal

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/kvtool/kv/pkg/vfs"
)

// MaxLogBytes bounds the data of a log: the engine flushes a log once it
// passes its threshold, so no log it writes holds more than the largest
// threshold and one record. A log with more data was not written by kv;
// reading it would cost memory for nothing. A variable so that tests can
// reach the bound without writing gigabytes.
var MaxLogBytes int64 = 2 * MaxRecordSize

// TooLargeReason says what is wrong with a log whose data ends at end,
// past MaxLogBytes, and what to do.
func TooLargeReason(end int64) string {
	return fmt.Sprintf("log holds %d bytes of data, beyond any size the engine writes (%d): reads and writes refuse it; kv repair keeps its records and cuts the rest", end, MaxLogBytes)
}

// Contents is what ReadFile read of a log file.
type Contents struct {
	// Data holds the file up to End, where its data ends; nil when End
	// is past MaxLogBytes.
	Data []byte
	// End is where the file's data ends, Size its size: the bytes
	// between are a hole of zeros (vfs.DataEnd).
	End, Size int64
	// Release lets go of Data.
	Release func() error
}

// ReadFile reads the log at path up to where its data ends, mapping it
// from mapFrom bytes on where the filesystem maps. What follows the data
// is a hole of zeros, which a scan would see as a torn tail: it is not
// read, so a log extended by truncate(1) costs what its records do. A
// log with more data than MaxLogBytes is not read at all.
func ReadFile(fsys vfs.FS, path string, mapFrom int64) (Contents, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return Contents{}, err
	}
	defer f.Close()
	end, size, err := vfs.DataEnd(f)
	if err != nil {
		return Contents{}, err
	}
	c := Contents{End: end, Size: size, Release: func() error { return nil }}
	if end > MaxLogBytes {
		return c, nil
	}
	if end == size && size >= mapFrom && !vfs.MapCopies(fsys) {
		data, release, err := fsys.Map(path)
		if err == nil {
			c.Data, c.Release = data, release
			return c, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return Contents{}, err
		}
		// Mapping only saves time (address space, a filesystem that
		// refuses mmap): read the log instead.
	}
	c.Data = make([]byte, end)
	if _, err := f.ReadAt(c.Data, 0); err != nil && !(errors.Is(err, io.EOF) && end == 0) {
		return Contents{}, err
	}
	return c, nil
}

// TornTail is the torn tail of a log file of size bytes whose data res
// scanned: the scan's own, or, where the records end cleanly before the
// file does, the hole of zeros after them.
func TornTail(res Result, size int64) *Tail {
	if res.Torn == nil && res.End < size {
		return &Tail{Offset: res.End, Reason: "zeros (a hole) to the end of the file"}
	}
	return res.Torn
}
