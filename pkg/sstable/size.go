package sstable

import "github.com/kvtool/kv/pkg/entry"

// Size is the size in bytes of the table a Writer writes for ops (sorted
// with unique keys, as Add requires), computed without encoding them. The
// merge policy weighs a table about to be written against those on disk:
// an estimate a few percent short would make a batch look smaller than
// an equal one already written, and the two would be written and then
// merged instead of written once together.
func Size(ops []entry.Op) int64 {
	var s sizer
	for _, op := range ops {
		s.add(op)
	}
	return s.finish()
}

// sizer follows Writer's layout, counting the bytes instead of writing
// them; TestSizeMatchesWriter holds the two together.
type sizer struct {
	off          uint64
	block        int // bytes of the open block's entries
	blockEntries int
	lastKey      int
	meta         int // index, its offsets and the top index
	blocks       uint64
	entries      int
}

func (s *sizer) add(op entry.Op) {
	s.block += entry.OpSize(op)
	s.blockEntries++
	s.lastKey = len(op.Key)
	s.entries++
	if s.block >= BlockSize {
		s.flushBlock()
	}
}

func (s *sizer) flushBlock() {
	if s.block == 0 {
		return
	}
	// Entries, their 16-bit offsets, the entry count and the CRC.
	n := uint64(s.block + 2*s.blockEntries + 2 + 4)
	s.meta += keyFieldSize(s.lastKey) + entry.UvarintLen(s.off) + entry.UvarintLen(n) + 4
	s.off += n
	s.blocks++
	if s.blocks%TopStride == 0 {
		s.meta += keyFieldSize(s.lastKey) + 4
	}
	s.block, s.blockEntries = 0, 0
}

func (s *sizer) finish() int64 {
	s.flushBlock()
	if s.blocks%TopStride != 0 {
		s.meta += keyFieldSize(s.lastKey) + 4
	}
	meta := uint64(s.meta + bloomBlocks(s.entries)*bloomBlockSize)
	return int64(s.off + meta + chunkCount(meta)*4 + FooterSize)
}

// keyFieldSize is the size of a length-prefixed key of n bytes.
func keyFieldSize(n int) int { return entry.UvarintLen(uint64(n)) + n }
