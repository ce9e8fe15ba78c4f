// Package sstable writes and reads immutable sorted tables: data blocks of
// sorted entries (each block with its own CRC-32C), an index of the last key
// of every block, a blocked bloom filter, a checksum for every 4 KiB chunk
// of index and filter, and a fixed-size footer. A table is read in place
// from memory-mapped bytes (Open) or a piece at a time from its file
// (OpenAt): opening one reads the footer and the chunk checksums only, and
// every other byte is checked when it is used. docs/FORMAT.md is the specification; the constants here are part of
// the wire format.
package sstable

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/kvtool/kv/internal/crc32c"
)

// Wire-format constants.
const (
	// Magic ends every table.
	Magic = "KVTABLE1"
	// Version is the table format version written. Version 2 added the
	// top index, version 3 the revision of every entry (entry.RevFlag) and
	// the table's revision cover in the footer; tables of versions 1 and 2
	// are still read.
	Version = 3
	// FooterSize is the size of the footer of the tables written (version
	// 3): the cover, then the fields of a version 2 footer.
	FooterSize = 80
	// footerSizeV2 is the footer size of version 1 and 2 tables, and the
	// last bytes of every footer, whose layout all versions share.
	footerSizeV2 = 64
	// BlockSize is the target size of a data block.
	BlockSize = 4096
	// ChunkSize is the span of the index and filter covered by one
	// checksum.
	ChunkSize = 4096
	// indexEntryMin is the smallest index entry:
	// keylen(1) | key(1) | offset(1) | length(1).
	indexEntryMin = 4
	// TopStride is the number of index entries per top index entry: the
	// top index holds the last key of every TopStride-th block (and of the
	// last block), so a lookup searches it and then one stretch of
	// TopStride index entries, touching a few chunks of the index however
	// large the table.
	TopStride = 64
	// topEntryMin is the smallest top index entry, keylen(1) | key(1),
	// plus its u32 offset.
	topEntryMin = 2 + 4
)

// ErrCorrupt is wrapped by every error that reports damaged table bytes.
var ErrCorrupt = errors.New("corrupt table")

// ErrUnsupportedVersion is returned for an intact footer of a table
// version this package does not know: a newer kv wrote the table. It is
// not damage, and nothing should repair it.
var ErrUnsupportedVersion = errors.New("unsupported table version")

// CorruptError names the offset of the damage.
type CorruptError struct {
	Offset int64
	Reason string
}

func (e *CorruptError) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Reason) }

// Unwrap lets errors.Is(err, ErrCorrupt) hold.
func (e *CorruptError) Unwrap() error { return ErrCorrupt }

func corrupt(off int64, format string, args ...any) error {
	return &CorruptError{Offset: off, Reason: fmt.Sprintf(format, args...)}
}

// footer is the table's fixed-size trailer:
//
//	[coverLo(8) | coverHi(8) |]  version 3 only
//	dataLen(8) | indexLen(8) | bloomLen(8) | blocks(8) | entries(8) |
//	sumsCRC(4) | version(4) | magic(8) | topLen(4) | footerCRC(4)
//
// footerCRC covers every byte of the footer before it.
type footer struct {
	// coverLo and coverHi bound the revisions the table stands for: every
	// write with a revision in [coverLo, coverHi] went into the rewrite
	// that made it, which kept it or dropped it as superseded. Both 0: no
	// cover recorded (versions 1 and 2, or a writer that set none).
	coverLo, coverHi            uint64
	dataLen, indexLen, bloomLen uint64
	blocks, entries             uint64
	sumsCRC                     uint32
	// topLen is the size of the top index (its entries and offsets), the
	// last bytes of the index region; 0 in a version 1 table.
	topLen uint32
	// version is the table's format version (0 when encoding: Version).
	version uint32
}

// topEntries is the number of top index entries of the table.
func (f footer) topEntries() uint64 {
	if f.version < 2 {
		return 0
	}
	return (f.blocks + TopStride - 1) / TopStride
}

// size is the footer's size in the table's version.
func (f footer) size() uint64 { return footerSize(f.version) }

// footerSize is the footer's size in table version v (0: the version
// written).
func footerSize(v uint32) uint64 {
	if v != 0 && v < 3 {
		return footerSizeV2
	}
	return FooterSize
}

func (f footer) encode() []byte {
	b := make([]byte, 0, FooterSize)
	if f.size() == FooterSize {
		b = binary.LittleEndian.AppendUint64(b, f.coverLo)
		b = binary.LittleEndian.AppendUint64(b, f.coverHi)
	}
	b = binary.LittleEndian.AppendUint64(b, f.dataLen)
	b = binary.LittleEndian.AppendUint64(b, f.indexLen)
	b = binary.LittleEndian.AppendUint64(b, f.bloomLen)
	b = binary.LittleEndian.AppendUint64(b, f.blocks)
	b = binary.LittleEndian.AppendUint64(b, f.entries)
	b = binary.LittleEndian.AppendUint32(b, f.sumsCRC)
	v := f.version
	if v == 0 {
		v = Version
	}
	b = binary.LittleEndian.AppendUint32(b, v)
	b = append(b, Magic...)
	b = binary.LittleEndian.AppendUint32(b, f.topLen)
	return binary.LittleEndian.AppendUint32(b, crc32c.Checksum(b))
}

func chunkCount(metaLen uint64) uint64 { return (metaLen + ChunkSize - 1) / ChunkSize }

// decodeFooter checks the footer at the end of data, a whole table, and
// that the regions it describes tile the file exactly.
func decodeFooter(data []byte) (footer, error) {
	return decodeFooterOf(data[len(data)-min(len(data), FooterSize):], uint64(len(data)))
}

// decodeFooterOf checks the footer at the end of tail, the last bytes of a
// table of size bytes (at least FooterSize of them, or the whole table),
// and that the regions it describes tile the file exactly.
//
// The version field decides the footer's size, and so the bytes its CRC
// covers, before the CRC is checked: a damaged version field makes the
// CRC fail under either size.
func decodeFooterOf(tail []byte, size uint64) (footer, error) {
	if len(tail) < footerSizeV2 {
		return footer{}, corrupt(0, "file of %d bytes is shorter than a table footer", size)
	}
	b := tail[len(tail)-footerSizeV2:]
	off := int64(size - footerSizeV2)
	if string(b[48:56]) != Magic {
		return footer{}, corrupt(off, "bad table magic")
	}
	v := binary.LittleEndian.Uint32(b[44:48])
	whole := tail[len(tail)-footerSizeV2:]
	if footerSize(v) == FooterSize {
		if len(tail) < FooterSize {
			return footer{}, corrupt(0, "file of %d bytes is shorter than a table footer", size)
		}
		whole = tail[len(tail)-FooterSize:]
		off = int64(size - FooterSize)
	}
	if crc32c.Checksum(whole[:len(whole)-4]) != binary.LittleEndian.Uint32(b[60:64]) {
		return footer{}, corrupt(off, "footer checksum mismatch")
	}
	if v < 1 || v > Version {
		return footer{}, fmt.Errorf("%w %d (this kv reads versions 1 to %d)", ErrUnsupportedVersion, v, Version)
	}
	f := footer{
		dataLen:  binary.LittleEndian.Uint64(b[0:8]),
		indexLen: binary.LittleEndian.Uint64(b[8:16]),
		bloomLen: binary.LittleEndian.Uint64(b[16:24]),
		blocks:   binary.LittleEndian.Uint64(b[24:32]),
		entries:  binary.LittleEndian.Uint64(b[32:40]),
		sumsCRC:  binary.LittleEndian.Uint32(b[40:44]),
		topLen:   binary.LittleEndian.Uint32(b[56:60]),
		version:  v,
	}
	if f.size() == FooterSize {
		f.coverLo = binary.LittleEndian.Uint64(whole[0:8])
		f.coverHi = binary.LittleEndian.Uint64(whole[8:16])
		if f.coverLo > f.coverHi {
			return footer{}, corrupt(off, "revision cover [%d, %d] is empty", f.coverLo, f.coverHi)
		}
	}
	if v == 1 {
		f.topLen = 0 // reserved in version 1: written as 0, never read
	}
	// Check each region against what is left, so no sum can overflow.
	rest := size - f.size()
	for _, n := range []uint64{f.dataLen, f.indexLen, f.bloomLen} {
		if n > rest {
			return footer{}, corrupt(off, "region lengths exceed the file size")
		}
		rest -= n
	}
	if rest != chunkCount(f.indexLen+f.bloomLen)*4 {
		return footer{}, corrupt(off, "region lengths do not tile the file")
	}
	if f.bloomLen == 0 || f.bloomLen%bloomBlockSize != 0 {
		return footer{}, corrupt(off, "bloom filter length %d is not a whole number of blocks", f.bloomLen)
	}
	top := uint64(f.topLen)
	if top > f.indexLen || top < f.topEntries()*topEntryMin || (f.topEntries() == 0) != (top == 0) {
		return footer{}, corrupt(off, "top index length %d does not fit the index", top)
	}
	if f.blocks > (f.indexLen-top)/(indexEntryMin+4) {
		return footer{}, corrupt(off, "block count %d does not fit the index", f.blocks)
	}
	if f.entries < f.blocks || f.entries > f.dataLen {
		return footer{}, corrupt(off, "entry count %d does not fit the data", f.entries)
	}
	if (f.blocks == 0) != (f.dataLen == 0) {
		return footer{}, corrupt(off, "block count and data length disagree")
	}
	return f, nil
}
