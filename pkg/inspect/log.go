package inspect

import (
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// LogRecord is one record of the log as Log shows it.
type LogRecord struct {
	// File is the log's path.
	File   string
	Offset int64
	Size   int
	Seq    uint64
	// Ops alias the log's bytes and are valid only during the callback.
	Ops []wal.Op
}

// LogSummary is what Log found after the last whole record.
type LogSummary struct {
	// File is the log's path ("" when there is no store).
	File    string
	Bytes   int64
	Records int
	// Torn is set when the log ends with a torn tail.
	Torn *wal.Tail
	// Corrupt is set when damage stopped the scan.
	Corrupt *kv.CorruptionError
}

// Log walks the current log record by record under a shared lock,
// modifying nothing, for operators (kv dump --wal). Damage does not make it
// fail: it is reported in the summary, after the records before it.
func Log(dir string, opts *kv.Options, fn func(LogRecord) error) (LogSummary, error) {
	o := withDefaults(opts)
	dir = vfs.ResolveDir(o.FS, dir)
	var sum LogSummary
	if _, err := o.FS.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return sum, nil
	}
	lock, err := o.FS.LockDir(dir, false, o.LockTimeout)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sum, nil
	case errors.Is(err, vfs.ErrLockTimeout):
		return sum, kv.ErrLocked
	case err != nil:
		return sum, err
	}
	defer lock.Close()
	man, err := manifest.Read(o.FS, dir)
	var mce *manifest.CorruptError
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sum, nil
	case errors.As(err, &mce):
		return sum, &kv.CorruptionError{File: filepath.Join(dir, manifest.FileName), Offset: mce.Offset, Reason: mce.Reason}
	case err != nil:
		return sum, err
	}
	sum.File = filepath.Join(dir, manifest.WALName(man.WAL))
	lb, err := wal.ReadFile(o.FS, sum.File, 0)
	if err != nil {
		return sum, err
	}
	defer lb.Release()
	if lb.End > wal.MaxLogBytes {
		return sum, &kv.CorruptionError{File: sum.File, Offset: wal.MaxLogBytes, Reason: wal.TooLargeReason(lb.End)}
	}
	sum.Bytes = lb.Size
	res, err := wal.Scan(lb.Data, func(r wal.Record) error {
		return fn(LogRecord{File: sum.File, Offset: r.Offset, Size: r.Size, Seq: r.Seq, Ops: r.Ops})
	})
	sum.Records, sum.Torn = res.Records, res.Torn
	if err == nil {
		sum.Torn = wal.TornTail(res, lb.Size)
	}
	var ce *wal.CorruptError
	if errors.As(err, &ce) {
		sum.Corrupt = &kv.CorruptionError{File: sum.File, Offset: ce.Offset, Reason: ce.Reason}
		return sum, nil
	}
	return sum, err
}
