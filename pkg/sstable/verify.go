package sstable

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/entry"
)

// Problem is one defect Verify found.
type Problem struct {
	Offset int64
	Reason string
	// Bytes is how many bytes of data (entries) the problem made
	// unreadable, where Salvage knows it; 0 for damage to the metadata
	// alone, which Salvage works around.
	Bytes int64
}

// Verify checks every byte of the table: every chunk and block checksum,
// every entry's encoding, strict key order within and across blocks, that
// the index and the top index match the blocks, that the blocks tile the data region, the
// entry count, and that the filter admits every key. It reports each
// problem it finds and never stops at the first.
func Verify(data []byte) []Problem { return VerifyMapped(data, nil) }

// VerifyMapped is Verify of a table that a filesystem mapped: drop, when
// not nil, is its vfs.PageDropper's DropPages, which the check hands the
// blocks it has passed, so that checking a table does not keep all of it
// resident.
func VerifyMapped(data []byte, drop func([]byte)) []Problem {
	r, err := Open(data)
	if err != nil {
		return []Problem{asProblem(err)}
	}
	var probs []Problem
	add := func(err error) {
		probs = append(probs, asProblem(err))
	}
	// The index and filter are checked and dropped a MiB at a time: what
	// the walk below reads of the index comes back in order, and is
	// dropped again as passed. The filter's pages come back as the
	// keys' probes touch them, all of them in a large table: the filter
	// is what this check holds.
	metaDropFrom, chunks := uint64(r.metaOff), int(chunkCount(r.metaLen))
	for c := 0; c < chunks; c++ {
		if err := r.checkMeta(uint64(c)*ChunkSize, 1); err != nil {
			add(err)
		}
		if drop != nil {
			least := uint64(dropChunk)
			if c == chunks-1 {
				least = minPage // the rest, after the last chunk
			}
			end := uint64(r.metaOff) + min(uint64(c+1)*ChunkSize, r.metaLen)
			dropRun(data, &metaDropFrom, end, uint64(r.metaOff), least, drop)
		}
	}
	var prev []byte
	var entries, next, dropFrom uint64
	var index indexDropper
	for i := 0; i < int(r.f.blocks); i++ {
		if drop != nil && next <= uint64(len(data)) && dropRun(data, &dropFrom, next, 0, dropChunk, drop) {
			index.passed(r, i, drop)
		}
		h, err := r.indexEntry(i)
		if err != nil {
			add(err)
			continue
		}
		if h.offset != next {
			add(corrupt(int64(h.offset), "data block %d does not start where block %d ended (%d)", i, i-1, next))
		}
		next = h.offset + h.len
		body, starts, _, err := r.blockWithStarts(i)
		if err != nil {
			add(err)
			prev = nil
			continue
		}
		var last []byte
		p := body
		n := 0
		for len(p) > 0 {
			op, rest, err := entry.DecodeOp(p)
			at := int64(h.offset) + int64(len(body)-len(p))
			if err != nil {
				add(corrupt(at, "entry: %v", err))
				break
			}
			if 2*n+2 > len(starts) || int(binary.LittleEndian.Uint16(starts[2*n:])) != len(body)-len(p) {
				add(corrupt(at, "data block %d: offsets array disagrees with entry %d", i, n))
			}
			n++
			if prev != nil && bytes.Compare(op.Key, prev) <= 0 {
				add(corrupt(at, "key out of order"))
			}
			if ok, err := r.mayContainHash(Hash(op.Key)); err == nil && !ok {
				add(corrupt(at, "bloom filter does not admit a stored key"))
			}
			prev, last = op.Key, op.Key
			entries++
			p = rest
		}
		if n != len(starts)/2 && len(p) == 0 {
			add(corrupt(int64(h.offset), "data block %d: offsets array counts %d entries, the block holds %d", i, len(starts)/2, n))
		}
		if last != nil && !bytes.Equal(last, h.lastKey) {
			add(corrupt(int64(h.offset), "index key of block %d differs from its last key", i))
		}
	}
	// This walk touches every TopStride-th index entry: in a large
	// table, every page of the index again.
	var topWalk indexDropper
	for j := 0; j < r.topN; j++ {
		k, err := r.topKey(j)
		if err != nil {
			add(err)
			continue
		}
		i := min((j+1)*TopStride, int(r.f.blocks)) - 1
		if drop != nil {
			topWalk.passed(r, i, drop)
		}
		if h, err := r.indexEntry(i); err == nil && !bytes.Equal(k, h.lastKey) {
			add(corrupt(r.metaOff+int64(r.topStart), "top index entry %d differs from the last key of block %d", j, i))
		}
	}
	if next != r.f.dataLen {
		add(corrupt(int64(next), "data blocks end at %d, data region at %d", next, r.f.dataLen))
	}
	if entries != r.f.entries && len(probs) == 0 {
		add(corrupt(int64(uint64(len(data))-r.f.size()), "footer counts %d entries, blocks hold %d", r.f.entries, entries))
	}
	return probs
}

func asProblem(err error) Problem {
	var ce *CorruptError
	if errors.As(err, &ce) {
		return Problem{Offset: ce.Offset, Reason: ce.Reason}
	}
	return Problem{Offset: -1, Reason: err.Error()}
}

// Salvage returns every entry of every intact data block, in order, for
// repair; damaged blocks are skipped and reported. Blocks are found through
// the index where it is intact; where it is not (a damaged index chunk,
// footer or checksum array), by walking the data region from its start,
// recognising each block by the CRC that follows its entries, so damage to
// the metadata loses no data.
func Salvage(data []byte) (ops []entry.Op, lost []Problem) {
	known := map[uint64]blockHandle{} // block start -> handle, from the index
	limit := uint64(len(data))
	r, err := Open(data)
	if err != nil {
		// The end of the data region is unknown: walk the whole file
		// (no CRC follows the bytes of the index, filter or footer).
		lost = append(lost, asProblem(err))
	} else {
		limit = r.f.dataLen
		for i := 0; i < int(r.f.blocks); i++ {
			h, err := r.indexEntry(i)
			if err != nil {
				lost = append(lost, asProblem(err))
				continue
			}
			known[h.offset] = h
		}
	}
	starts := slices.Sorted(maps.Keys(known))
	for s := uint64(0); s < limit; {
		if h, ok := known[s]; ok {
			b := data[h.offset : h.offset+h.len]
			body := b[:len(b)-4]
			entries, ok := blockEntries(body)
			if crc32c.Checksum(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
				lost = append(lost, Problem{Offset: int64(s), Reason: "data block checksum mismatch", Bytes: int64(h.len)})
			} else if !ok {
				lost = append(lost, Problem{Offset: int64(s), Reason: "data block offsets array damaged", Bytes: int64(h.len)})
			} else {
				ops, lost = blockOps(ops, lost, entries, s)
			}
			s += h.len
			continue
		}
		entries, size, ok := findBlock(data[s:limit])
		if ok {
			ops, lost = blockOps(ops, lost, entries, s)
			s += uint64(size)
			continue
		}
		// Skip to the next block the index knows, if any.
		next := limit
		if i, _ := slices.BinarySearch(starts, s+1); i < len(starts) && starts[i] < limit {
			next = starts[i]
		}
		if r != nil {
			lost = append(lost, Problem{Offset: int64(s), Reason: fmt.Sprintf("%d bytes of data with no intact block", next-s), Bytes: int64(next - s)})
		}
		s = next
	}
	return ops, lost
}

// findBlock recognises a data block at the start of p without the index:
// whole entries, the array of their offsets and its length, then the
// CRC-32C of all of that. It returns the block's entries and its full
// length.
func findBlock(p []byte) (entries []byte, size int, ok bool) {
	var starts []int
	for pos := 0; pos < len(p); {
		_, rest, err := entry.DecodeOp(p[pos:])
		if err != nil {
			return nil, 0, false
		}
		starts = append(starts, pos)
		pos = len(p) - len(rest)
		k := len(starts)
		end := pos + 2*k + 2
		if end+4 > len(p) || int(binary.LittleEndian.Uint16(p[pos+2*k:])) != k {
			continue
		}
		match := true
		for j, s := range starts {
			if int(binary.LittleEndian.Uint16(p[pos+2*j:])) != s {
				match = false
				break
			}
		}
		if match && crc32c.Checksum(p[:end]) == binary.LittleEndian.Uint32(p[end:]) {
			return p[:pos], end + 4, true
		}
	}
	return nil, 0, false
}

// blockEntries strips the offsets array and its length from a checked
// block body.
func blockEntries(body []byte) ([]byte, bool) {
	if len(body) < 2 {
		return nil, false
	}
	n := int(binary.LittleEndian.Uint16(body[len(body)-2:]))
	if n == 0 || 2+2*n > len(body) {
		return nil, false
	}
	return body[:len(body)-2-2*n], true
}

// blockOps appends the entries of a checked block starting at off.
func blockOps(ops []entry.Op, lost []Problem, body []byte, off uint64) ([]entry.Op, []Problem) {
	for p := body; len(p) > 0; {
		op, rest, err := entry.DecodeOp(p)
		if err != nil {
			return ops, append(lost, Problem{Offset: int64(off) + int64(len(body)-len(p)), Reason: err.Error()})
		}
		ops = append(ops, op)
		p = rest
	}
	return ops, lost
}
