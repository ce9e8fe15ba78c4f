package sstable

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/bits"
	"sort"
	"sync/atomic"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/entry"
)

// Reader reads a table, either from its bytes (usually a memory mapping,
// Open) or from its file a piece at a time (OpenAt). Opening checks the
// footer and the chunk checksums. Index and filter chunks are checked
// against their CRC the first time they are touched, and remembered as
// checked (a reader of the file keeps up to 256 chunks it read, then
// starts again); data blocks likewise, or every time a reader of the file
// reads one. So a one-shot lookup reads and checks a handful of pages
// whatever the table's size. A Reader is safe for concurrent use.
type Reader struct {
	f       footer
	size    int64
	metaOff int64
	metaLen uint64
	ixLen   uint64 // length of the index entries, before their offsets
	sums    []byte
	// A mapped reader's bytes: the table and its meta region (index
	// followed by the bloom filter). Both nil for a file reader.
	data []byte
	meta []byte
	// dropPages, when set, is called by a sequential Iterator with each
	// data block of data it has left behind (SetDropPages).
	dropPages func([]byte)
	// A file reader's file, and the meta chunks it has read and checked.
	file   io.ReaderAt
	chunks chunkCache
	// The top index: entries at meta[topStart:topOffsetsAt], their u32
	// offsets (from the start of meta) at meta[topOffsetsAt:indexLen].
	topStart, topOffsetsAt uint64
	topN                   int
	// checked remembers which meta chunks and data blocks passed their
	// checksum: one bit each, in pages allocated on first use so that
	// nothing proportional to the table is built at open.
	checkedMeta   bitset
	checkedBlocks bitset
	// A long-lived reader builds, after prefixIndexAfter lookups, a
	// compact in-memory array of each block's key prefix, so that a
	// lookup's index search touches one array instead of two places of
	// the mapped index per step. One-shot readers never build it.
	lookups  atomic.Int64
	prefixes atomic.Pointer[prefixIndex]
	// budget, when set, is charged indexBytes for the indexes built.
	budget     *IndexBudget
	indexBytes int64
}

// SetDropPages has a mapped reader's iterators call drop with each data
// block they leave behind when they move on to the next: a filesystem's
// vfs.PageDropper, so that a scan of a mapped table does not keep every
// page it read resident. Only for data that Map mapped; never for bytes
// in the Go heap.
func (r *Reader) SetDropPages(drop func([]byte)) {
	if r.data != nil {
		r.dropPages = drop
	}
}

// Open validates the footer and the checksum array of a table held in data.
// data must stay valid and unmodified while the Reader is used.
func Open(data []byte) (*Reader, error) {
	f, err := decodeFooter(data)
	if err != nil {
		return nil, err
	}
	r, err := newReader(f, int64(len(data)), data[f.dataLen+f.indexLen+f.bloomLen:uint64(len(data))-f.size()])
	if err != nil {
		return nil, err
	}
	r.data = data
	r.meta = data[r.metaOff : uint64(r.metaOff)+r.metaLen]
	r.checkedMeta.init(int(chunkCount(r.metaLen)))
	r.checkedBlocks.init(int(f.blocks))
	return r, nil
}

// newReader returns a reader of the table that f, a checked footer,
// describes, once sums (its chunk checksum array) pass their checksum.
func newReader(f footer, size int64, sums []byte) (*Reader, error) {
	metaLen := f.indexLen + f.bloomLen
	if crc32c.Checksum(sums) != f.sumsCRC {
		return nil, corrupt(int64(f.dataLen+metaLen), "chunk checksum array damaged")
	}
	lower := f.indexLen - uint64(f.topLen) // decodeFooter checked both fit
	topN := f.topEntries()
	r := &Reader{
		f: f, size: size, metaOff: int64(f.dataLen), metaLen: metaLen,
		ixLen: lower - 4*f.blocks, sums: sums,
		topStart:     lower,
		topOffsetsAt: f.indexLen - 4*topN,
		topN:         int(topN),
	}
	return r, nil
}

// Cover returns the revisions the table stands for: every write with a
// revision in [lo, hi] went into the rewrite that made the table, which
// kept it or dropped it as superseded. (0, 0) when the table records no
// cover (versions 1 and 2).
func (r *Reader) Cover() (lo, hi uint64) { return r.f.coverLo, r.f.coverHi }

// Version is the table's format version.
func (r *Reader) Version() uint32 { return r.f.version }

// Entries is the number of entries in the table (tombstones included).
func (r *Reader) Entries() uint64 { return r.f.entries }

// Blocks is the number of data blocks.
func (r *Reader) Blocks() uint64 { return r.f.blocks }

// Size is the table's size in bytes.
func (r *Reader) Size() int64 { return r.size }

// metaAt returns the n bytes of the meta region at off, checked.
func (r *Reader) metaAt(off, n uint64) ([]byte, error) {
	if r.file != nil {
		return r.readMeta(off, n)
	}
	if err := r.checkMeta(off, n); err != nil {
		return nil, err
	}
	return r.meta[off : off+n], nil
}

// peekMeta returns the n bytes of the meta region at off, which a mapped
// reader does not check: for reading a length that only bounds what is
// then checked.
func (r *Reader) peekMeta(off, n uint64) ([]byte, error) {
	if r.file != nil {
		return r.readMeta(off, n)
	}
	return r.meta[off : off+n], nil
}

// checkMeta verifies the chunks of a mapped reader covering
// meta[off:off+n].
func (r *Reader) checkMeta(off, n uint64) error {
	if n == 0 {
		return nil
	}
	for c := off / ChunkSize; c <= (off+n-1)/ChunkSize; c++ {
		if r.checkedMeta.has(int(c)) {
			continue
		}
		end := min((c+1)*ChunkSize, r.metaLen)
		if err := r.checkChunk(c, r.meta[c*ChunkSize:end]); err != nil {
			return err
		}
		r.checkedMeta.set(int(c))
	}
	return nil
}

// MayContain consults the bloom filter.
func (r *Reader) MayContain(key []byte) (bool, error) {
	return r.mayContainHash(Hash(key))
}

// checkChunk checks b, the bytes of meta chunk c.
func (r *Reader) checkChunk(c uint64, b []byte) error {
	if crc32c.Checksum(b) != binary.LittleEndian.Uint32(r.sums[c*4:]) {
		return corrupt(r.metaOff+int64(c*ChunkSize), "index/filter chunk checksum mismatch")
	}
	return nil
}

func (r *Reader) mayContainHash(h uint64) (bool, error) {
	blocks := int(r.f.bloomLen / bloomBlockSize)
	b, base, step := bloomLocate(h, blocks)
	blk, err := r.metaAt(r.f.indexLen+uint64(b*bloomBlockSize), bloomBlockSize)
	if err != nil {
		return false, err
	}
	return bloomMayContain(blk, base, step), nil
}

// blockHandle is one index entry.
type blockHandle struct {
	lastKey     []byte
	offset, len uint64
}

// indexEntry decodes the i-th index entry, checking its bytes.
func (r *Reader) indexEntry(i int) (blockHandle, error) {
	posOff := r.ixLen + uint64(i)*4
	b, err := r.metaAt(posOff, 4)
	if err != nil {
		return blockHandle{}, err
	}
	pos := uint64(binary.LittleEndian.Uint32(b))
	bad := func(what string) error {
		return corrupt(r.metaOff+int64(pos), "index entry %d: %s", i, what)
	}
	if pos >= r.ixLen {
		return blockHandle{}, corrupt(r.metaOff+int64(posOff), "index entry %d points outside the index", i)
	}
	// Read the key length unchecked (it is only used to bound the span),
	// then check exactly the bytes the entry spans: one or two chunks per
	// lookup step, not a key's worth of them.
	rest := r.ixLen - pos
	head, err := r.peekMeta(pos, min(rest, binary.MaxVarintLen64))
	if err != nil {
		return blockHandle{}, err
	}
	kl, n := binary.Uvarint(head)
	if n <= 0 || kl == 0 || kl > entry.MaxKeySize || kl > rest-uint64(n) {
		if _, err := r.metaAt(pos, uint64(len(head))); err != nil {
			return blockHandle{}, err
		}
		return blockHandle{}, bad("bad key length")
	}
	p, err := r.metaAt(pos, min(rest, uint64(n)+kl+2*binary.MaxVarintLen64))
	if err != nil {
		return blockHandle{}, err
	}
	key := p[n : n+int(kl)]
	p = p[n+int(kl):]
	off, n := binary.Uvarint(p)
	if n <= 0 {
		return blockHandle{}, bad("bad block offset")
	}
	p = p[n:]
	ln, n := binary.Uvarint(p)
	if n <= 0 {
		return blockHandle{}, bad("bad block length")
	}
	if ln < 5 || off > r.f.dataLen || ln > r.f.dataLen-off {
		return blockHandle{}, bad("block outside the data region")
	}
	return blockHandle{lastKey: key, offset: off, len: ln}, nil
}

// block returns the entries of block i (without its offsets and CRC),
// checked.
func (r *Reader) block(i int) ([]byte, blockHandle, error) {
	entries, _, h, err := r.blockWithStarts(i)
	return entries, h, err
}

// blockWithStarts returns block i's entries and its array of entry
// offsets (little-endian uint16 each), checked.
func (r *Reader) blockWithStarts(i int) (entries, starts []byte, h blockHandle, err error) {
	if px := r.prefixes.Load(); px != nil {
		h.offset, h.len = px.spans[i].offset, px.spans[i].len
	} else if h, err = r.indexEntry(i); err != nil {
		return nil, nil, h, err
	}
	var b []byte
	if r.file != nil {
		// Read afresh each time, so checked each time.
		b = make([]byte, h.len)
		if err := r.readAt(b, int64(h.offset)); err != nil {
			return nil, nil, h, err
		}
	} else {
		b = r.data[h.offset : h.offset+h.len]
	}
	body := b[:len(b)-4]
	if r.file != nil || !r.checkedBlocks.has(i) {
		if crc32c.Checksum(body) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
			return nil, nil, h, corrupt(int64(h.offset), "data block %d checksum mismatch", i)
		}
		if r.file == nil {
			r.checkedBlocks.set(i)
		}
	}
	if len(body) < 2 {
		return nil, nil, h, corrupt(int64(h.offset), "data block %d too short", i)
	}
	n := int(binary.LittleEndian.Uint16(body[len(body)-2:]))
	if n == 0 || 2+2*n > len(body) {
		return nil, nil, h, corrupt(int64(h.offset), "data block %d: entry count %d does not fit", i, n)
	}
	end := len(body) - 2 - 2*n
	return body[:end], body[end : len(body)-2], h, nil
}

// seekBlock returns the first block whose last key is >= key, or Blocks()
// when there is none.
func (r *Reader) seekBlock(key []byte) (int, error) {
	lo, hi := 0, int(r.f.blocks)
	if px := r.prefixIndex(); px != nil {
		lo, hi = px.narrow(key)
	} else if r.topN > 1 {
		// The first top entry >= key closes the TopStride blocks that
		// hold the answer; none means the key is above the table.
		if r.file != nil {
			if err := r.prefetch(r.topStart, r.f.indexLen-r.topStart); err != nil {
				return 0, err
			}
		}
		j, err := searchKeys(0, r.topN, r.topKey, key)
		if err != nil || j == r.topN {
			return int(r.f.blocks), err
		}
		lo, hi = j*TopStride, min((j+1)*TopStride, hi)
	}
	return searchKeys(lo, hi, r.indexKey, key)
}

// searchKeys returns the first i in [lo, hi) whose keyAt(i) >= key, or hi.
func searchKeys(lo, hi int, keyAt func(int) ([]byte, error), key []byte) (int, error) {
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		k, err := keyAt(mid)
		if err != nil {
			return 0, err
		}
		if bytes.Compare(k, key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// topKey decodes the j-th top index entry, checking its bytes.
func (r *Reader) topKey(j int) ([]byte, error) {
	posOff := r.topOffsetsAt + uint64(j)*4
	b, err := r.metaAt(posOff, 4)
	if err != nil {
		return nil, err
	}
	pos := uint64(binary.LittleEndian.Uint32(b))
	if pos < r.topStart || pos >= r.topOffsetsAt {
		return nil, corrupt(r.metaOff+int64(posOff), "top index entry %d points outside the top index", j)
	}
	rest := r.topOffsetsAt - pos
	head, err := r.metaAt(pos, min(rest, binary.MaxVarintLen64))
	if err != nil {
		return nil, err
	}
	kl, n := binary.Uvarint(head)
	if n <= 0 || kl == 0 || kl > entry.MaxKeySize || kl > rest-uint64(n) {
		return nil, corrupt(r.metaOff+int64(pos), "top index entry %d: bad key length", j)
	}
	p, err := r.metaAt(pos, uint64(n)+kl)
	if err != nil {
		return nil, err
	}
	return p[n:], nil
}

// prefixIndexAfter is the number of lookups after which a reader builds
// its prefix index: enough that one-shot processes never pay for it.
const prefixIndexAfter = 4096

// prefixIndex holds the first 16 bytes of every block's last key,
// big-endian and zero-padded, so comparing two entries compares the keys'
// prefixes in byte order.
type prefixIndex struct {
	keys []prefix
	// groups[g] is the last of keys[g*prefixGroup:][:prefixGroup]: a
	// search of keys walks groups, small enough to stay in the processor's
	// cache, and then reads one group's few contiguous cache lines at
	// once, instead of a dozen lines of keys one after the other.
	groups []prefix
	// spans are the blocks' offsets and lengths, decoded once, so that a
	// lookup reads neither the offsets array nor the index entry.
	spans []blockSpan
	// cached[i] is cacheReady once every key of block i is in keyIndex,
	// which is nil for a table too large for it (see keyIndex).
	cached   []atomic.Uint32
	keyIndex *keyIndex
}

// blockSpan is where a data block lies.
type blockSpan struct{ offset, len uint64 }

// prefix is the first 16 bytes of a key as two big-endian words, side by
// side so that a search step reads one cache line, not one per word.
type prefix struct{ hi, lo uint64 }

func keyPrefix(k []byte) (hi, lo uint64) {
	var p [16]byte
	copy(p[:], k)
	return binary.BigEndian.Uint64(p[:8]), binary.BigEndian.Uint64(p[8:])
}

func prefixLess(ah, al, bh, bl uint64) bool { return ah < bh || (ah == bh && al < bl) }

// prefixGroup is the number of blocks in a group of the prefix index: four
// cache lines of prefixes.
const prefixGroup = 16

// below is 1 when p sorts before the prefix (kh, kl), else 0: the borrow
// of a 128-bit subtraction, so that searches add it rather than branch on
// it (which side a random key falls on is a coin toss, and a mispredicted
// branch costs more than a probe).
func below(p prefix, kh, kl uint64) int {
	_, borrow := bits.Sub64(p.lo, kl, 0)
	_, borrow = bits.Sub64(p.hi, kh, borrow)
	return int(borrow)
}

// lowerBound returns the first i with keys[i] >= (kh, kl), or len(keys).
func lowerBound(keys []prefix, kh, kl uint64) int {
	if len(keys) == 0 {
		return 0
	}
	base, size := 0, len(keys)
	for size > 1 {
		half := size / 2
		base += half & -below(keys[base+half-1], kh, kl)
		size -= half
	}
	return base + below(keys[base], kh, kl)
}

// countLess returns how many of keys sort before (kh, kl); for sorted
// keys, the same as lowerBound, but its loads do not wait for each other.
func countLess(keys []prefix, kh, kl uint64) int {
	n := 0
	for _, p := range keys {
		n += below(p, kh, kl)
	}
	return n
}

// fillGroups sets groups from keys.
func (px *prefixIndex) fillGroups() {
	for g := range px.groups {
		px.groups[g] = px.keys[min(g*prefixGroup+prefixGroup, len(px.keys))-1]
	}
}

// narrow returns the range of blocks whose last-key prefix equals the
// key's; the first block whose last key is >= key lies in [lo, hi] (hi
// included when every prefix in range ties), so the caller finishes the
// search over full keys in [lo, hi), usually empty or one block wide.
func (px *prefixIndex) narrow(key []byte) (lo, hi int) {
	kh, kl := keyPrefix(key)
	keys := px.keys
	n := len(keys)
	if n == 0 {
		return 0, 0
	}
	// The first block >= key is in the first group whose last block is
	// >= key, at as many places in as the group has blocks < key.
	if g := lowerBound(px.groups, kh, kl); g == len(px.groups) {
		lo = n
	} else {
		start := g * prefixGroup
		lo = start + countLess(keys[start:min(start+prefixGroup, n)], kh, kl)
	}
	// Blocks whose last-key prefix ties with the key's are few, usually
	// none: gallop over them rather than search the rest of the array.
	hi, next, step := lo, lo, 1
	for next < n && !prefixLess(kh, kl, keys[next].hi, keys[next].lo) {
		hi = next + 1
		next = lo + step
		step *= 2
	}
	end := min(next, n)
	hi += sort.Search(end-hi, func(i int) bool { return prefixLess(kh, kl, keys[hi+i].hi, keys[hi+i].lo) })
	return lo, hi
}

// prefixIndex returns the reader's prefix index, building it once the
// reader has served prefixIndexAfter lookups (nil before, or if the index
// could not be read: the plain search then reports the damage).
func (r *Reader) prefixIndex() *prefixIndex {
	if px := r.prefixes.Load(); px != nil || r.file != nil {
		// A file reader has none: its key index would read entries
		// from the mapping.
		return px
	}
	if r.lookups.Add(1) != prefixIndexAfter {
		return nil
	}
	n := int(r.f.blocks)
	groups := (n + prefixGroup - 1) / prefixGroup
	// What the arrays below take: a prefix and a span (16 bytes each) and
	// a flag (4) a block, a prefix a group.
	cost := int64(n)*36 + int64(groups)*16
	if r.budget != nil && !r.budget.take(cost) {
		return nil
	}
	r.indexBytes = cost
	px := &prefixIndex{
		keys:   make([]prefix, n),
		groups: make([]prefix, groups),
		spans:  make([]blockSpan, n),
		cached: make([]atomic.Uint32, n),
	}
	if slots := keyIndexSlots(r.f.entries, r.f.dataLen, uint64(len(r.data))); slots > 0 {
		if r.budget == nil || r.budget.take(int64(slots)*8) {
			px.keyIndex = &keyIndex{slots: make([]atomic.Uint64, slots)}
			r.indexBytes += int64(slots) * 8
		}
	}
	for i := 0; i < n; i++ {
		h, err := r.indexEntry(i)
		if err != nil {
			r.releaseIndex()
			return nil
		}
		px.keys[i].hi, px.keys[i].lo = keyPrefix(h.lastKey)
		px.spans[i] = blockSpan{h.offset, h.len}
	}
	px.fillGroups()
	r.prefixes.Store(px)
	return px
}

// releaseIndex gives the bytes of the reader's indexes back to its
// budget.
func (r *Reader) releaseIndex() {
	if r.budget != nil {
		r.budget.give(r.indexBytes)
	}
	r.indexBytes = 0
}

// indexKey is the last key of block i, from its index entry, checked
// whole: a search judges the entries it passes through the same way
// whatever the reader read before, and whether it maps the table or not.
// (A long-lived reader's searches go through its prefix index instead.)
func (r *Reader) indexKey(i int) ([]byte, error) {
	h, err := r.indexEntry(i)
	return h.lastKey, err
}

// Get looks key up. found is false when the table holds no entry for it;
// a tombstone is found, with Kind entry.KindDelete.
func (r *Reader) Get(key []byte) (op entry.Op, found bool, err error) {
	return r.get(key, false)
}

// GetLikelyPresent is Get for a lookup that usually finds its key, such as
// one in the oldest table of a store, which the lookups of keys in newer
// tables never reach. A long-lived reader looks the key up in its key
// index first, before the bloom filter: one cache miss fewer for a key
// that is there, one more for one that is not (RandomGet and
// RandomGetAbsent in pkg/kv measure both).
func (r *Reader) GetLikelyPresent(key []byte) (op entry.Op, found bool, err error) {
	return r.get(key, true)
}

func (r *Reader) get(key []byte, likelyPresent bool) (op entry.Op, found bool, err error) {
	if r.f.blocks == 0 {
		return op, false, nil
	}
	hash := Hash(key)
	if px := r.prefixes.Load(); likelyPresent && px != nil && px.keyIndex != nil {
		if op, found, err = px.keyIndex.find(r, key, hash); found || err != nil {
			return op, found, err
		}
	}
	ok, err := r.mayContainHash(hash)
	if err != nil || !ok {
		return op, false, err
	}
	i, err := r.seekBlock(key)
	if err != nil || i >= int(r.f.blocks) {
		return op, false, err
	}
	// Loaded after seekBlock, which may have just built it.
	px := r.prefixes.Load()
	if px != nil && px.ready(i) {
		// Every key of block i is in the index (see cacheBlock), so a key
		// the index lacks is not in the block. (GetLikelyPresent probed
		// already, but maybe before the block was ready: only a probe
		// after seeing it ready may answer "absent".)
		return px.keyIndex.find(r, key, hash)
	}
	entries, starts, h, err := r.blockWithStarts(i)
	if err != nil {
		return op, false, err
	}
	if px != nil && px.cacheBlock(i, h.offset, entries, starts) {
		return px.keyIndex.find(r, key, hash)
	}
	// Binary-search the entry offsets, comparing keys without decoding
	// values; decode in full only the entry found.
	n := len(starts) / 2
	at := func(j int) ([]byte, error) {
		off := int(binary.LittleEndian.Uint16(starts[2*j:]))
		if off >= len(entries) {
			return nil, corrupt(int64(h.offset), "data block %d: entry %d starts outside the block", i, j)
		}
		return entries[off:], nil
	}
	lo, hi := 0, n
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		p, err := at(mid)
		if err != nil {
			return op, false, err
		}
		k, _, ok := skipEntry(p)
		if !ok {
			_, _, derr := entry.DecodeOp(p)
			return op, false, corrupt(int64(h.offset)+int64(len(entries)-len(p)), "entry: %v", derr)
		}
		if bytes.Compare(k, key) < 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	if lo == n {
		return op, false, nil
	}
	p, err := at(lo)
	if err != nil {
		return op, false, err
	}
	e, _, derr := entry.DecodeOp(p)
	if derr != nil {
		return op, false, corrupt(int64(h.offset)+int64(len(entries)-len(p)), "entry: %v", derr)
	}
	if !bytes.Equal(e.Key, key) {
		return op, false, nil
	}
	return e, true, nil
}

// skipEntry returns the key of the entry at the front of p and what
// follows the entry, without decoding its value; ok is false when the
// entry is malformed (wal.DecodeOp then says how).
func skipEntry(p []byte) (key, rest []byte, ok bool) {
	if len(p) < 2 {
		return nil, nil, false
	}
	kind := entry.Kind(p[0] &^ entry.RevFlag)
	hasRev := p[0]&entry.RevFlag != 0
	kl, n := binary.Uvarint(p[1:])
	if n <= 0 || kl == 0 || kl > entry.MaxKeySize || kl > uint64(len(p)-1-n) {
		return nil, nil, false
	}
	key = p[1+n : 1+n+int(kl)]
	rest = p[1+n+int(kl):]
	switch kind {
	case entry.KindDelete:
	case entry.KindSet, entry.KindSetExpiring:
		vl, m := binary.Uvarint(rest)
		if m <= 0 || vl > entry.MaxValueSize || vl > uint64(len(rest)-m) {
			return nil, nil, false
		}
		rest = rest[m+int(vl):]
		if kind == entry.KindSetExpiring {
			if len(rest) < 8 {
				return nil, nil, false
			}
			rest = rest[8:]
		}
	default:
		return nil, nil, false
	}
	if hasRev {
		rev, m := binary.Uvarint(rest)
		if m <= 0 || rev == 0 {
			return nil, nil, false
		}
		rest = rest[m:]
	}
	return key, rest, true
}

// bitset is a set of small integers stored one bit each, in pages of 4096
// bits allocated on first use; safe for concurrent use.
type bitset struct {
	pages []atomic.Pointer[[64]uint64]
}

func (b *bitset) init(n int) {
	b.pages = make([]atomic.Pointer[[64]uint64], (n+4095)/4096)
}

func (b *bitset) has(i int) bool {
	p := b.pages[i>>12].Load()
	return p != nil && atomic.LoadUint64(&p[(i>>6)&63])&(1<<(i&63)) != 0
}

func (b *bitset) set(i int) {
	slot := &b.pages[i>>12]
	p := slot.Load()
	if p == nil {
		slot.CompareAndSwap(nil, new([64]uint64))
		p = slot.Load()
	}
	w := &p[(i>>6)&63]
	for {
		old := atomic.LoadUint64(w)
		if old&(1<<(i&63)) != 0 || atomic.CompareAndSwapUint64(w, old, old|1<<(i&63)) {
			return
		}
	}
}
