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
// kind(1) | keylen(uvarint) | key [| vallen(uvarint) | value] [| expiry(8)].
// Sorted tables store their entries in the same encoding.
func AppendOp(dst []byte, op Op) []byte {
	dst = append(dst, byte(op.Kind))
	dst = binary.AppendUvarint(dst, uint64(len(op.Key)))
	dst = append(dst, op.Key...)
	if op.Kind != KindDelete {
		dst = binary.AppendUvarint(dst, uint64(len(op.Value)))
		dst = append(dst, op.Value...)
	}
	if op.Kind == KindSetExpiring {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(op.ExpiresAt))
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
	op.Kind = Kind(p[0])
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
