// Package kv is kv's storage engine: a durable, log-structured key-value
// store in one data directory, shared safely by any number of processes.
//
// A store is a write-ahead log of checksummed, atomic batches, sorted
// tables that the log is flushed into, and a manifest that names the live
// files; docs/FORMAT.md gives every byte and the crash-safety argument.
//
// # Using it
//
// Open a directory (created on the first write), read and write, Close:
//
//	db, err := kv.Open(dir, nil)
//	...
//	defer db.Close()
//	err = db.Set([]byte("greeting"), []byte("hello"))
//	v, err := db.Get([]byte("greeting"))
//
// A Batch is applied all or nothing; Update runs a read-modify-write
// transaction under the handle's writer lock; Scan and ScanKeys read keys
// in order under a prefix; Compact rewrites the store into one table of
// its live values; Repair salvages a damaged store. Checking a store
// without changing it (Verify, and walking the log) is pkg/inspect's.
//
// # Guarantees
//
//   - Durability: when a write returns nil, it survives a crash or a
//     power loss (the log is fdatasynced first), unless Options.NoSync.
//   - Atomicity: a batch is applied whole or not at all, after any crash.
//   - Recovery: a torn log tail (a write a crash interrupted) is cut off
//     by the next writer; damage anywhere else is reported, with file and
//     offset, as a *CorruptionError (errors.Is ErrCorrupt), never served.
//   - Sharing: Open takes a lock on the data directory, exclusive for a
//     read-write handle and shared for a read-only one, waiting at most
//     Options.LockTimeout (ErrLocked). A read-only handle reads the store
//     as it was when opened; ReleaseLock lets writers in while it goes on
//     reading that view.
//
// # Concurrency
//
// A *DB is safe for concurrent use by many goroutines. Reads run in
// parallel with each other and with a commit's log write; writes,
// flushes and compactions are serialised. Concurrent durable writers of
// one handle share an fdatasync (group commit). A Batch and a Txn are not
// safe for concurrent use.
//
// # Memory
//
// What a handle keeps in memory is bounded, each by an option or by the
// size of what the caller hands it:
//   - the memtable, the index of the log's records: the log, at most
//     Options.FlushThreshold plus one batch;
//   - the lookup indexes a table builds once it has served many lookups
//     (a long-lived handle's; a one-shot process never builds them):
//     Options.IndexMemory for all tables together (Stats.IndexBytes);
//   - memory kept for the next large batch (NoSync bulk loads): at most
//     the largest batch since the last Sync, which lets it go;
//   - a table read without a mapping: a few 4 KiB chunks of its index.
//
// Tables are otherwise read through memory mappings, which the kernel
// pages in and out.
//
// # Stability
//
// The on-disk format is versioned (docs/FORMAT.md, section 8): a newer
// format is refused with ErrUnsupportedVersion, never misread. The Go API
// is that of a pre-1.0 module: it follows kv's commands, and may change
// between minor versions, which say so in their notes.
package kv
