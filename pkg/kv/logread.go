package kv

import (
	"path/filepath"

	"github.com/kvtool/kv/pkg/wal"
)

// mapLogFrom is the log size from which a read-only open maps the log
// rather than read it. A one-shot reader's log is usually all but empty,
// and reading a few records costs far less than mapping them (see
// pkg/sstable/fileread.go); a log of megabytes costs more to read (the
// buffer is zeroed, then filled) than to map (BenchmarkOpenGetFullLog;
// docs/FIGURES.md).
const mapLogFrom = 256 << 10

// logTooLarge is the corruption of a log with more data than
// wal.MaxLogBytes.
func (db *DB) logTooLarge(name string, end int64) error {
	return db.corrupt(name, wal.MaxLogBytes, "%s", wal.TooLargeReason(end))
}

// readLog reads the log at path for a reader (see wal.ReadFile and
// mapLogFrom); a log past wal.MaxLogBytes is corruption.
func (db *DB) readLog(path string) (wal.Contents, error) {
	lb, err := wal.ReadFile(db.fs, path, mapLogFrom)
	if err == nil && lb.End > wal.MaxLogBytes {
		return wal.Contents{}, db.logTooLarge(filepath.Base(path), lb.End)
	}
	return lb, err
}
