package kv

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"

	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// mapLogFrom is the log size from which a read-only open maps the log
// rather than read it. A one-shot reader's log is usually all but empty,
// and reading a few records costs far less than mapping them (see
// pkg/sstable/fileread.go); a log of megabytes costs more to read (the
// buffer is zeroed, then filled) than to map (BenchmarkOpenGetFullLog;
// docs/FIGURES.md).
const mapLogFrom = 256 << 10

// maxLogBytes bounds the data of a log: the engine flushes a log once it
// passes FlushThreshold, so no log it writes holds more than the threshold
// and one record (wal.MaxRecordSize). A log with more data was not written
// by kv; reading it would cost memory for nothing. A variable so that
// tests can reach the bound without writing gigabytes.
var maxLogBytes int64 = 2 * wal.MaxRecordSize

// logTooLargeReason says what is wrong with a log whose data ends at end,
// past maxLogBytes, and what to do.
func logTooLargeReason(end int64) string {
	return fmt.Sprintf("log holds %d bytes of data, beyond any size the engine writes (%d): reads and writes refuse it; kv repair keeps its records and cuts the rest", end, maxLogBytes)
}

// logTooLarge is the corruption of a log with more data than maxLogBytes.
func (db *DB) logTooLarge(name string, end int64) error {
	return db.corrupt(name, maxLogBytes, "%s", logTooLargeReason(end))
}

// logBytes is what readLogFile read of a log file.
type logBytes struct {
	// data holds the file up to end, where its data ends; nil when end
	// is past maxLogBytes.
	data []byte
	// end is where the file's data ends, size its size: the bytes
	// between are a hole of zeros (vfs.DataEnd).
	end, size int64
	// release lets go of data.
	release func() error
}

// readLogFile reads the log at path up to where its data ends, mapping it
// from mapFrom bytes on where the filesystem maps. What follows the data
// is a hole of zeros, which a scan would see as a torn tail: it is not
// read, so a log extended by truncate(1) costs what its records do. A
// log with more data than maxLogBytes is not read at all.
func readLogFile(fsys vfs.FS, path string, mapFrom int64) (logBytes, error) {
	f, err := fsys.Open(path)
	if err != nil {
		return logBytes{}, err
	}
	defer f.Close()
	end, size, err := vfs.DataEnd(f)
	if err != nil {
		return logBytes{}, err
	}
	lb := logBytes{end: end, size: size, release: func() error { return nil }}
	if end > maxLogBytes {
		return lb, nil
	}
	if end == size && size >= mapFrom && !vfs.MapCopies(fsys) {
		data, release, err := fsys.Map(path)
		if err == nil {
			lb.data, lb.release = data, release
			return lb, nil
		}
		if errors.Is(err, fs.ErrNotExist) {
			return logBytes{}, err
		}
		// Mapping only saves time (address space, a filesystem that
		// refuses mmap): read the log instead.
	}
	lb.data = make([]byte, end)
	if _, err := f.ReadAt(lb.data, 0); err != nil && !(errors.Is(err, io.EOF) && end == 0) {
		return logBytes{}, err
	}
	return lb, nil
}

// readLog reads the log at path for a reader (see readLogFile and
// mapLogFrom); a log past maxLogBytes is corruption.
func (db *DB) readLog(path string) (logBytes, error) {
	lb, err := readLogFile(db.fs, path, mapLogFrom)
	if err == nil && lb.end > maxLogBytes {
		return logBytes{}, db.logTooLarge(filepath.Base(path), lb.end)
	}
	return lb, err
}

// tailOf is the torn tail of a log file of size bytes whose data res
// scanned: the scan's own, or, where the records end cleanly before the
// file does, the hole of zeros after them.
func tailOf(res wal.Result, size int64) *wal.Tail {
	if res.Torn == nil && res.End < size {
		return &wal.Tail{Offset: res.End, Reason: "zeros (a hole) to the end of the file"}
	}
	return res.Torn
}
