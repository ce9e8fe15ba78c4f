package sstable

import (
	"bytes"
	"errors"

	"github.com/kvtool/kv/pkg/wal"
)

// Problem is one defect Verify found.
type Problem struct {
	Offset int64
	Reason string
}

// Verify checks every byte of the table: every chunk and block checksum,
// every entry's encoding, strict key order within and across blocks, that
// the index matches the blocks, that the blocks tile the data region, the
// entry count, and that the filter admits every key. It reports each
// problem it finds and never stops at the first.
func Verify(data []byte) []Problem {
	r, err := Open(data)
	if err != nil {
		return []Problem{asProblem(err)}
	}
	var probs []Problem
	add := func(err error) {
		probs = append(probs, asProblem(err))
	}
	for c := 0; c < int(chunkCount(uint64(len(r.meta)))); c++ {
		if err := r.checkMeta(uint64(c)*ChunkSize, 1); err != nil {
			add(err)
		}
	}
	var prev []byte
	var entries, next uint64
	for i := 0; i < int(r.f.blocks); i++ {
		h, err := r.indexEntry(i)
		if err != nil {
			add(err)
			continue
		}
		if h.offset != next {
			add(corrupt(int64(h.offset), "data block %d does not start where block %d ended (%d)", i, i-1, next))
		}
		next = h.offset + h.len
		body, _, err := r.block(i)
		if err != nil {
			add(err)
			prev = nil
			continue
		}
		var last []byte
		p := body
		for len(p) > 0 {
			op, rest, err := wal.DecodeOp(p)
			at := int64(h.offset) + int64(len(body)-len(p))
			if err != nil {
				add(corrupt(at, "entry: %v", err))
				break
			}
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
		if last != nil && !bytes.Equal(last, h.lastKey) {
			add(corrupt(int64(h.offset), "index key of block %d differs from its last key", i))
		}
	}
	if next != r.f.dataLen {
		add(corrupt(int64(next), "data blocks end at %d, data region at %d", next, r.f.dataLen))
	}
	if entries != r.f.entries && len(probs) == 0 {
		add(corrupt(int64(len(data)-FooterSize), "footer counts %d entries, blocks hold %d", r.f.entries, entries))
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
// repair; damaged blocks are skipped and reported.
func Salvage(data []byte) (ops []wal.Op, lost []Problem) {
	r, err := Open(data)
	if err != nil {
		return nil, []Problem{asProblem(err)}
	}
	for i := 0; i < int(r.f.blocks); i++ {
		body, h, err := r.block(i)
		if err != nil {
			lost = append(lost, asProblem(err))
			continue
		}
		p := body
		for len(p) > 0 {
			op, rest, err := wal.DecodeOp(p)
			if err != nil {
				lost = append(lost, Problem{Offset: int64(h.offset) + int64(len(body)-len(p)), Reason: err.Error()})
				break
			}
			ops = append(ops, op)
			p = rest
		}
	}
	return ops, lost
}
