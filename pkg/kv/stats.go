package kv

import (
	"github.com/kvtool/kv/pkg/manifest"
)

// TableStats describes one live table.
type TableStats struct {
	File    string
	Bytes   int64
	Entries uint64
}

// Stats describes a store's contents and files.
type Stats struct {
	Keys int
	// LiveBytes is the size of the live keys and values.
	LiveBytes int64
	// DiskBytes is the size of the live files (log and tables).
	DiskBytes int64
	// DeadBytes estimates what compaction would reclaim: the files' share
	// of entries that are not live keys.
	DeadBytes     int64
	LogFile       string
	LogBytes      int64
	Tables        []TableStats
	GarbageRatio  float64
	FormatVersion int
	// Revision is the store's revision (DB.Revision).
	Revision uint64
	// IndexBytes is the memory the tables' lookup indexes take now, at
	// most Options.IndexMemory.
	IndexBytes int64
}

// Stats scans the store and reports its figures.
func (db *DB) Stats() (Stats, error) {
	st := Stats{FormatVersion: manifest.Version, Tables: []TableStats{}}
	err := db.Scan(nil, func(e Entry) error {
		st.Keys++
		st.LiveBytes += int64(len(e.Key) + len(e.Value))
		return nil
	})
	if err != nil {
		return st, err
	}
	db.mu.RLock()
	defer db.mu.RUnlock()
	st.Revision = max(db.nextSeq, 1) - 1
	if db.indexes != nil {
		st.IndexBytes = db.indexes.Used()
	}
	if db.man != nil {
		st.LogFile = walName(db.man.WAL)
		st.LogBytes = db.walEnd
	}
	st.DiskBytes = st.LogBytes
	for _, t := range db.tables {
		r := t.r.Load()
		st.Tables = append(st.Tables, TableStats{File: tableName(t.num), Bytes: r.Size(), Entries: r.Entries()})
		st.DiskBytes += r.Size()
	}
	// Entries beyond the live keys (overwritten values, tombstones,
	// expired values) are what compaction drops; their share of the files
	// estimates the bytes it would reclaim. Format overhead is not dead.
	total := uint64(db.walOps)
	for _, t := range db.tables {
		total += t.r.Load().Entries()
	}
	if total > uint64(st.Keys) {
		st.DeadBytes = int64(float64(st.DiskBytes) * float64(total-uint64(st.Keys)) / float64(total))
	}
	if st.DiskBytes > 0 {
		st.GarbageRatio = float64(st.DeadBytes) / float64(st.DiskBytes)
	}
	return st, nil
}
