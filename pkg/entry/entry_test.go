package entry

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// normOps makes an empty value and no value compare alike, as decoding
// gives a set an empty, non-nil value and a delete none.
func normOps(ops []Op) []Op {
	out := make([]Op, len(ops))
	for i, op := range ops {
		if op.Value == nil && op.Kind != KindDelete {
			op.Value = []byte{}
		}
		if op.Kind == KindDelete {
			op.Value = nil
		}
		out[i] = op
	}
	return out
}

// TestOpRoundTrip: every kind of operation encodes and decodes to itself,
// leaving what follows it, and OpSize is its encoded size.
func TestOpRoundTrip(t *testing.T) {
	ops := []Op{
		{Kind: KindSet, Key: []byte("k"), Value: []byte("v")},
		{Kind: KindSet, Key: bytes.Repeat([]byte("K"), MaxKeySize), Value: []byte{}},
		{Kind: KindDelete, Key: []byte{0, 1, 2}},
		{Kind: KindSetExpiring, Key: []byte("e"), Value: []byte("v"), ExpiresAt: -5},
		{Kind: KindSetExpiring, Key: []byte("e2"), Value: bytes.Repeat([]byte{0}, 200), ExpiresAt: 1 << 62},
		{Kind: KindSet, Key: []byte("r"), Value: []byte("v"), Rev: 1},
		{Kind: KindDelete, Key: []byte("r"), Rev: 300},
		{Kind: KindSetExpiring, Key: []byte("r"), Value: []byte("v"), ExpiresAt: 7, Rev: 1<<64 - 1},
	}
	for _, op := range ops {
		enc := AppendOp([]byte("prefix"), op)
		if !bytes.HasPrefix(enc, []byte("prefix")) {
			t.Fatal("AppendOp clobbered dst")
		}
		tail := []byte("rest")
		got, rest, err := DecodeOp(append(enc[6:], tail...))
		if err != nil {
			t.Fatalf("DecodeOp(%v): %v", op.Kind, err)
		}
		if !bytes.Equal(rest, tail) {
			t.Errorf("rest %q, want %q", rest, tail)
		}
		if !reflect.DeepEqual(normOps([]Op{got}), normOps([]Op{op})) {
			t.Errorf("got %+v, want %+v", got, op)
		}
		if OpSize(op) != len(enc)-6 {
			t.Errorf("OpSize %d, encoded %d", OpSize(op), len(enc)-6)
		}
	}
	if s := KindSet.String() + KindDelete.String() + KindSetExpiring.String() + Kind(9).String(); s != "setdelsetkind(9)" {
		t.Errorf("kind names %q", s)
	}
}

// TestDecodeOpRejects: every malformed encoding is an error that says what
// is wrong, before any length is used.
func TestDecodeOpRejects(t *testing.T) {
	long := AppendOp(nil, Op{Kind: KindSet, Key: bytes.Repeat([]byte("k"), MaxKeySize+1), Value: []byte("v")})
	hugeValue := append([]byte{byte(KindSet), 1, 'k'}, binary.AppendUvarint(nil, 10<<30)...)
	cases := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "cut short"},
		{"unknown kind", []byte{9, 1, 'k'}, "unknown kind"},
		{"kind zero", []byte{0, 1, 'k'}, "unknown kind"},
		{"empty key", []byte{byte(KindDelete), 0}, "empty key"},
		{"key past end", []byte{byte(KindDelete), 5, 'k'}, "beyond the record"},
		{"key above limit", long, "above the limit"},
		{"bad key varint", []byte{byte(KindDelete), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, "bad length"},
		{"missing value", []byte{byte(KindSet), 1, 'k'}, "value"},
		{"value 10 GiB", hugeValue, "above the limit"},
		{"value past end", []byte{byte(KindSet), 1, 'k', 4, 'v'}, "beyond the record"},
		{"expiry cut short", []byte{byte(KindSetExpiring), 1, 'k', 1, 'v', 1, 2, 3}, "expiry cut short"},
		{"revision missing", []byte{byte(KindDelete) | RevFlag, 1, 'k'}, "bad revision"},
		{"revision zero", []byte{byte(KindDelete) | RevFlag, 1, 'k', 0}, "bad revision"},
		{"flag on unknown kind", []byte{9 | RevFlag, 1, 'k', 1}, "unknown kind"},
	}
	for _, c := range cases {
		_, _, err := DecodeOp(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want one containing %q", c.name, err, c.want)
		}
	}
}
