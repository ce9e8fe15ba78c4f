// Package wal is the write-ahead log's codec: the byte layout of a log file
// (a header, then checksummed records, each one atomic batch of operations),
// and a scanner that tells a torn tail (what a crash leaves) from corruption
// (valid records after a damaged one). It knows nothing of files or
// directories; the engine in pkg/kv owns those. docs/FORMAT.md is the
// specification; the constants below are part of the wire format.
package wal

import (
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"slices"

	"github.com/kvtool/kv/internal/crc32c"
	"github.com/kvtool/kv/pkg/entry"
)

// Wire-format constants.
const (
	// Magic opens every log file.
	Magic = "KVWL"
	// Version is the log format version written in the header.
	Version = 1
	// HeaderSize is the size of the file header:
	// magic(4) | version(4) | firstSeq(8) | crc32c(4).
	HeaderSize = 20
	// RecordHeaderSize is crc32c(4) | length(4) | seq(8).
	RecordHeaderSize = 16
	// MinRecordSize bounds every record from below: a header and a
	// payload of at least a count, a kind and a key length (the smallest
	// real record, a delete of a 1-byte key, is 20 bytes).
	MinRecordSize = RecordHeaderSize + 3
	// MaxRecordSize bounds the payload length of one record; a length
	// field above it is damage, never an allocation.
	MaxRecordSize = 1 << 30
)

// The operations a record holds are entries, encoded as the tables encode
// theirs (package entry); these names are entry's.
type (
	// Kind is an operation's type (entry.Kind).
	Kind = entry.Kind
	// Op is one operation of a batch (entry.Op).
	Op = entry.Op
)

// Operation kinds and limits (entry's).
const (
	KindSet         = entry.KindSet
	KindDelete      = entry.KindDelete
	KindSetExpiring = entry.KindSetExpiring
	MaxKeySize      = entry.MaxKeySize
	MaxValueSize    = entry.MaxValueSize
)

// Errors returned by the decoder.
var (
	// ErrBadHeader is returned when a log file's header is damaged or of
	// another format.
	ErrBadHeader = errors.New("bad log header")
	// ErrUnsupportedVersion is returned for an intact
	// header of a version this package does not know: a newer kv wrote
	// the file. It is not damage, and nothing should repair it.
	ErrUnsupportedVersion = errors.New("unsupported log version")
	// ErrBadPayload is returned when a record's checksum is right but its
	// operations do not decode: the writer was not ours.
	ErrBadPayload = errors.New("malformed record payload")
)

// AppendHeader appends a log file header for a log whose first record has
// sequence number firstSeq.
func AppendHeader(dst []byte, firstSeq uint64) []byte {
	start := len(dst)
	dst = append(dst, Magic...)
	dst = binary.LittleEndian.AppendUint32(dst, Version)
	dst = binary.LittleEndian.AppendUint64(dst, firstSeq)
	return binary.LittleEndian.AppendUint32(dst, crc32c.Checksum(dst[start:]))
}

// DecodeHeader checks a log file header and returns its first sequence
// number.
func DecodeHeader(b []byte) (uint64, error) {
	if len(b) < HeaderSize {
		return 0, fmt.Errorf("%w: file shorter than its header", ErrBadHeader)
	}
	if string(b[:4]) != Magic {
		return 0, fmt.Errorf("%w: magic %q", ErrBadHeader, b[:4])
	}
	if crc32c.Checksum(b[:16]) != binary.LittleEndian.Uint32(b[16:20]) {
		return 0, fmt.Errorf("%w: checksum mismatch", ErrBadHeader)
	}
	if v := binary.LittleEndian.Uint32(b[4:8]); v != Version {
		return 0, fmt.Errorf("%w %d (this kv reads version %d)", ErrUnsupportedVersion, v, Version)
	}
	return binary.LittleEndian.Uint64(b[8:16]), nil
}

// EncodedSize is the number of bytes AppendRecord adds for ops.
func EncodedSize(ops []Op) int {
	n := RecordHeaderSize + entry.UvarintLen(uint64(len(ops)))
	for _, op := range ops {
		op.Rev = 0 // not written (AppendRecord)
		n += entry.OpSize(op)
	}
	return n
}

// AppendRecord appends one record holding ops as an atomic batch.
func AppendRecord(dst []byte, seq uint64, ops []Op) []byte {
	// Grown once to the record's size, rather than step by step as the
	// operations are appended, which for a large batch would reallocate
	// dozens of times and copy several times its size.
	dst = slices.Grow(dst, EncodedSize(ops))
	start := len(dst)
	dst = append(dst, make([]byte, RecordHeaderSize)...)
	dst = binary.AppendUvarint(dst, uint64(len(ops)))
	for _, op := range ops {
		op.Rev = 0 // the record's seq is its operations' revision
		dst = entry.AppendOp(dst, op)
	}
	rec := dst[start:]
	binary.LittleEndian.PutUint32(rec[4:8], uint32(len(rec)-RecordHeaderSize))
	binary.LittleEndian.PutUint64(rec[8:16], seq)
	binary.LittleEndian.PutUint32(rec[0:4], crc32c.Checksum(rec[4:]))
	return dst
}

// checkPayload checks a record's payload as DecodePayload does, without
// keeping the operations, and returns their count.
func checkPayload(payload []byte) (int, error) {
	return walkPayload(payload, nil)
}

// PayloadOps yields the operations of a payload that Scan or ScanPayloads
// has checked, in order, decoding each as it goes.
func PayloadOps(payload []byte) iter.Seq[Op] {
	return func(yield func(Op) bool) {
		count, n := binary.Uvarint(payload)
		if n <= 0 {
			return
		}
		p := payload[n:]
		for range count {
			op, rest, err := entry.DecodeOp(p)
			if err != nil || !yield(op) {
				return
			}
			p = rest
		}
	}
}

// PayloadCount is the number of operations of a checked payload.
func PayloadCount(payload []byte) int {
	count, n := binary.Uvarint(payload)
	if n <= 0 {
		return 0
	}
	return int(count)
}

// DecodePayload decodes a record's operations. The returned slices alias
// payload. Every length is checked against what remains, so a damaged
// payload can never cause an allocation larger than itself.
func DecodePayload(payload []byte) ([]Op, error) {
	count, n := binary.Uvarint(payload)
	if n > 0 && count > 0 && count <= uint64(len(payload)/3) {
		ops := make([]Op, 0, count)
		if _, err := walkPayload(payload, func(op Op) { ops = append(ops, op) }); err != nil {
			return nil, err
		}
		return ops, nil
	}
	_, err := walkPayload(payload, nil) // reports what is wrong with the count
	return nil, err
}

// walkPayload checks a payload, calling fn (if not nil) with each
// operation, and returns the operation count.
func walkPayload(payload []byte, fn func(Op)) (int, error) {
	count, n := binary.Uvarint(payload)
	if n <= 0 {
		return 0, fmt.Errorf("%w: bad operation count", ErrBadPayload)
	}
	p := payload[n:]
	// Every operation takes at least three bytes (kind, key length, key).
	if count == 0 || count > uint64(len(p)/3) {
		return 0, fmt.Errorf("%w: operation count %d does not fit", ErrBadPayload, count)
	}
	for i := uint64(0); i < count; i++ {
		op, rest, err := entry.DecodeOp(p)
		if err != nil {
			return 0, fmt.Errorf("%w: operation %d: %v", ErrBadPayload, i, err)
		}
		if op.Rev != 0 {
			return 0, fmt.Errorf("%w: operation %d: a revision, which only tables record", ErrBadPayload, i)
		}
		if fn != nil {
			fn(op)
		}
		p = rest
	}
	if len(p) != 0 {
		return 0, fmt.Errorf("%w: %d trailing bytes", ErrBadPayload, len(p))
	}
	return int(count), nil
}
