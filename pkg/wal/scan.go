package wal

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kvtool/kv/internal/crc32c"
)

// Record is one decoded record.
type Record struct {
	// Offset is where the record starts in the file.
	Offset int64
	// Size is the record's length in bytes, header included.
	Size int
	Seq  uint64
	// Ops are the record's operations (nil from ScanPayloads).
	Ops []Op
	// Payload is the record's encoded operations, aliasing the scanned
	// bytes; wal.PayloadOps decodes them.
	Payload []byte
}

// Tail describes a torn tail: the bytes from Offset to the end of the file
// are the remains of a write a crash interrupted. Nothing valid follows.
type Tail struct {
	Offset int64
	Reason string
}

// Result is what Scan found.
type Result struct {
	FirstSeq uint64
	// End is the offset just past the last valid record.
	End int64
	// NextSeq is the sequence number the next appended record must carry.
	NextSeq uint64
	Records int
	// Torn is set when the file ends with a torn tail.
	Torn *Tail
}

// CorruptError reports damage that a crash cannot explain: a bad record with
// valid records after it, or a damaged header.
type CorruptError struct {
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("offset %d: %s", e.Offset, e.Reason)
}

// Scan decodes a whole log file held in data, calling fn (when not nil) for
// each valid record in order. It stops at the first invalid record: if any
// valid record can be found after it, that is corruption and Scan returns a
// *CorruptError; otherwise it is a torn tail, reported in Result.Torn.
// An error returned by fn stops the scan and is returned as is.
func Scan(data []byte, fn func(Record) error) (Result, error) {
	return scan(data, fn, true)
}

// ScanPayloads is Scan without decoding the operations into Record.Ops:
// each payload is checked in place and handed over as Record.Payload, so
// replaying a log of many small records allocates nothing per record.
func ScanPayloads(data []byte, fn func(Record) error) (Result, error) {
	return scan(data, fn, false)
}

func scan(data []byte, fn func(Record) error, decode bool) (Result, error) {
	first, err := DecodeHeader(data)
	if errors.Is(err, ErrUnsupportedVersion) {
		return Result{}, err
	}
	if err != nil {
		// The header is synced before any manifest names the file, so a
		// bad header is never what a crash leaves: it is damage.
		return Result{}, &CorruptError{Offset: 0, Reason: err.Error()}
	}
	res := Result{FirstSeq: first, End: HeaderSize, NextSeq: first}
	off := int64(HeaderSize)
	for off < int64(len(data)) {
		rec, reason, perr := decodeAt(data, off, res.NextSeq, decode)
		if reason != "" {
			next, exhausted := findValidAfter(data, off, res.NextSeq)
			if next >= 0 {
				return res, &CorruptError{Offset: off, Reason: fmt.Sprintf("%s, with a valid record at offset %d after it", reason, next)}
			}
			if exhausted {
				// A crash leaves no such bytes; refuse rather than guess.
				return res, &CorruptError{Offset: off, Reason: reason + ", followed by more record-like headers than a torn write can leave"}
			}
			if rot := rotInTail(data, off); rot != "" {
				return res, &CorruptError{Offset: off, Reason: fmt.Sprintf("%s in the last record, %s", reason, rot)}
			}
			res.Torn = &Tail{Offset: off, Reason: reason}
			return res, nil
		}
		if perr != nil {
			// The checksum matched but the payload did not decode: the
			// bytes were written whole, so this is not a torn write.
			return res, &CorruptError{Offset: off, Reason: perr.Error()}
		}
		if fn != nil {
			if err := fn(rec); err != nil {
				return res, err
			}
		}
		off += int64(rec.Size)
		res.End = off
		res.NextSeq++
		res.Records++
	}
	return res, nil
}

// decodeAt decodes the record at off, which must carry sequence number
// wantSeq. It returns a non-empty reason when the bytes there are not a
// whole, intact record. A record whose checksum holds but whose payload is
// malformed comes back with nil Ops and no reason.
func decodeAt(data []byte, off int64, wantSeq uint64, decode bool) (Record, string, error) {
	rest := data[off:]
	if len(rest) < RecordHeaderSize {
		if isZero(rest) {
			return Record{}, "zero-filled record header", nil
		}
		return Record{}, "record header cut short", nil
	}
	length := binary.LittleEndian.Uint32(rest[4:8])
	if length == 0 && isZero(rest[:RecordHeaderSize]) {
		return Record{}, "zero-filled record header", nil
	}
	if length > MaxRecordSize {
		return Record{}, fmt.Sprintf("record length %d above the limit", length), nil
	}
	if uint64(length) > uint64(len(rest)-RecordHeaderSize) {
		return Record{}, fmt.Sprintf("record length %d runs past the end of the file", length), nil
	}
	size := RecordHeaderSize + int(length)
	if crc32c.Checksum(rest[4:size]) != binary.LittleEndian.Uint32(rest[0:4]) {
		return Record{}, "checksum mismatch", nil
	}
	seq := binary.LittleEndian.Uint64(rest[8:16])
	if seq != wantSeq {
		return Record{}, fmt.Sprintf("sequence %d where %d was expected", seq, wantSeq), nil
	}
	rec := Record{Offset: off, Size: size, Seq: seq, Payload: rest[RecordHeaderSize:size]}
	var err error
	if decode {
		rec.Ops, err = DecodePayload(rec.Payload)
	} else {
		_, err = checkPayload(rec.Payload)
	}
	return rec, "", err
}

// findValidAfter looks for an intact record starting anywhere after off.
// The records lost between off and a candidate at p number at most what
// fits in those p-off bytes, so the candidate's sequence number can exceed
// nextSeq by no more than that: a cheap filter before the checksum.
//
// Hostile bytes can pass the filter at every offset with a length reaching
// the end of the file, which would make the search quadratic (minutes for
// a 4 MiB log). The checksum work is therefore capped at checkBudget of
// the file's size; exhausted reports that the cap was hit.
func findValidAfter(data []byte, off int64, nextSeq uint64) (pos int64, exhausted bool) {
	const minRecord = MinRecordSize
	budget := checkBudget(len(data))
	for p := off + 1; p+minRecord <= int64(len(data)); p++ {
		seq := binary.LittleEndian.Uint64(data[p+8 : p+16])
		if seq < nextSeq || seq-nextSeq > uint64(p-off)/minRecord+1 {
			continue
		}
		length := binary.LittleEndian.Uint32(data[p+4 : p+8])
		if length == 0 || uint64(length) > uint64(int64(len(data))-p-RecordHeaderSize) {
			continue
		}
		if budget -= int64(length); budget < 0 {
			return -1, true
		}
		end := p + RecordHeaderSize + int64(length)
		if crc32c.Checksum(data[p+4:end]) == binary.LittleEndian.Uint32(data[p:p+4]) {
			return p, false
		}
	}
	return -1, false
}

// checkBudget bounds the bytes a search for intact records may checksum in
// a file of size bytes: a few passes over it, plus slack for small files.
func checkBudget(size int) int64 { return 8*int64(size) + 1<<20 }

// SectorSize is the unit in which a crash loses data: the disk writes each
// 512-byte sector whole or not at all.
const SectorSize = 512

// rotInTail tells whether the invalid last record at off, with nothing
// valid after it, is bit rot rather than a write a crash interrupted, and
// says why ("" when a crash can explain it). A crash leaves the last record
// cut short (a prefix of it reached the disk) or with some of its sectors
// never written, which read back as zeros (the rule etcd's WAL applies,
// isTornEntry). So the damage is rot, and the record was written whole,
// when
//
//   - its checksum holds over every byte left in the file once the length
//     field is taken to say that many: the record is complete and only its
//     length field is damaged; or
//   - it lies inside the file and none of its sector-aligned pieces is all
//     zeros, yet its checksum fails.
func rotInTail(data []byte, off int64) string {
	rest := data[off:]
	if len(rest) < RecordHeaderSize || isZero(rest[:RecordHeaderSize]) {
		return ""
	}
	length := binary.LittleEndian.Uint32(rest[4:8])
	if avail := len(rest) - RecordHeaderSize; uint64(length) != uint64(avail) && avail <= MaxRecordSize {
		var lenField [4]byte
		binary.LittleEndian.PutUint32(lenField[:], uint32(avail))
		sum := crc32c.Update(crc32c.Checksum(lenField[:]), rest[8:])
		if sum == binary.LittleEndian.Uint32(rest[0:4]) {
			return fmt.Sprintf("whose checksum holds over the %d bytes to the end of the file: the record is whole and its length field is damaged", len(rest))
		}
	}
	if uint64(length) > uint64(len(rest)-RecordHeaderSize) {
		return "" // cut short
	}
	size := RecordHeaderSize + int64(length)
	if crc32c.Checksum(rest[4:size]) == binary.LittleEndian.Uint32(rest[0:4]) {
		return "" // not a checksum failure (a sequence out of order)
	}
	for from := off; from < off+size; {
		to := min((from/SectorSize+1)*SectorSize, off+size)
		if isZero(data[from:to]) {
			return ""
		}
		from = to
	}
	return "written whole (no sector of it reads as zeros, as one a crash lost would)"
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Salvage decodes every intact record it can find in data, skipping damaged
// stretches, for repair. It never fails; it reports the byte ranges it
// could not read.
func Salvage(data []byte) (records []Record, damaged [][2]int64) {
	first, err := DecodeHeader(data)
	off := int64(HeaderSize)
	if err != nil {
		damaged = append(damaged, [2]int64{0, min(HeaderSize, int64(len(data)))})
		// The first sequence number is unknown: take that of an intact
		// record right after the header, so that it is not skipped.
		first = 0
		if resync(data, HeaderSize) == HeaderSize {
			first = binary.LittleEndian.Uint64(data[HeaderSize+8 : HeaderSize+16])
		}
	}
	next := first
	for off < int64(len(data)) {
		rec, reason, perr := decodeAt(data, off, next, true)
		if reason == "" && perr == nil {
			records = append(records, rec)
			off += int64(rec.Size)
			next = rec.Seq + 1
			continue
		}
		// Resynchronise on any record whose checksum holds, whatever its
		// sequence number, so that a damaged header loses nothing.
		p := resync(data, off+1)
		if p < 0 {
			damaged = append(damaged, [2]int64{off, int64(len(data))})
			break
		}
		damaged = append(damaged, [2]int64{off, p})
		off = p
		next = binary.LittleEndian.Uint64(data[p+8 : p+16])
	}
	return records, damaged
}

// resync finds the next offset at or after from where an intact record
// starts, or -1. Its checksum work is capped like findValidAfter's; past
// the cap the rest of the file is given up as damaged.
func resync(data []byte, from int64) int64 {
	budget := checkBudget(len(data))
	for p := from; p+RecordHeaderSize+3 <= int64(len(data)); p++ {
		length := binary.LittleEndian.Uint32(data[p+4 : p+8])
		if length < 3 || uint64(length) > uint64(int64(len(data))-p-RecordHeaderSize) {
			continue
		}
		if budget -= int64(length); budget < 0 {
			return -1
		}
		end := p + RecordHeaderSize + int64(length)
		if crc32c.Checksum(data[p+4:end]) != binary.LittleEndian.Uint32(data[p:p+4]) {
			continue
		}
		if _, err := DecodePayload(data[p+RecordHeaderSize : end]); err == nil {
			return p
		}
	}
	return -1
}
