package sstable

import (
	"bytes"
	"encoding/binary"

	"github.com/kvtool/kv/pkg/wal"
)

// A long-lived reader's lookup spends most of its time in the binary
// search of a data block: each of its five or six probes reads another
// cache line of the mapped file, one after the other. Once the reader has
// its prefix index, it keeps for every block it has searched the 32-bit
// hashes of the block's keys, in entry order (4 bytes a key, in memory
// only: the format is unchanged). A lookup then scans those hashes, a
// few contiguous cache lines, and reads only the entry whose hash
// matches.

// blockHashes returns the hashes of block i's keys, computing them on the
// block's first search; nil when an entry is malformed (the plain search
// then reports it).
func (px *prefixIndex) blockHashes(i int, entries, starts []byte) []uint32 {
	if hs := px.hashes[i].Load(); hs != nil {
		return *hs
	}
	n := len(starts) / 2
	hs := make([]uint32, n)
	for j := range n {
		off := int(binary.LittleEndian.Uint16(starts[2*j:]))
		if off >= len(entries) {
			return nil
		}
		k, _, ok := skipEntry(entries[off:])
		if !ok {
			return nil
		}
		hs[j] = keyHash32(Hash(k))
	}
	px.hashes[i].Store(&hs)
	return hs
}

// keyHash32 is the part of a key's Hash that blockHashes keeps.
func keyHash32(h uint64) uint32 { return uint32(h >> 32) }

// getHashed looks key (whose Hash is hash) up in block i, at h, through
// the hashes of its keys. Two keys of a block may share a hash, so every
// match is compared in full.
func getHashed(key []byte, hash uint64, hashes []uint32, entries, starts []byte, i int, h blockHandle) (wal.Op, bool, error) {
	want := keyHash32(hash)
	for j, x := range hashes {
		if x != want {
			continue
		}
		p := entries[binary.LittleEndian.Uint16(starts[2*j:]):]
		if k, _, _ := skipEntry(p); !bytes.Equal(k, key) {
			continue
		}
		// blockHashes checked the entry's key and lengths; DecodeOp
		// checks the rest.
		op, _, err := wal.DecodeOp(p)
		if err != nil {
			return op, false, corrupt(int64(h.offset)+int64(len(entries)-len(p)), "data block %d: entry: %v", i, err)
		}
		return op, true, nil
	}
	return wal.Op{}, false, nil
}
