package sstable

import (
	"encoding/binary"
	"math/bits"
)

// The bloom filter is blocked: the first hash picks one 64-byte block (one
// cache line), and every probe sets a bit inside it, so a lookup costs one
// memory access. Both constants are part of the wire format.
const (
	bloomBlockSize  = 64
	bloomProbes     = 6
	bloomBitsPerKey = 10
)

// Hash is the 64-bit key hash the bloom filter uses. It must never change:
// filters written by one version are read by the next.
func Hash(b []byte) uint64 {
	h := uint64(0x9e3779b97f4a7c15) ^ uint64(len(b))*0xff51afd7ed558ccd
	for len(b) >= 8 {
		h = (h ^ binary.LittleEndian.Uint64(b)) * 0xbf58476d1ce4e5b9
		h = bits.RotateLeft64(h, 31)
		b = b[8:]
	}
	var t uint64
	for i, c := range b {
		t |= uint64(c) << (8 * i)
	}
	h = (h ^ t) * 0x94d049bb133111eb
	h ^= h >> 32
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 29
	return h
}

func bloomBlocks(keys int) int {
	n := (keys*bloomBitsPerKey + bloomBlockSize*8 - 1) / (bloomBlockSize * 8)
	if n < 1 {
		n = 1
	}
	return n
}

// bloomLocate returns the block a hash falls in and the base and step of
// its probes.
func bloomLocate(h uint64, blocks int) (block int, base, step uint32) {
	block = int((uint64(uint32(h>>32)) * uint64(blocks)) >> 32)
	return block, uint32(h), uint32(h>>17) | 1
}

func buildBloom(hashes []uint64) []byte {
	blocks := bloomBlocks(len(hashes))
	filter := make([]byte, blocks*bloomBlockSize)
	for _, h := range hashes {
		bloomAdd(filter, blocks, h)
	}
	return filter
}

// bloomAdd sets a hash's bits in a filter of blocks blocks.
func bloomAdd(filter []byte, blocks int, h uint64) {
	b, base, step := bloomLocate(h, blocks)
	blk := filter[b*bloomBlockSize : (b+1)*bloomBlockSize]
	for i := uint32(0); i < bloomProbes; i++ {
		bit := (base + i*step) & (bloomBlockSize*8 - 1)
		blk[bit>>3] |= 1 << (bit & 7)
	}
}

// bloomMayContain checks a hash against one filter block.
func bloomMayContain(blk []byte, base, step uint32) bool {
	for i := uint32(0); i < bloomProbes; i++ {
		bit := (base + i*step) & (bloomBlockSize*8 - 1)
		if blk[bit>>3]&(1<<(bit&7)) == 0 {
			return false
		}
	}
	return true
}
