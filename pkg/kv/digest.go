package kv

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Digest returns the SHA-256 of the live contents in a canonical encoding
// (for each live key in order: key length, key, value length, value,
// expiry), as hex. Two stores with the same live contents have the same
// digest, whatever their histories.
func (db *DB) Digest() (string, error) {
	h := sha256.New()
	var buf []byte
	err := db.Scan(nil, func(e Entry) error {
		buf = binary.AppendUvarint(buf[:0], uint64(len(e.Key)))
		buf = append(buf, e.Key...)
		buf = binary.AppendUvarint(buf, uint64(len(e.Value)))
		h.Write(buf)
		h.Write(e.Value)
		var exp int64
		if !e.ExpiresAt.IsZero() {
			exp = expiryNanos(e.ExpiresAt)
		}
		h.Write(binary.LittleEndian.AppendUint64(buf[:0], uint64(exp)))
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
