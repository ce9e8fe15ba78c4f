package sstable

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"sync/atomic"

	"github.com/kvtool/kv/pkg/entry"
)

// A long-lived reader's lookup used to spend most of its time in a data
// block: reading the block's trailer for its entry offsets, then five or
// six binary-search probes, each another cache line of the mapped file,
// one after the other. Once the reader has its prefix index, every block
// that a lookup searches has its keys entered in a hash table, the key
// index (in memory only: the format is unchanged), and a later lookup of
// one of them probes the table, usually one cache line, and reads from
// the file only its entry: two cache misses in all.

// keyIndex maps the hashes of the keys of the blocks cached so far to
// where their entries start in the file. It is open-addressed with linear
// probing, sized for every entry of the table, 12 bytes a key. A slot only
// ever goes from empty to set, by compare-and-swap, so lookups read it
// without a lock while other lookups add blocks.
type keyIndex struct {
	slots []atomic.Uint64
}

// A slot holds a key's tag (the low tagBits of its Hash) above the
// offset of its entry plus one, so that zero means empty; the slot's
// place comes from the hash's high bits, the tag from its low ones, so
// keys that share a home rarely share a tag.
const (
	offsetBits = 40
	tagBits    = 64 - offsetBits
	offsetMask = 1<<offsetBits - 1
)

// maxKeyIndexEntries bounds a key index at 192 MiB: a reader of a larger
// table searches its blocks as a short-lived reader does. The index is
// allocated whole when the prefix index is built, and the slots of a block's
// keys are spread over all of it, so it soon takes its full size in memory
// even when few blocks are read.
const maxKeyIndexEntries = 1 << 24

// keyIndexSlots is the number of slots of a key index for a table (as
// its footer counts its entries), 0 for a table too large for it or for
// its offsets.
func keyIndexSlots(entries, dataLen, tableSize uint64) int {
	// An entry takes at least 3 bytes (kind, key length, key): a footer
	// that claims more entries cannot make the index larger than that.
	entries = min(entries, dataLen/3)
	if tableSize >= offsetMask || entries > maxKeyIndexEntries {
		return 0
	}
	// One and a half slots a key: a lookup of a present key probes about
	// two slots, of an absent one about four, nearly always in one or two
	// cache lines.
	return int(entries + entries/2 + 1)
}

// home is the first slot to probe for hash.
func (ki *keyIndex) home(hash uint64) int {
	hi, _ := bits.Mul64(hash, uint64(len(ki.slots)))
	return int(hi)
}

func slotTag(hash uint64) uint64 { return hash & (1<<tagBits - 1) }

// maxProbe bounds the slots a key may lie from its home. Random keys
// never come near it (of 1M keys at this load, 16 lie 64 slots or more
// away, none 128), but Hash has no seed: keys chosen to share home and tag
// would otherwise make one run that every add and lookup walks, quadratic
// in their number. A key that would lie further is not added (its block
// is then searched as a short-lived reader does), and a lookup stops
// there too.
const maxProbe = 128

// add enters the entry at offset whose key has hash; false when the
// maxProbe slots from its home are taken, which random keys (and a footer
// that counts the entries right) make vanishingly rare.
func (ki *keyIndex) add(hash, offset uint64) bool {
	v := slotTag(hash)<<offsetBits | (offset + 1)
	i := ki.home(hash)
	for range min(len(ki.slots), maxProbe) {
		if ki.slots[i].CompareAndSwap(0, v) {
			return true
		}
		if i++; i == len(ki.slots) {
			i = 0
		}
	}
	return false
}

// find looks key (whose Hash is hash) up among the keys added so far.
// Keys may share a tag, so every match is compared in full.
func (ki *keyIndex) find(r *Reader, key []byte, hash uint64) (entry.Op, bool, error) {
	tag := slotTag(hash)
	i := ki.home(hash)
	// A key added lies within maxProbe slots of its home, all of them
	// taken before it was, and slots are never emptied.
	for range min(len(ki.slots), maxProbe) {
		v := ki.slots[i].Load()
		if v == 0 {
			break
		}
		if v>>offsetBits == tag {
			// add took the offset from a checked block and its entry
			// parsed; DecodeOp checks the rest.
			off := v&offsetMask - 1
			p := r.data[off:]
			if k, _, _ := skipEntry(p); bytes.Equal(k, key) {
				op, _, err := entry.DecodeOp(p)
				if err != nil {
					return op, false, corrupt(int64(off), "entry: %v", err)
				}
				return op, true, nil
			}
		}
		if i++; i == len(ki.slots) {
			i = 0
		}
	}
	return entry.Op{}, false, nil
}

// Block states in the prefix index.
const (
	cacheEmpty uint32 = iota
	cacheBuilding
	cacheReady
)

// ready reports whether every key of block i is in the key index.
func (px *prefixIndex) ready(i int) bool {
	return px.keyIndex != nil && px.cached[i].Load() == cacheReady
}

// cacheBlock enters the keys of block i (at offset), whose checksum has
// passed, in the key index; false when there is no key index, when
// another lookup does or did, when an entry is malformed (the plain search
// then reports it), or when a key finds no free slot near its home (see
// maxProbe). Only a block that returned true is ever ready.
func (px *prefixIndex) cacheBlock(i int, offset uint64, entries, starts []byte) bool {
	if px.keyIndex == nil || !px.cached[i].CompareAndSwap(cacheEmpty, cacheBuilding) {
		return false
	}
	// Every entry is checked before any is added, so that the index never
	// serves a key of a block the plain search would call damaged.
	n := len(starts) / 2
	for j := range n {
		off := binary.LittleEndian.Uint16(starts[2*j:])
		if int(off) >= len(entries) {
			return false // stays "building": never cached
		}
		if _, _, ok := skipEntry(entries[off:]); !ok {
			return false
		}
	}
	for j := range n {
		off := binary.LittleEndian.Uint16(starts[2*j:])
		k, _, _ := skipEntry(entries[off:])
		if !px.keyIndex.add(Hash(k), offset+uint64(off)) {
			return false
		}
	}
	// Stored after the keys: a lookup that sees the block ready, and only
	// then probes the index, finds every key of the block.
	px.cached[i].Store(cacheReady)
	return true
}
