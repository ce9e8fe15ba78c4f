package kv

import (
	"errors"
	"fmt"

	"github.com/kvtool/kv/pkg/vfs"
)

// Errors returned when opening a store.
var (
	// ErrLocked is returned when the data directory's lock was not acquired
	// within Options.LockTimeout.
	ErrLocked = vfs.ErrLockTimeout
	// ErrCorrupt is wrapped by every error that reports damaged data; the
	// error is a *CorruptionError naming the file and offset.
	ErrCorrupt = errors.New("corrupt data")
	// ErrUnsupportedVersion is wrapped by the error about a file whose
	// checksums hold but whose format version this kv does not know: a
	// newer kv wrote it. It is not corruption; Open, Verify and Repair
	// refuse the store and leave every file as it is.
	ErrUnsupportedVersion = errors.New("written by a newer version of kv")
)

// Errors returned when reading.
var (
	// ErrNotFound is returned when a key has no live value.
	ErrNotFound = errors.New("key not found")
	// ErrCompacted is wrapped by the *CompactedError of DB.Changes when
	// the changes asked for are no longer in the log.
	ErrCompacted = errors.New("revision compacted")
)

// CompactedError reports that the changes from revision Rev on are no
// longer all in the log: a flush or compaction moved them into tables,
// where only the last change of each key is kept. Oldest is the first
// revision the log still holds.
type CompactedError struct {
	Rev, Oldest uint64
}

func (e *CompactedError) Error() string {
	return fmt.Sprintf("revision %d is compacted: the oldest revision whose changes are kept is %d", e.Rev, e.Oldest)
}

// Unwrap lets errors.Is(err, ErrCompacted) hold.
func (e *CompactedError) Unwrap() error { return ErrCompacted }

// Errors returned when writing.
var (
	// ErrReadOnly is returned when writing through a read-only handle.
	ErrReadOnly = errors.New("store opened read-only")
	// ErrEmptyKey is returned for a zero-length key.
	ErrEmptyKey = errors.New("empty key")
	// ErrKeyTooLarge is returned for a key above MaxKeySize.
	ErrKeyTooLarge = errors.New("key too large")
	// ErrValueTooLarge is returned for a value above MaxValueSize.
	ErrValueTooLarge = errors.New("value too large")
	// ErrConditionFailed is returned by a conditional write whose
	// condition did not hold; nothing was written.
	ErrConditionFailed = errors.New("condition not met")
	// ErrFlushAfterWrite is wrapped by the error of a write that is
	// durable and applied, whose flush of the log into a table failed
	// after it: the write is not to be retried, but the handle is broken.
	ErrFlushAfterWrite = errors.New("the write is durable and applied, but the flush after it failed")
	// ErrNotStore is wrapped by the error of a read-write Open of a
	// directory that holds files but no store: kv does not turn a
	// directory of other files into a store (a mistyped path, say).
	ErrNotStore = errors.New("not a kv store")
	// ErrNoSpace is wrapped by the error of a flush, merge, compaction or
	// large batch that found no room on the device (or in the quota) for
	// the files it writes. It removed what it had written, so the store
	// and the handle are as they were, and the handle stays usable: a
	// write that needs no new table (a delete, a small set) still goes
	// to the log, whose flush is put off until there is room
	// (DB.FlushPutOff).
	ErrNoSpace = errors.New("no room for a new table")
	// ErrBroken is wrapped by every error after a write or sync failed:
	// the handle can no longer tell what reached the disk and refuses
	// further writes. Reopening the store recovers.
	ErrBroken = errors.New("store handle unusable after an earlier write failure")
)

// Errors returned by any operation.
var (
	// ErrClosed is returned when using a closed handle.
	ErrClosed = errors.New("store closed")
)

// CorruptionError reports damaged bytes: which file, where, and what is
// wrong. It wraps ErrCorrupt.
type CorruptionError struct {
	File   string
	Offset int64
	Reason string
}

func (e *CorruptionError) Error() string {
	if e.Offset < 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Reason)
	}
	return fmt.Sprintf("%s at offset %d: %s", e.File, e.Offset, e.Reason)
}

// Unwrap lets errors.Is(err, ErrCorrupt) hold.
func (e *CorruptionError) Unwrap() error { return ErrCorrupt }
