// Package entry is the encoding of one operation on a key, a set, a
// delete or a set with an expiry, shared by the write-ahead log (pkg/wal),
// whose records hold batches of them, and the sorted tables
// (pkg/sstable), whose blocks hold one per key. It is a leaf: it imports
// nothing of kv's. docs/FORMAT.md, section 4, gives the encoding.
package entry

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Limits of the format.
const (
	// MaxKeySize is the largest key the format accepts.
	MaxKeySize = 64 << 10
	// MaxValueSize is the largest value the format accepts.
	MaxValueSize = 256 << 20
)

// Kind is an operation's type.
type Kind uint8

// Operation kinds (wire format).
const (
	// KindSet stores a value.
	KindSet Kind = 1
	// KindDelete removes a key (a tombstone).
	KindDelete Kind = 2
	// KindSetExpiring stores a value with an absolute expiry time.
	KindSetExpiring Kind = 3
)

// RevFlag, set in an encoded kind byte, says that the operation's
// revision follows it (Op.Rev, as a uvarint after everything else). Sorted
// tables of version 3 write it on every entry; a log record never carries
// it, since the record's sequence number is its operations' revision.
const RevFlag = 0x80

// String names the kind as dump shows it.
func (k Kind) String() string {
	switch k {
	case KindSet:
		return "set"
	case KindDelete:
		return "del"
	case KindSetExpiring:
		return "set"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Op is one operation of a batch. Key and Value alias the decoded bytes.
type Op struct {
	Kind  Kind
	Key   []byte
	Value []byte
	// ExpiresAt is the expiry as Unix nanoseconds (KindSetExpiring only).
	ExpiresAt int64
	// Rev is the revision of the batch that wrote the operation, 0 where
	// it is not recorded (in a log record, whose sequence number holds it,
	// and in tables written before version 3).
	Rev uint64
}

// OpSize is the number of bytes AppendOp adds for op.
func OpSize(op Op) int {
	n := 1 + UvarintLen(uint64(len(op.Key))) + len(op.Key)
	if op.Kind != KindDelete {
		n += UvarintLen(uint64(len(op.Value))) + len(op.Value)
	}
	if op.Kind == KindSetExpiring {
		n += 8
	}
	if op.Rev != 0 {
		n += UvarintLen(op.Rev)
	}
	return n
}

// UvarintLen is the number of bytes binary.AppendUvarint takes for x.
func UvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// AppendOp appends one operation's encoding:
// kind(1) | keylen(uvarint) | key [| vallen(uvarint) | value] [| expiry(8)]
// [| rev(uvarint)], the revision (and RevFlag in the kind byte) only when
// op.Rev is not 0. Sorted tables store their entries in the same encoding.
func AppendOp(dst []byte, op Op) []byte {
	dst = AppendOpHead(dst, op)
	if op.Kind != KindDelete {
		dst = append(dst, op.Value...)
	}
	return AppendOpTail(dst, op)
}

// AppendOpHead appends what AppendOp writes before op's value: kind, key
// and the value's length. With the value and then AppendOpTail it makes
// AppendOp's bytes, so that a large value can be written where it is
// instead of copied after its head.
func AppendOpHead(dst []byte, op Op) []byte {
	kind := byte(op.Kind)
	if op.Rev != 0 {
		kind |= RevFlag
	}
	dst = append(dst, kind)
	dst = binary.AppendUvarint(dst, uint64(len(op.Key)))
	dst = append(dst, op.Key...)
	if op.Kind != KindDelete {
		dst = binary.AppendUvarint(dst, uint64(len(op.Value)))
	}
	return dst
}

// AppendOpTail appends what AppendOp writes after op's value: the expiry
// and the revision, when op has them.
func AppendOpTail(dst []byte, op Op) []byte {
	if op.Kind == KindSetExpiring {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(op.ExpiresAt))
	}
	if op.Rev != 0 {
		dst = binary.AppendUvarint(dst, op.Rev)
	}
	return dst
}

// DecodeOp decodes one operation from the front of p and returns the rest.
// Key and Value alias p; every length is checked against what remains and
// against the format's limits before it is used.
func DecodeOp(p []byte) (op Op, rest []byte, err error) {
	if len(p) < 1 {
		return op, nil, errors.New("cut short")
	}
	op.Kind = Kind(p[0] &^ RevFlag)
	hasRev := p[0]&RevFlag != 0
	p = p[1:]
	if op.Kind != KindSet && op.Kind != KindDelete && op.Kind != KindSetExpiring {
		return op, nil, fmt.Errorf("unknown kind %d", op.Kind)
	}
	if op.Key, p, err = lengthPrefixed(p, MaxKeySize); err != nil {
		return op, nil, fmt.Errorf("key: %v", err)
	}
	if len(op.Key) == 0 {
		return op, nil, errors.New("empty key")
	}
	if op.Kind != KindDelete {
		if op.Value, p, err = lengthPrefixed(p, MaxValueSize); err != nil {
			return op, nil, fmt.Errorf("value: %v", err)
		}
	}
	if op.Kind == KindSetExpiring {
		if len(p) < 8 {
			return op, nil, errors.New("expiry cut short")
		}
		op.ExpiresAt = int64(binary.LittleEndian.Uint64(p))
		p = p[8:]
	}
	if hasRev {
		rev, n := binary.Uvarint(p)
		if n <= 0 || rev == 0 {
			return op, nil, errors.New("bad revision")
		}
		op.Rev, p = rev, p[n:]
	}
	return op, p, nil
}

func lengthPrefixed(p []byte, limit uint64) (field, rest []byte, err error) {
	l, n := binary.Uvarint(p)
	if n <= 0 {
		return nil, nil, errors.New("bad length")
	}
	p = p[n:]
	if l > limit {
		return nil, nil, fmt.Errorf("length %d above the limit %d", l, limit)
	}
	if l > uint64(len(p)) {
		return nil, nil, fmt.Errorf("length %d beyond the record", l)
	}
	return p[:l:l], p[l:], nil
}
