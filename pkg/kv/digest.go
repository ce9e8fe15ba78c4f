package kv

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
)

// Digest returns the SHA-256 of the live keys and values in a canonical
// encoding (for each live key in order: uvarint key length, key, uvarint
// value length, value), as hex. Two stores with the same live keys and
// values have the same digest, whatever their histories and on whatever
// backend: the etcd backend computes the same. Expiries are left out, as
// revisions are: a lease's time cannot equal a local expiry exactly.
func (db *DB) Digest() (string, error) {
	h := sha256.New()
	var buf []byte
	err := db.Scan(nil, func(e Entry) error {
		buf = binary.AppendUvarint(buf[:0], uint64(len(e.Key)))
		buf = append(buf, e.Key...)
		buf = binary.AppendUvarint(buf, uint64(len(e.Value)))
		h.Write(buf)
		h.Write(e.Value)
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
