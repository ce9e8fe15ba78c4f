package sstable

import (
	"errors"
	"fmt"
	"io"
	"sync"
)

// A one-shot process reads a few pages of a table, and mapping the table
// costs it more than reading them: the mmap call, a page fault for every
// place a lookup touches (each mapping up to 16 neighbouring pages), and,
// at munmap, a flush of the mapping's translations on every processor the
// process ran on, one interprocessor interrupt each, and a trap each in a
// virtual machine (docs/FIGURES.md). A reader opened with OpenAt reads the
// footer and the checksum array in one pread, every chunk or block it
// needs with one pread each (the top index's few chunks with one for all
// of them), and maps nothing.

// tailRead is what OpenAt reads of a table's end in one call: the footer
// and the chunk checksum array of any table whose index and filter are
// under 4 MiB (about two million keys).
const tailRead = 4096

// maxCachedChunks bounds the meta chunks a file reader keeps (1 MiB): a
// few lookups' worth of top index, index and filter. Past it, the cache
// starts again empty. (A variable so that tests can make it overflow.)
var maxCachedChunks = 256

// maxPrefetch bounds the chunks covering the top index that a file reader
// reads on its first search of it, in one call rather than one at a time
// as the search goes (about four chunks for a table of a million keys).
const maxPrefetch = 16 * ChunkSize

// chunkPool recycles the buffers of file readers' chunks: a process that
// opens tables over and over would otherwise hand the garbage collector
// a dozen of them for every lookup.
var chunkPool = sync.Pool{New: func() any { return new([ChunkSize]byte) }}

// prefetchPool recycles prefetch's buffers.
var prefetchPool = sync.Pool{New: func() any { return new([maxPrefetch]byte) }}

// chunkCache holds a file reader's meta chunks that passed their checksum.
type chunkCache struct {
	mu     sync.Mutex
	chunks []cachedChunk
	// dropped is set once the cache has started again empty: the buffers
	// it dropped may still be read, so none is recycled after that.
	dropped bool
}

type cachedChunk struct {
	c   uint64
	buf *[ChunkSize]byte
	n   int
}

func (cc *chunkCache) find(c uint64) []byte {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, ch := range cc.chunks {
		if ch.c == c {
			return ch.buf[:ch.n]
		}
	}
	return nil
}

// add enters chunk c, read into buf, and returns its bytes: those of the
// copy another lookup entered first, if one did.
func (cc *chunkCache) add(c uint64, buf *[ChunkSize]byte, n int) []byte {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for _, ch := range cc.chunks {
		if ch.c == c {
			chunkPool.Put(buf)
			return ch.buf[:ch.n]
		}
	}
	if len(cc.chunks) >= maxCachedChunks {
		cc.chunks, cc.dropped = nil, true
	}
	cc.chunks = append(cc.chunks, cachedChunk{c, buf, n})
	return buf[:n]
}

// OpenAt validates the footer and the checksum array of the table of size
// bytes in file, and returns a reader that reads the rest with file.ReadAt
// as it needs it, never mapping the file: the cheaper way to make a few
// lookups. file must stay open and unmodified while the Reader is used.
func OpenAt(file io.ReaderAt, size int64) (*Reader, error) {
	if size < footerSizeV2 {
		return nil, corrupt(0, "file of %d bytes is shorter than a table footer", size)
	}
	buf := chunkPool.Get().(*[ChunkSize]byte)
	defer chunkPool.Put(buf)
	tail := buf[:min(size, tailRead)]
	tailOff := size - int64(len(tail))
	if err := readFull(file, tail, tailOff); err != nil {
		return nil, err
	}
	f, err := decodeFooterOf(tail, uint64(size))
	if err != nil {
		return nil, err
	}
	sumsOff := int64(f.dataLen + f.indexLen + f.bloomLen)
	sums := make([]byte, size-int64(f.size())-sumsOff)
	if sumsOff >= tailOff {
		copy(sums, tail[sumsOff-tailOff:])
	} else if err := readFull(file, sums, sumsOff); err != nil {
		return nil, err
	}
	r, err := newReader(f, size, sums)
	if err != nil {
		return nil, err
	}
	r.file = file
	return r, nil
}

// Close lets a file reader's buffers be reused and gives the bytes of the
// reader's indexes back to its budget (SetIndexBudget). Neither the
// Reader nor anything read from it may be used after.
func (r *Reader) Close() {
	r.releaseIndex()
	cc := &r.chunks
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if !cc.dropped {
		for _, ch := range cc.chunks {
			chunkPool.Put(ch.buf)
		}
	}
	cc.chunks = nil
}

// readAt fills p from the table at off.
func (r *Reader) readAt(p []byte, off int64) error { return readFull(r.file, p, off) }

// readFull fills p from file at off; a table that ends before is damage.
func readFull(file io.ReaderAt, p []byte, off int64) error {
	n, err := file.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return corrupt(off+int64(n), "table ends at offset %d, inside the %d bytes read from offset %d", off+int64(n), len(p), off)
	}
	return fmt.Errorf("read table at offset %d: %w", off, err)
}

// readMeta is metaAt for a file reader: the n bytes at off, from the
// chunks that cover them, each read and checked once.
func (r *Reader) readMeta(off, n uint64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	first, last := off/ChunkSize, (off+n-1)/ChunkSize
	if first == last {
		b, err := r.chunk(first)
		if err != nil {
			return nil, err
		}
		at := off - first*ChunkSize
		return b[at : at+n], nil
	}
	out := make([]byte, 0, n)
	for c := first; c <= last; c++ {
		b, err := r.chunk(c)
		if err != nil {
			return nil, err
		}
		start := c * ChunkSize
		out = append(out, b[max(off, start)-start:min(off+n, start+uint64(len(b)))-start]...)
	}
	return out, nil
}

// chunk returns meta chunk c of a file reader, checked.
func (r *Reader) chunk(c uint64) ([]byte, error) {
	if b := r.chunks.find(c); b != nil {
		return b, nil
	}
	start := c * ChunkSize
	buf := chunkPool.Get().(*[ChunkSize]byte)
	b := buf[:min(ChunkSize, r.metaLen-start)]
	if err := r.readAt(b, r.metaOff+int64(start)); err != nil {
		chunkPool.Put(buf)
		return nil, err
	}
	if err := r.checkChunk(c, b); err != nil {
		chunkPool.Put(buf)
		return nil, err
	}
	return r.chunks.add(c, buf, len(b)), nil
}

// prefetch enters in the cache the chunks covering the n bytes of the
// meta region at off, reading them in one call, unless there are more
// than maxPrefetch of them or the first is cached already. A chunk that
// fails its checksum is left out, for chunk to read again and report when
// a lookup reaches it, as a mapped reader would; a read that fails is
// reported.
func (r *Reader) prefetch(off, n uint64) error {
	if n == 0 {
		return nil
	}
	first, last := off/ChunkSize, (off+n-1)/ChunkSize
	if first == last || (last-first+1)*ChunkSize > maxPrefetch || r.chunks.find(first) != nil {
		return nil
	}
	buf := prefetchPool.Get().(*[maxPrefetch]byte)
	defer prefetchPool.Put(buf)
	span := buf[:min((last+1)*ChunkSize, r.metaLen)-first*ChunkSize]
	if err := r.readAt(span, r.metaOff+int64(first*ChunkSize)); err != nil {
		return err
	}
	for c := first; c <= last; c++ {
		b := span[(c-first)*ChunkSize : min((c-first+1)*ChunkSize, uint64(len(span)))]
		if r.checkChunk(c, b) != nil {
			continue
		}
		buf := chunkPool.Get().(*[ChunkSize]byte)
		r.chunks.add(c, buf, copy(buf[:], b))
	}
	return nil
}
