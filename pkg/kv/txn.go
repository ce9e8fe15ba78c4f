package kv

import (
	"time"

	"github.com/kvtool/kv/pkg/wal"
)

// Txn is a read-modify-write transaction: reads see the store plus the
// transaction's own writes, and the writes are applied as one atomic batch
// when the function passed to Update returns nil.
type Txn struct {
	db    *DB
	batch Batch
	own   map[string]wal.Op
}

// Update runs fn under the handle's write lock, so no other writer of this
// handle (and, through the directory lock, of any process) runs between
// its reads and its writes. If fn returns an error nothing is written.
func (db *DB) Update(fn func(tx *Txn) error) error {
	db.lockWriter()
	defer db.unlockWriter()
	if err := db.writable(); err != nil {
		return err
	}
	tx := &Txn{db: db, own: map[string]wal.Op{}}
	if err := fn(tx); err != nil {
		return err
	}
	if tx.batch.Len() == 0 {
		return nil
	}
	for _, op := range tx.batch.ops {
		if err := validate(op); err != nil {
			return err
		}
	}
	return db.applyLocked(tx.batch.ops)
}

// Get reads key as the transaction sees it.
func (tx *Txn) Get(key []byte) ([]byte, error) {
	v, _, err := tx.GetWithExpiry(key)
	return v, err
}

// GetWithExpiry reads key and its expiry (zero time when none).
func (tx *Txn) GetWithExpiry(key []byte) ([]byte, time.Time, error) {
	e, err := tx.GetEntry(key)
	return e.Value, e.ExpiresAt, err
}

// GetEntry reads key's entry as the transaction sees it. A key the
// transaction wrote reports the revision its commit will take.
func (tx *Txn) GetEntry(key []byte) (Entry, error) {
	op, ok := tx.own[string(key)]
	if ok {
		op.Rev = tx.db.nextSeq
	} else {
		var err error
		op, ok, err = tx.db.lookup(key)
		if err != nil {
			return Entry{}, err
		}
	}
	return tx.db.visible(op, ok)
}

// Set stages a write.
func (tx *Txn) Set(key, value []byte) {
	tx.batch.Set(key, value)
	tx.own[string(key)] = tx.batch.ops[len(tx.batch.ops)-1]
}

// SetExpiring stages an expiring write.
func (tx *Txn) SetExpiring(key, value []byte, expiresAt time.Time) {
	tx.batch.SetExpiring(key, value, expiresAt)
	tx.own[string(key)] = tx.batch.ops[len(tx.batch.ops)-1]
}

// Delete stages a removal.
func (tx *Txn) Delete(key []byte) {
	tx.batch.Delete(key)
	tx.own[string(key)] = tx.batch.ops[len(tx.batch.ops)-1]
}
