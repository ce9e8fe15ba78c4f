package kv

import "bytes"

// KeyCursor jumps through the live keys that start with a prefix, for a
// caller that skips most of them, as shell completion does on a large
// store: each SeekGE costs a search of the memtable and of each table,
// however many keys lie between. It holds the handle's read lock until
// Close.
type KeyCursor struct {
	db     *DB
	prefix []byte
	it     *mergeIter
	closed bool
}

// KeyCursor returns a cursor over the live keys starting with prefix.
// Close it when done.
func (db *DB) KeyCursor(prefix []byte) (*KeyCursor, error) {
	db.mu.RLock()
	if err := db.checkOpen(); err != nil {
		db.mu.RUnlock()
		return nil, err
	}
	return &KeyCursor{db: db, prefix: bytes.Clone(prefix), it: db.newIter(prefix)}, nil
}

// SeekGE returns the first live key that is >= key and starts with the
// cursor's prefix, or ok false when there is none.
func (c *KeyCursor) SeekGE(key []byte) (k []byte, ok bool, err error) {
	if bytes.Compare(key, c.prefix) < 0 {
		key = c.prefix
	}
	c.it.SeekGE(key)
	for c.it.Next() {
		op := c.it.Op()
		if !bytes.HasPrefix(op.Key, c.prefix) {
			return nil, false, nil
		}
		if c.db.live(op) {
			return bytes.Clone(op.Key), true, nil
		}
	}
	return nil, false, c.it.Err()
}

// Close releases the handle's read lock.
func (c *KeyCursor) Close() {
	if !c.closed {
		c.closed = true
		c.db.mu.RUnlock()
	}
}
