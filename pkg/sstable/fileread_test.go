package sstable

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/kvtool/kv/pkg/entry"
)

// countingReader is a table file that counts its reads and can fail them.
type countingReader struct {
	data         []byte
	reads, bytes atomic.Int64
	// largest is the largest read.
	largest atomic.Int64
	// failAt makes the failAt-th read (1-based) fail with EIO; 0 never.
	failAt int64
}

func (c *countingReader) ReadAt(p []byte, off int64) (int, error) {
	n := c.reads.Add(1)
	if n == c.failAt {
		return 0, syscall.EIO
	}
	c.bytes.Add(int64(len(p)))
	for {
		old := c.largest.Load()
		if int64(len(p)) <= old || c.largest.CompareAndSwap(old, int64(len(p))) {
			break
		}
	}
	return bytes.NewReader(c.data).ReadAt(p, off)
}

// openFile opens data as a file reader.
func openFile(data []byte) (*Reader, error) {
	return OpenAt(bytes.NewReader(data), int64(len(data)))
}

// errText is an error's message, "" for none.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// sameAnswers fails unless the file reader fr answers every lookup,
// filter probe, seek and the full iteration exactly as the mapped reader
// mr does, errors included: the two read the same bytes, and must judge
// them alike. It returns how many of the answers were errors.
func sameAnswers(t *testing.T, what string, mr, fr *Reader, keys [][]byte) (errs int) {
	t.Helper()
	for _, k := range keys {
		mop, mfound, merr := mr.Get(k)
		fop, ffound, ferr := fr.Get(k)
		if mfound != ffound || errText(merr) != errText(ferr) || mfound && !sameOp(mop, fop) {
			t.Fatalf("%s: Get(%q): mapped %+v %v %v, file %+v %v %v", what, k, mop, mfound, merr, fop, ffound, ferr)
		}
		if merr != nil {
			errs++
		}
		mok, merr := mr.MayContain(k)
		fok, ferr := fr.MayContain(k)
		if mok != fok || errText(merr) != errText(ferr) {
			t.Fatalf("%s: MayContain(%q): mapped %v %v, file %v %v", what, k, mok, merr, fok, ferr)
		}
		mit, fit := mr.NewIterator(), fr.NewIterator()
		mit.SeekGE(k)
		fit.SeekGE(k)
		for range 3 {
			mn, fn := mit.Next(), fit.Next()
			if mn != fn || mn && !sameOp(mit.Op(), fit.Op()) {
				t.Fatalf("%s: after SeekGE(%q): mapped %v %q, file %v %q", what, k, mn, mit.Op().Key, fn, fit.Op().Key)
			}
		}
		if errText(mit.Err()) != errText(fit.Err()) {
			t.Fatalf("%s: after SeekGE(%q): mapped %v, file %v", what, k, mit.Err(), fit.Err())
		}
	}
	mall, merr := iterate(mr)
	fall, ferr := iterate(fr)
	if len(mall) != len(fall) || errText(merr) != errText(ferr) {
		t.Fatalf("%s: iteration: mapped %d entries, %v; file %d, %v", what, len(mall), merr, len(fall), ferr)
	}
	for i := range mall {
		if !sameOp(mall[i], fall[i]) {
			t.Fatalf("%s: iteration entry %d: mapped %q, file %q", what, i, mall[i].Key, fall[i].Key)
		}
	}
	if merr != nil {
		errs++
	}
	return errs
}

// lookupKeys are the keys of ops and keys between and around them.
func lookupKeys(ops []entry.Op) [][]byte {
	keys := [][]byte{{0}, []byte("key-"), []byte("zzz")}
	for _, op := range ops {
		keys = append(keys, op.Key, append(bytes.Clone(op.Key), 0))
	}
	return keys
}

// TestFileReaderMatchesMapped: on good tables of every shape, and on the
// same tables with a byte flipped at places all over them, a reader of the
// file answers exactly as a reader of its bytes.
func TestFileReaderMatchesMapped(t *testing.T) {
	tables := []struct {
		name string
		ops  []entry.Op
		// flips: none, "all" over the table, or in the "meta" region
		// (index, filter, checksums, footer) only.
		flips string
	}{
		{"empty", nil, ""},
		{"one", []entry.Op{{Kind: entry.KindSet, Key: []byte("k"), Value: []byte("v")}}, ""},
		{"small", mixedOps(200, 21), "all"},
		// Index and filter over many chunks, entries straddling chunk
		// boundaries, a top index of a few hundred bytes.
		{"large", mixedOps(30000, 22), ""},
		// A top index over five chunks (prefetched), index entries of
		// 1 KB over hundreds.
		{"long keys", longKeyOps(5000), "meta"},
	}
	for _, tc := range tables {
		name, ops := tc.name, tc.ops
		data := build(t, ops)
		mr, err := Open(data)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := openFile(data)
		if err != nil {
			t.Fatalf("%s: OpenAt: %v", name, err)
		}
		if fr.Size() != int64(len(data)) || fr.Entries() != uint64(len(ops)) || fr.Blocks() != mr.Blocks() {
			t.Fatalf("%s: file reader: size %d, %d entries, %d blocks", name, fr.Size(), fr.Entries(), fr.Blocks())
		}
		if name == "long keys" && fr.f.indexLen-fr.topStart < 3*ChunkSize {
			t.Fatalf("%s: top index of %d bytes: the test needs several chunks", name, fr.f.indexLen-fr.topStart)
		}
		keys := lookupKeys(ops)
		if len(keys) > 3000 {
			var some [][]byte
			for i := 0; i < len(keys); i += len(keys) / 1500 {
				some = append(some, keys[i])
			}
			keys = some
		}
		sameAnswers(t, name, mr, fr, keys)
		fr.Close()
		if tc.flips == "" {
			continue
		}
		from, step := 0, (1+len(data)/600)*flipStride
		if tc.flips == "meta" {
			from = int(mr.metaOff)
			step = (1 + (len(data)-from)/200) * flipStride
		}
		flipped, refused, failed := 0, 0, 0
		var at []int
		for pos := from; pos < len(data); pos += step {
			at = append(at, pos)
		}
		for pos := len(data) - FooterSize; pos < len(data); pos += 8 {
			at = append(at, pos) // footer damage, which Open refuses
		}
		for _, pos := range at {
			bad := bytes.Clone(data)
			bad[pos] ^= 0x20
			mr, merr := Open(bad)
			fr, ferr := openFile(bad)
			if errText(merr) != errText(ferr) {
				t.Fatalf("%s, flip at %d: Open: mapped %v, file %v", name, pos, merr, ferr)
			}
			if merr != nil {
				refused++
				continue
			}
			// A third of the keys per flip keeps the test fast.
			var some [][]byte
			for i := pos % 3; i < len(keys); i += 3 {
				some = append(some, keys[i])
			}
			if sameAnswers(t, fmt.Sprintf("%s, flip at %d", name, pos), mr, fr, some) > 0 {
				failed++
			}
			flipped++
		}
		// Every byte is under some checksum, and the lookups and the
		// full iteration read every checksum's bytes... except a filter
		// block that no looked-up key hashes to: in the meta region, a
		// flip may go unmet, alike in both readers.
		if refused == 0 || failed == 0 || tc.flips == "all" && failed != flipped {
			t.Fatalf("%s: of the flips, %d refused at open, %d opened and then met errors, %d opened and read clean", name, refused, failed, flipped-failed)
		}
		t.Logf("%s: flips: %d refused alike at open, %d met the same errors, %d read alike without one", name, refused, failed, flipped-failed)
	}
}

// TestFileReaderReadsLittle: a lookup in a table of thousands of blocks
// reads a few chunks, in a few calls, and a second lookup of a key nearby
// reads only its data block.
func TestFileReaderReadsLittle(t *testing.T) {
	ops := mixedOps(60000, 23)
	data := build(t, ops)
	f := &countingReader{data: data}
	r, err := OpenAt(f, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if r.Blocks() < 64*TopStride/8 || r.topN < 4 {
		t.Fatalf("table too small for the test: %d blocks, %d top entries", r.Blocks(), r.topN)
	}
	if f.reads.Load() != 1 {
		t.Fatalf("OpenAt made %d reads, want 1 (footer and checksums at once)", f.reads.Load())
	}
	k := ops[len(ops)/3].Key
	if op, found, err := r.Get(k); err != nil || !found || !sameOp(op, ops[len(ops)/3]) {
		t.Fatalf("Get: %+v %v %v", op, found, err)
	}
	// filter, top index (one chunk here; TestFileReaderPrefetch has
	// larger ones), index offsets, index entries (one or two chunks),
	// data block.
	reads, read := f.reads.Load()-1, f.bytes.Load()
	if reads > 6 || read > 16*ChunkSize {
		t.Errorf("one lookup: %d reads of %d bytes in all, want at most 6 and 64 KiB", reads, read)
	}
	before := f.reads.Load()
	if _, found, err := r.Get(ops[len(ops)/3+1].Key); err != nil || !found {
		t.Fatalf("second Get: %v %v", found, err)
	}
	if n := f.reads.Load() - before; n > 2 {
		t.Errorf("a lookup next to the first made %d reads, want the data block (and maybe a filter chunk)", n)
	}
	t.Logf("table of %d bytes, %d blocks: open 1 read, first lookup %d reads of %d bytes", len(data), r.Blocks(), reads, read)
}

// longKeyOps returns n entries whose keys are about 1 KB: a top index of a
// few chunks from a table of a few MB.
func longKeyOps(n int) []entry.Op {
	pad := strings.Repeat("k", 1000)
	ops := make([]entry.Op, n)
	for i := range ops {
		ops[i] = entry.Op{Kind: entry.KindSet, Key: fmt.Appendf(nil, "%s%06d", pad, i), Value: fmt.Appendf(nil, "v%d", i)}
	}
	return ops
}

// TestFileReaderPrefetch: the first search of a top index spread over
// several chunks reads them all in one call, and answers as a mapped
// reader does; a top index over more chunks than maxPrefetch is read a
// chunk at a time as the search goes.
func TestFileReaderPrefetch(t *testing.T) {
	for _, n := range []int{5000, 24000} {
		ops := longKeyOps(n)
		data := build(t, ops)
		f := &countingReader{data: data}
		r, err := OpenAt(f, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		first, last := r.topStart/ChunkSize, (r.f.indexLen-1)/ChunkSize
		chunks := int(last - first + 1)
		prefetched := uint64(chunks)*ChunkSize <= maxPrefetch
		if chunks < 3 || n == 24000 && prefetched {
			t.Fatalf("%d keys: top index over %d chunks: not what the test needs", n, chunks)
		}
		k := ops[n/2]
		f.largest.Store(0)
		if op, found, err := r.Get(k.Key); err != nil || !found || !sameOp(op, k) {
			t.Fatalf("Get: %+v %v %v", op, found, err)
		}
		largest := f.largest.Load()
		cached := 0
		for c := first; c <= last; c++ {
			if r.chunks.find(c) != nil {
				cached++
			}
		}
		// Every other read is of one chunk or one data block.
		switch {
		case prefetched && (cached != chunks || largest <= 2*ChunkSize):
			t.Errorf("%d keys: %d of %d top chunks cached, largest read %d bytes: not prefetched in one", n, cached, chunks, largest)
		case !prefetched && (cached == chunks || largest > 2*ChunkSize):
			t.Errorf("%d keys: top index of %d chunks (over the bound): %d cached after one lookup, largest read %d bytes", n, chunks, cached, largest)
		}
		t.Logf("%d keys, top index over %d chunks: %d cached after one lookup, largest read %d bytes", n, chunks, cached, largest)
		mr, err := Open(data)
		if err != nil {
			t.Fatal(err)
		}
		var keys [][]byte
		for i := 0; i < n; i += 397 {
			keys = append(keys, ops[i].Key, append(bytes.Clone(ops[i].Key), 0))
		}
		sameAnswers(t, fmt.Sprintf("%d long keys", n), mr, r, keys)
	}
}

// TestFileReaderReadErrors: a failed read is reported to the lookup that
// made it, as itself (not as damage), and the reader goes on.
func TestFileReaderReadErrors(t *testing.T) {
	// The second table's top index is prefetched: a failure there too.
	for _, ops := range [][]entry.Op{mixedOps(20000, 24), longKeyOps(5000)} {
		readErrors(t, ops)
	}
}

// readErrors fails each read of a lookup of one of ops in turn.
func readErrors(t *testing.T, ops []entry.Op) {
	data := build(t, ops)
	k := ops[len(ops)/2]
	for failAt := int64(1); ; failAt++ {
		f := &countingReader{data: data, failAt: failAt}
		r, err := OpenAt(f, int64(len(data)))
		if err != nil {
			if !errors.Is(err, syscall.EIO) || errors.Is(err, ErrCorrupt) {
				t.Fatalf("read %d failed: OpenAt = %v, want the EIO, not damage", failAt, err)
			}
			continue
		}
		op, found, err := r.Get(k.Key)
		if f.reads.Load() < failAt {
			if err != nil || !found {
				t.Fatalf("no failure injected: %v %v", found, err)
			}
			if failAt < 3 {
				t.Fatal("the test injected nothing")
			}
			break
		}
		if err == nil {
			t.Fatalf("read %d failed, but Get = %+v, %v", failAt, op, found)
		}
		if !errors.Is(err, syscall.EIO) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("read %d failed: Get = %v, want the EIO, not damage", failAt, err)
		}
		if op, found, err := r.Get(k.Key); err != nil || !found || !sameOp(op, k) {
			t.Fatalf("read %d failed once, then Get = %+v %v %v", failAt, op, found, err)
		}
	}
}

// TestFileReaderShortFile: a file shorter than the size it is opened with
// is damage, at open or at the first read past its end.
func TestFileReaderShortFile(t *testing.T) {
	ops := mixedOps(2000, 25)
	data := build(t, ops)
	// Cut from the front: the footer reads right, the rest is gone.
	r, err := OpenAt(bytes.NewReader(data[ChunkSize:]), int64(len(data)))
	if err == nil {
		_, _, err = r.Get(ops[0].Key)
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("file shorter than its size: %v, want ErrCorrupt", err)
	}
	if _, err := OpenAt(bytes.NewReader(data[:100]), int64(len(data))); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("file of 100 bytes opened as %d: %v", len(data), err)
	}
	if _, err := OpenAt(bytes.NewReader(nil), FooterSize-1); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("size below a footer: %v", err)
	}
}

// TestFileReaderConcurrent: lookups from many goroutines share one file
// reader, its chunk cache filling, overflowing and starting again (run
// with -race).
func TestFileReaderConcurrent(t *testing.T) {
	defer func(n int) { maxCachedChunks = n }(maxCachedChunks)
	maxCachedChunks = 4
	ops := mixedOps(30000, 26)
	data := build(t, ops)
	r, err := openFile(data)
	if err != nil {
		t.Fatal(err)
	}
	inParallel(t, 4, func(g int) error {
		for i := g; i < len(ops); i += 7 {
			op, found, err := r.Get(ops[i].Key)
			if err != nil || !found || !sameOp(op, ops[i]) {
				return fmt.Errorf("Get(%q) = %+v %v %v", ops[i].Key, op, found, err)
			}
		}
		return nil
	})
	if !r.chunks.dropped {
		t.Fatalf("the chunk cache never overflowed (%d chunks): the test misses that path", len(r.chunks.chunks))
	}
	r.Close()
}

var _ io.ReaderAt = (*countingReader)(nil)
