package kv

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"slices"

	"github.com/kvtool/kv/pkg/wal"
)

// sortBatch returns a batch's operations in key order with only the last
// operation on each key kept, without the cost of a map. It sorts compact
// records holding the first 16 bytes of each key, so most of the work
// touches no key at all; among keys equal in those bytes, whole keys
// decide, and among equal keys the position in the batch, so the last
// operation on a key wins.
func sortBatch(ops []wal.Op) []wal.Op { return sortBatchInto(nil, ops) }

// sortBatchInto is sortBatch writing its result into dst[:0], which it
// grows if too small.
func sortBatchInto(dst, ops []wal.Op) []wal.Op {
	keys := make([]sortKey, len(ops))
	for i, op := range ops {
		var p [16]byte
		copy(p[:], op.Key)
		keys[i] = sortKey{binary.BigEndian.Uint64(p[:8]), binary.BigEndian.Uint64(p[8:]), int32(i)}
	}
	keys = sortByPrefix(keys)
	// Equal 16-byte prefixes: the whole keys decide (a key shorter than 16
	// bytes is zero-padded, so "a" and "a\x00" need this too), and the
	// sort being stable, equal keys stay in batch order.
	for start := 0; start < len(keys); {
		end := start + 1
		for end < len(keys) && keys[end].hi == keys[start].hi && keys[end].lo == keys[start].lo {
			end++
		}
		if end-start > 1 {
			slices.SortStableFunc(keys[start:end], func(a, b sortKey) int {
				return bytes.Compare(ops[a.i].Key, ops[b.i].Key)
			})
		}
		start = end
	}
	out := slices.Grow(dst[:0], len(ops))
	for i, k := range keys {
		// Different prefixes mean different keys; only equal ones need
		// the keys themselves, which lie scattered in memory.
		if i+1 < len(keys) {
			next := keys[i+1]
			if k.hi == next.hi && k.lo == next.lo && bytes.Equal(ops[k.i].Key, ops[next.i].Key) {
				continue
			}
		}
		out = append(out, ops[k.i])
	}
	return out
}

// sortKey is an operation of a batch being sorted: the first 16 bytes of
// its key, zero-padded, as two big-endian numbers, and its position in
// the batch. An int32 position (and int32 counts in sortByPrefix) limit a
// batch to 2^31-1 operations, which would take 120 GiB of wal.Op alone.
type sortKey struct {
	hi, lo uint64
	i      int32
}

// radixMin is the size from which sortByPrefix sorts by radix: below it
// a comparison sort is as fast.
const radixMin = 256

// sortByPrefix sorts keys by (hi, lo) and keeps batch order among equal
// ones. It is a least-significant-byte-first radix sort: one pass counts
// every byte position, then one stable scatter per position, skipping
// the positions where all keys hold the same byte (the shared prefix of
// keys such as key0000000042), which a comparison sort compares again and
// again (BenchmarkSortBatch; docs/FIGURES.md). It returns keys or a slice
// of the same length holding the result.
func sortByPrefix(keys []sortKey) []sortKey {
	if len(keys) < radixMin {
		slices.SortFunc(keys, func(a, b sortKey) int {
			return cmp.Or(cmp.Compare(a.hi, b.hi), cmp.Compare(a.lo, b.lo), cmp.Compare(a.i, b.i))
		})
		return keys
	}
	var counts [16][256]int32
	for _, k := range keys {
		for b := range 8 {
			counts[b][byte(k.lo>>(8*b))]++
			counts[8+b][byte(k.hi>>(8*b))]++
		}
	}
	src, dst := keys, make([]sortKey, len(keys))
	for pos := range 16 {
		c := &counts[pos]
		if int(c[digit(src[0], pos)]) == len(src) {
			continue // every key has this byte
		}
		var next [256]int32
		var sum int32
		for v := range 256 {
			next[v] = sum
			sum += c[v]
		}
		for _, k := range src {
			d := digit(k, pos)
			dst[next[d]] = k
			next[d]++
		}
		src, dst = dst, src
	}
	return src
}

// digit is byte pos of k's prefix, counting from the least significant.
func digit(k sortKey, pos int) byte {
	if pos < 8 {
		return byte(k.lo >> (8 * pos))
	}
	return byte(k.hi >> (8 * (pos - 8)))
}
