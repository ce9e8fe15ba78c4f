package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/entry"
)

// Writer writes one table. Entries must be added in strictly increasing
// key order. The bytes written depend only on the entries added.
type Writer struct {
	w      io.Writer
	off    uint64
	block  []byte
	starts []uint16 // where each entry of the block starts
	// streamed counts the bytes of the current block already written
	// (addStreamed), and streamedCRC is their checksum; block holds
	// the rest.
	streamed    int
	streamedCRC uint32
	lastKey     []byte
	index       []byte
	offsets     []byte
	// top and topOffsets are the top index: the last key of every
	// TopStride-th block, offsets relative to the start of top.
	top        []byte
	topOffsets []uint32
	// hashes are the key hashes the bloom filter is built from: every
	// key's, until a table written with ReadBack passes readBackFrom keys
	// (overCap): the filter is then built from the keys read back.
	hashes  []uint64
	overCap bool
	// readBack and flush are ReadBack's. pending holds the hashes of the
	// current block's keys; flushBlock also keeps them in kept, and the
	// block's number in keptBlocks, when the block holds a streamed
	// value: reading such a block back would read its value.
	readBack   io.ReaderAt
	flush      func() error
	pending    []uint64
	kept       []uint64
	keptBlocks []uint64
	blocks     uint64
	entries    uint64
	// coverLo and coverHi are the revision cover SetCover recorded.
	coverLo, coverHi uint64
	err              error
}

// SetCover records the revisions the table stands for, [lo, hi] (see
// Reader.Cover). Without it the footer records none (0, 0).
func (w *Writer) SetCover(lo, hi uint64) error {
	if lo > hi {
		return fmt.Errorf("sstable: revision cover [%d, %d]", lo, hi)
	}
	w.coverLo, w.coverHi = lo, hi
	return nil
}

// NewWriter returns a Writer that writes to w. Callers should buffer w.
func NewWriter(w io.Writer) *Writer {
	return &Writer{w: w, block: make([]byte, 0, 2*BlockSize)}
}

// ReadBack makes the Writer build the bloom filter of a table of more
// than readBackFrom keys, at Finish, from the keys of the data blocks it
// wrote, read back through r once flush has pushed out what the
// caller's buffer holds, instead of from a hash of every key kept since
// the first Add: the Writer's memory then grows with the number of
// blocks (the index), not of keys. A smaller table keeps its hashes,
// which costs less than reading it back. r must read what was written
// to the Writer's w, at the same offsets. A block read back is checked
// against its checksum; the table's bytes are the same either way.
func (w *Writer) ReadBack(r io.ReaderAt, flush func() error) {
	w.readBack, w.flush = r, flush
}

// readBackFrom is how many keys' hashes a Writer with ReadBack keeps
// (8 bytes each) before it drops them and reads the table back instead.
var readBackFrom = 1 << 19

// Add appends an entry: a value, an expiring value or a tombstone.
func (w *Writer) Add(op entry.Op) error {
	if w.err != nil {
		return w.err
	}
	if len(op.Key) == 0 || len(op.Key) > entry.MaxKeySize {
		return fmt.Errorf("sstable: key of %d bytes", len(op.Key))
	}
	if w.entries > 0 && bytes.Compare(op.Key, w.lastKey) <= 0 {
		return errors.New("sstable: keys added out of order")
	}
	w.starts = append(w.starts, uint16(w.streamed+len(w.block)))
	if len(op.Value) >= streamFrom && op.Kind != entry.KindDelete {
		w.addStreamed(op)
	} else {
		w.block = entry.AppendOp(w.block, op)
	}
	w.lastKey = append(w.lastKey[:0], op.Key...)
	if w.readBack == nil {
		w.hashes = append(w.hashes, Hash(op.Key))
	} else {
		w.pending = append(w.pending, Hash(op.Key))
	}
	w.entries++
	if w.streamed+len(w.block) >= BlockSize {
		w.flushBlock()
	}
	return w.err
}

// streamFrom is the value size from which Add writes a value where it is
// rather than copy it into the block: a value of hundreds of megabytes
// would otherwise be held twice.
var streamFrom = 64 << 10

// addStreamed writes the block so far, op's head and op's value, keeping
// their checksum, and leaves op's tail in the block: the bytes are those
// of appending op to the block.
func (w *Writer) addStreamed(op entry.Op) {
	w.block = entry.AppendOpHead(w.block, op)
	w.streamedCRC = crc32c.Update(crc32c.Update(w.streamedCRC, w.block), op.Value)
	w.write(w.block)
	w.write(op.Value)
	w.streamed += len(w.block) + len(op.Value)
	w.block = entry.AppendOpTail(w.block[:0], op)
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.w.Write(b)
	w.off += uint64(len(b))
}

func (w *Writer) flushBlock() {
	if len(w.block) == 0 && w.streamed == 0 {
		return
	}
	if w.readBack != nil {
		if w.streamed > 0 {
			w.kept = append(w.kept, w.pending...)
			w.keptBlocks = append(w.keptBlocks, w.blocks)
		}
		if !w.overCap {
			if w.hashes = append(w.hashes, w.pending...); len(w.hashes) > readBackFrom {
				w.hashes, w.overCap = nil, true
			}
		}
		w.pending = w.pending[:0]
	}
	start := w.off - uint64(w.streamed)
	// The entry offsets let a lookup binary-search the block. A block is
	// cut once it reaches BlockSize, so every entry starts below it and
	// fits 16 bits.
	for _, o := range w.starts {
		w.block = binary.LittleEndian.AppendUint16(w.block, o)
	}
	w.block = binary.LittleEndian.AppendUint16(w.block, uint16(len(w.starts)))
	w.starts = w.starts[:0]
	w.block = binary.LittleEndian.AppendUint32(w.block, crc32c.Update(w.streamedCRC, w.block))
	w.write(w.block)
	blockLen := w.streamed + len(w.block)
	w.streamed, w.streamedCRC = 0, 0
	w.offsets = binary.LittleEndian.AppendUint32(w.offsets, uint32(len(w.index)))
	w.index = binary.AppendUvarint(w.index, uint64(len(w.lastKey)))
	w.index = append(w.index, w.lastKey...)
	w.index = binary.AppendUvarint(w.index, start)
	w.index = binary.AppendUvarint(w.index, uint64(blockLen))
	w.blocks++
	if w.blocks%TopStride == 0 {
		w.addTop()
	}
	w.block = w.block[:0]
}

// addTop adds the last key written to the top index.
func (w *Writer) addTop() {
	w.topOffsets = append(w.topOffsets, uint32(len(w.top)))
	w.top = binary.AppendUvarint(w.top, uint64(len(w.lastKey)))
	w.top = append(w.top, w.lastKey...)
}

// Finish writes the index, filter, checksums and footer, and returns the
// table's size. It does not sync or close the underlying writer.
func (w *Writer) Finish() (int64, error) {
	w.flushBlock()
	if w.err != nil {
		return 0, w.err
	}
	if w.blocks%TopStride != 0 {
		w.addTop()
	}
	topBase := len(w.index) + len(w.offsets)
	if uint64(topBase+len(w.top)+4*len(w.topOffsets)) > 1<<32-1 {
		return 0, errors.New("sstable: index too large")
	}
	dataLen := w.off
	// The meta region is written piece by piece, never joined into one
	// buffer: in a large table the index, its offsets and the filter are
	// each megabytes, and a joined copy would hold them twice.
	topOffsets := make([]byte, 0, 4*len(w.topOffsets))
	for _, o := range w.topOffsets {
		topOffsets = binary.LittleEndian.AppendUint32(topOffsets, uint32(topBase)+o)
	}
	index := [][]byte{w.index, w.offsets, w.top, topOffsets}
	indexLen := uint64(0)
	for _, p := range index {
		indexLen += uint64(len(p))
	}
	topLen := uint32(indexLen) - uint32(topBase)
	var filter []byte
	if !w.overCap {
		filter = buildBloom(w.hashes)
	} else {
		var err error
		if filter, err = w.readBackBloom(); err != nil {
			w.err = err
			return 0, err
		}
	}
	bloomLen := uint64(len(filter))
	meta := append(index, filter)
	sums := chunkSums(meta, indexLen+bloomLen)
	for _, p := range meta {
		w.write(p)
	}
	w.write(sums)
	w.write(footer{
		dataLen: dataLen, indexLen: indexLen, bloomLen: bloomLen,
		blocks: w.blocks, entries: w.entries,
		sumsCRC: crc32c.Checksum(sums), topLen: topLen,
		coverLo: w.coverLo, coverHi: w.coverHi,
	}.encode())
	return int64(w.off), w.err
}

// chunkSums returns the CRC of each ChunkSize chunk of the n bytes that
// pieces hold end to end: the meta region's checksum array.
func chunkSums(pieces [][]byte, n uint64) []byte {
	sums := make([]byte, 0, chunkCount(n)*4)
	var crc uint32
	fill := 0 // bytes of the current chunk summed so far
	for _, p := range pieces {
		for len(p) > 0 {
			k := min(len(p), ChunkSize-fill)
			crc = crc32c.Update(crc, p[:k])
			p, fill = p[k:], fill+k
			if fill == ChunkSize {
				sums = binary.LittleEndian.AppendUint32(sums, crc)
				crc, fill = 0, 0
			}
		}
	}
	if fill > 0 {
		sums = binary.LittleEndian.AppendUint32(sums, crc)
	}
	return sums
}

// readBackBloom builds the bloom filter of ReadBack: from the hashes
// kept for blocks with a streamed value, and from the keys of every
// other block, read back and checked.
func (w *Writer) readBackBloom() ([]byte, error) {
	if err := w.flush(); err != nil {
		return nil, err
	}
	blocks := bloomBlocks(int(w.entries))
	filter := make([]byte, blocks*bloomBlockSize)
	for _, h := range w.kept {
		bloomAdd(filter, blocks, h)
	}
	keys := uint64(len(w.kept))
	kept := w.keptBlocks
	var buf []byte
	index := w.index
	for i := uint64(0); i < w.blocks; i++ {
		var start, size uint64
		index, start, size = nextIndexEntry(index)
		if len(kept) > 0 && kept[0] == i {
			kept = kept[1:]
			continue
		}
		buf = slices.Grow(buf[:0], int(size))[:size]
		if n, err := w.readBack.ReadAt(buf, int64(start)); n < len(buf) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("sstable: read back block %d at offset %d: %w", i, start, err)
		}
		body, sum := buf[:size-4], binary.LittleEndian.Uint32(buf[size-4:])
		entries, ok := blockEntries(body)
		if !ok || crc32c.Checksum(body) != sum {
			return nil, fmt.Errorf("sstable: block %d at offset %d reads back other than it was written", i, start)
		}
		for p := entries; len(p) > 0; keys++ {
			key, rest, ok := skipEntry(p)
			if !ok {
				return nil, fmt.Errorf("sstable: block %d at offset %d reads back other than it was written", i, start)
			}
			bloomAdd(filter, blocks, Hash(key))
			p = rest
		}
	}
	if keys != w.entries {
		return nil, fmt.Errorf("sstable: %d keys read back, %d written", keys, w.entries)
	}
	return filter, nil
}

// nextIndexEntry decodes the block handle at the front of an index the
// Writer built, and returns the rest.
func nextIndexEntry(p []byte) (rest []byte, start, size uint64) {
	kl, n := binary.Uvarint(p)
	p = p[n+int(kl):]
	start, n = binary.Uvarint(p)
	p = p[n:]
	size, n = binary.Uvarint(p)
	return p[n:], start, size
}
