// Package inspect is what operators' tools need to look at a store
// without changing it: Verify checks every byte of every file and reports
// each problem with its file and offset; Log walks the log record by
// record. It reads the files through the format packages (manifest, wal,
// sstable) and opens the store through pkg/kv only to compute the content
// digest, so the engine carries none of it. Repair stays in pkg/kv: it
// writes a store, and its guarantees (revision numbering, the cover rule
// that keeps replaced tables dead) are the engine's.
package inspect

import (
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// withDefaults is opts with the defaults kv.Open would apply to the
// fields inspect uses: the OS filesystem and the lock timeout (negative
// means try once).
func withDefaults(opts *kv.Options) kv.Options {
	var o kv.Options
	if opts != nil {
		o = *opts
	}
	if o.FS == nil {
		o.FS = vfs.Default
	}
	switch {
	case o.LockTimeout == 0:
		o.LockTimeout = kv.DefaultLockTimeout
	case o.LockTimeout < 0:
		o.LockTimeout = 0
	}
	return o
}
