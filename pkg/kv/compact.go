package kv

// CompactStats describes a compaction.
type CompactStats struct {
	BytesBefore, BytesAfter int64
	TablesBefore            int
}

// Compact merges the log and every table into one table holding only live
// values: tombstones, overwritten and expired values are dropped. The
// resulting table's bytes depend only on the live contents.
func (db *DB) Compact() (CompactStats, error) {
	db.lockWriter()
	defer db.unlockWriter()
	if err := db.writable(); err != nil {
		return CompactStats{}, err
	}
	st := CompactStats{BytesBefore: db.diskBytes(), TablesBefore: len(db.tables)}
	if db.openedAs != nil {
		// Nothing changed since Open flushed the log it found: the log
		// and tables before that flush are what this compacts.
		st.BytesBefore, st.TablesBefore = db.openedAs.bytes, db.openedAs.tables
	}
	its := []iterator{&sliceIter{ops: db.mem.sorted(nil)}}
	for _, t := range db.tables {
		its = append(its, tableIter{Iterator: t.mapped().NewIterator(), db: db, num: t.num})
	}
	if err := db.rewrite(its, len(db.tables), true, true); err != nil {
		return st, err
	}
	st.BytesAfter = db.diskBytes()
	return st, nil
}

// diskBytes is the size of the live files.
func (db *DB) diskBytes() int64 {
	n := db.walEnd
	for _, t := range db.tables {
		n += t.r.Load().Size()
	}
	return n
}
