package sstable

import (
	"bytes"
	"encoding/binary"
	"sync/atomic"

	"github.com/kvtool/kv/pkg/wal"
)

// A long-lived reader's lookup used to spend most of its time in a data
// block: reading the block's trailer for its entry offsets, then five or
// six binary-search probes, each another cache line of the mapped file,
// one after the other. Once the reader has its prefix index, it keeps for
// every block it has searched a blockCache (6 bytes a key, in memory only:
// the format is unchanged), and a later lookup in the block scans the
// cached hashes, a few contiguous cache lines, and reads from the file
// only the entry whose hash matches.

// blockCache describes a data block whose checksum has passed. The
// prefix index holds one per block, in an array, so that a lookup follows
// one pointer only, to words.
type blockCache struct {
	// state is cacheEmpty, cacheBuilding or cacheReady; the other fields
	// are written by the one lookup that moved it from empty to building,
	// and read only once it is ready.
	state atomic.Uint32
	// entries is the length of the block's entries region, offset where
	// the block starts in the file (a copy of its span, kept here to
	// spare the lookup a cache line).
	entries uint32
	offset  uint64
	// words holds the upper 32 bits of Hash of the block's keys, in entry
	// order, then where each entry starts, two to a word.
	words []uint32
}

const (
	cacheEmpty uint32 = iota
	cacheBuilding
	cacheReady
)

// ready returns block i's cache once it is built, else nil.
func (px *prefixIndex) ready(i int) *blockCache {
	if bc := &px.blocks[i]; bc.state.Load() == cacheReady {
		return bc
	}
	return nil
}

// cacheBlock builds and keeps the cache of block i (at offset) from its
// checked entries and entry offsets; nil when an entry is malformed (the
// plain search then reports it).
func (px *prefixIndex) cacheBlock(i int, offset uint64, entries, starts []byte) *blockCache {
	bc := &px.blocks[i]
	if !bc.state.CompareAndSwap(cacheEmpty, cacheBuilding) {
		// Another lookup builds it, or built it, or found it malformed.
		return px.ready(i)
	}
	n := len(starts) / 2
	words := make([]uint32, n+(n+1)/2)
	for j := range n {
		off := binary.LittleEndian.Uint16(starts[2*j:])
		if int(off) >= len(entries) {
			return nil // stays "building": never cached
		}
		k, _, ok := skipEntry(entries[off:])
		if !ok {
			return nil
		}
		words[j] = keyHash32(Hash(k))
		words[n+j/2] |= uint32(off) << (16 * (j % 2))
	}
	bc.offset, bc.entries, bc.words = offset, uint32(len(entries)), words
	bc.state.Store(cacheReady)
	return bc
}

// keyHash32 is the part of a key's Hash that a blockCache keeps.
func keyHash32(h uint64) uint32 { return uint32(h >> 32) }

// n is the number of entries in the block.
func (bc *blockCache) n() int { return len(bc.words) * 2 / 3 }

// start is where entry j starts in the entries region.
func (bc *blockCache) start(j int) uint32 {
	return bc.words[bc.n()+j/2] >> (16 * (j % 2)) & 0xffff
}

// get looks key (whose Hash is hash) up in block i. Two keys of a block
// may share a hash, so every match is compared in full.
func (bc *blockCache) get(r *Reader, i int, key []byte, hash uint64) (wal.Op, bool, error) {
	want := keyHash32(hash)
	entries := r.data[bc.offset : bc.offset+uint64(bc.entries)]
	for j, h := range bc.words[:bc.n()] {
		if h != want {
			continue
		}
		p := entries[bc.start(j):]
		if k, _, _ := skipEntry(p); !bytes.Equal(k, key) {
			continue
		}
		// cacheBlock checked the entry's key and lengths; DecodeOp
		// checks the rest.
		op, _, err := wal.DecodeOp(p)
		if err != nil {
			return op, false, corrupt(int64(bc.offset)+int64(bc.start(j)), "data block %d: entry: %v", i, err)
		}
		return op, true, nil
	}
	return wal.Op{}, false, nil
}
