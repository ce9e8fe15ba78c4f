package kv

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"sort"

	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/sstable"
	"github.com/kvtool/kv/pkg/vfs"
	"github.com/kvtool/kv/pkg/wal"
)

// RepairOptions configure Repair.
type RepairOptions struct {
	Options
	// DryRun reports what Repair would do and changes nothing.
	DryRun bool
}

// RepairReport says what Repair kept and what it could not.
type RepairReport struct {
	// Damaged lists the files with damage, copied aside into MovedTo.
	Damaged []string `json:"damaged"`
	// MovedTo is the folder inside the data directory that holds copies of
	// the damaged files ("" when nothing was damaged or on a dry run).
	MovedTo string `json:"moved_to,omitempty"`
	// Lost describes every stretch of bytes that could not be read.
	Lost []Problem `json:"lost"`
	// Records is the number of intact log records salvaged, Entries the
	// number of intact table entries.
	Records int `json:"records"`
	Entries int `json:"entries"`
	// Keys is the number of live keys in the repaired store.
	Keys int `json:"keys"`
	// DroppedRecords is how many log records the damage is known to have
	// taken, from the gaps in the sequence numbers of the records kept: a
	// lower bound, since damage at the end of a log hides how many
	// followed. DroppedEntries is how many table entries it took, where a
	// damaged table's footer still gives its count.
	DroppedRecords int64 `json:"dropped_records"`
	DroppedEntries int64 `json:"dropped_entries"`
	// DroppedBytes is the sum of Lost's Bytes: the bytes of records and
	// table entries that could not be read.
	DroppedBytes int64 `json:"dropped_bytes"`
	// MayHaveLostNewer lists, in order, every key whose newest version
	// kept is older than some damaged range that could have held a newer
	// one: its value in the repaired store (or its absence, where what
	// was kept is a deletion) may be out of date. kv cannot tell which of
	// them did lose a version; every other key's newest version is known.
	MayHaveLostNewer []string `json:"may_have_lost_newer"`
	// Superseded names the tables Repair found but did not read: a
	// rewrite replaced them (their cover lies inside a live table's, see
	// docs/FORMAT.md §12.6), and a power loss kept them. They are removed
	// with the other leftovers.
	Superseded []string `json:"superseded"`
	// Revision is the store's revision after the repair: the next write
	// takes a larger one. Where a damaged log may have held later
	// revisions, it is above any the log could have held, so no revision
	// is ever given twice.
	Revision uint64 `json:"revision"`
	// Renumber is true when the store's file numbers are near
	// manifest.MaxFileNum, so Repair rebuilds it from low numbers even
	// without damage.
	Renumber bool `json:"renumber,omitempty"`
	// Repaired is false when there was nothing to repair.
	Repaired bool `json:"repaired"`
}

// Repair salvages every intact record of a damaged store. It reads every
// log and table (those the manifest names, or every store file when the
// manifest itself is damaged), keeps each intact record and table block,
// copies each damaged file into a dated folder inside the data directory,
// and makes a new store of what it kept: one table and an empty log, made
// live by a new manifest. Nothing is deleted before its copy is durable, and
// the old files stay live until the new manifest is, so a crash during
// Repair leaves a store Repair can run on again. A store holding a file
// written by a newer kv is refused untouched (ErrUnsupportedVersion).
func Repair(dir string, opts *RepairOptions) (*RepairReport, error) {
	var ro RepairOptions
	if opts != nil {
		ro = *opts
	}
	o := ro.Options
	o.ReadOnly = ro.DryRun
	o = o.withDefaults()
	dir = resolveDir(o.FS, dir)
	db := &DB{fs: o.FS, dir: dir, opts: o, mem: newMemtable()}
	defer db.releaseAll()
	lock, err := db.fs.LockDir(dir, !ro.DryRun, o.LockTimeout)
	if errors.Is(err, fs.ErrNotExist) {
		return &RepairReport{}, nil
	}
	if err != nil {
		return nil, db.lockError(err)
	}
	db.lock = lock

	if err := db.checkVersions(); err != nil {
		return nil, err
	}
	rep := &RepairReport{Damaged: []string{}, Lost: []Problem{}, MayHaveLostNewer: []string{}, Superseded: []string{}}
	logs, tables, minSeq, maxNum, err := db.repairSources(rep)
	if err != nil {
		return nil, err
	}
	// Apply oldest first: tables from the oldest, then the logs in order.
	// Every table, and every log record, is one point in the store's
	// history, numbered by pos; newest records the point of each key's
	// newest version kept, and damageAt the latest point a damaged range
	// sits at. A key whose newest version is older than that range may
	// have had a newer one in it.
	state := newMemtable()
	var pos int64
	// maxRev is the largest revision the store may have given: the new
	// log starts above it.
	var maxRev uint64
	newest := map[string]int64{}
	damageAt := int64(-1)
	keep := func(ops []wal.Op) {
		for _, op := range ops {
			newest[string(op.Key)] = pos
		}
		state.applyOps(ops)
	}
	for i := len(tables) - 1; i >= 0; i-- {
		pos++
		data, release, err := db.fs.Map(db.path(tableName(tables[i])))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			// A file that cannot be read now is not damaged: stop
			// rather than build a store without it.
			return nil, err
		}
		if err != nil {
			rep.Lost = append(rep.Lost, Problem{File: db.path(tableName(tables[i])), Offset: -1, Reason: err.Error()})
			db.markDamaged(rep, tableName(tables[i]))
			damageAt = pos
			continue
		}
		ops, lost := sstable.Salvage(data)
		ops = cloneOps(ops)
		for _, op := range ops {
			maxRev = max(maxRev, op.Rev)
		}
		if r, err := sstable.Open(data); err == nil {
			_, hi := r.Cover()
			maxRev = max(maxRev, hi)
			if n := int64(r.Entries()); len(lost) > 0 && n > int64(len(ops)) {
				rep.DroppedEntries += n - int64(len(ops))
			}
			r.Close()
		}
		release()
		rep.Entries += len(ops)
		keep(ops)
		for _, p := range lost {
			rep.Lost = append(rep.Lost, Problem{File: db.path(tableName(tables[i])), Offset: p.Offset, Reason: p.Reason, Bytes: p.Bytes})
		}
		if len(lost) > 0 {
			db.markDamaged(rep, tableName(tables[i]))
			// Each key is in a table once: a damaged block of this
			// table can hide a newer version only of keys kept from
			// older ones.
			damageAt = pos
		}
	}
	for _, num := range logs {
		name := walName(num)
		data, release, tooLarge, err := db.salvageLogBytes(name)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err != nil {
			rep.Lost = append(rep.Lost, Problem{File: db.path(name), Offset: -1, Reason: err.Error()})
			db.markDamaged(rep, name)
			pos++
			damageAt = pos
			continue
		}
		if tooLarge > 0 {
			rep.Lost = append(rep.Lost, Problem{File: db.path(name), Offset: wal.MaxLogBytes,
				Reason: fmt.Sprintf("%d bytes beyond any size the engine writes, cut", tooLarge-wal.MaxLogBytes), Bytes: tooLarge - wal.MaxLogBytes})
			db.markDamaged(rep, name)
		}
		// A torn tail is what a crash leaves, not damage.
		_, scanErr := wal.Scan(data, nil)
		records, damaged := wal.Salvage(data)
		// A clean scan, torn tail or not, means nothing was lost; only a
		// scan error makes the file damaged.
		if scanErr == nil {
			damaged = nil
		}
		maxRev = max(maxRev, logRevisionBound(data, scanErr != nil))
		base := pos
		for i, r := range records {
			pos++
			maxRev = max(maxRev, r.Seq)
			// Records before minSeq were flushed into a table already
			// (see repairSources); replaying them would bring back values
			// that later tables overwrote.
			if r.Seq >= minSeq {
				ops := cloneOps(r.Ops)
				for j := range ops {
					ops[j].Rev = r.Seq
				}
				keep(ops)
			}
			if i > 0 && r.Seq > records[i-1].Seq+1 && scanErr != nil {
				rep.DroppedRecords += int64(r.Seq - records[i-1].Seq - 1)
			}
		}
		for _, d := range damaged {
			// The range sits after the records that start before it
			// (records are in file order).
			before := sort.Search(len(records), func(i int) bool { return records[i].Offset >= d[0] })
			damageAt = max(damageAt, base+int64(before)+1)
		}
		release()
		rep.Records += len(records)
		if scanErr != nil {
			db.markDamaged(rep, name)
			for _, d := range damaged {
				rep.Lost = append(rep.Lost, Problem{File: db.path(name), Offset: d[0], Reason: fmt.Sprintf("%d unreadable bytes", d[1]-d[0]), Bytes: d[1] - d[0]})
			}
		}
	}
	for _, p := range rep.Lost {
		rep.DroppedBytes += p.Bytes
	}
	for k, at := range newest {
		if at < damageAt {
			rep.MayHaveLostNewer = append(rep.MayHaveLostNewer, k)
		}
	}
	slices.Sort(rep.MayHaveLostNewer)
	live := state.sorted(nil)
	for _, op := range live {
		if db.live(op) {
			rep.Keys++
		}
	}
	rep.Revision = maxRev
	rep.Renumber = maxNum > manifest.MaxFileNum-2
	if (len(rep.Damaged) == 0 && !rep.Renumber) || ro.DryRun {
		rep.Repaired = false
		return rep, nil
	}
	if len(rep.Damaged) > 0 {
		if err := db.copyAside(rep); err != nil {
			return rep, err
		}
	}
	// Build the new store from what was kept.
	tnum, walNum, err := db.repairNumbers(maxNum)
	if err != nil {
		return rep, err
	}
	db.man = &manifest.Manifest{NextFile: tnum}
	// The table covers every revision up to maxRev: whatever else is
	// left in the directory is superseded by it.
	size, written, err := db.writeTable(tnum, &sliceIter{ops: live}, true, cover{0, maxRev})
	if err != nil {
		return rep, err
	}
	man := &manifest.Manifest{WAL: walNum, NextFile: max(tnum, walNum) + 1}
	if written {
		man.Tables = []manifest.Table{{Num: tnum, Size: size}}
	}
	if err := db.createWAL(man.WAL, maxRev+1); err != nil {
		return rep, err
	}
	if err := manifest.Write(db.fs, db.dir, man); err != nil {
		return rep, err
	}
	db.man = man
	if err := db.removeLeftovers(); err != nil {
		return rep, err
	}
	rep.Repaired = true
	return rep, nil
}

// salvageLogBytes returns the bytes of the log name that can hold its
// records: up to where its data ends (see wal.ReadFile), and at most
// wal.MaxLogBytes. tooLarge is the data's end when it passes that bound (0
// otherwise): the rest cannot be kv's.
func (db *DB) salvageLogBytes(name string) (data []byte, release func() error, tooLarge int64, err error) {
	lb, err := wal.ReadFile(db.fs, db.path(name), 0)
	if err != nil {
		return nil, nil, 0, err
	}
	if lb.End <= wal.MaxLogBytes {
		return lb.Data, lb.Release, 0, nil
	}
	data, release, err = db.fs.Map(db.path(name))
	if err != nil {
		return nil, nil, 0, err
	}
	return data[:wal.MaxLogBytes], release, lb.End, nil
}

// repairNumbers picks the numbers of the repaired store's table and log:
// the two after maxNum, the largest number in use, or, when those would
// pass manifest.MaxFileNum, the two smallest numbers no file in the
// directory uses (the old files are removed once the new manifest is
// durable, so the store then starts again from low numbers).
func (db *DB) repairNumbers(maxNum uint64) (table, log uint64, err error) {
	if maxNum <= manifest.MaxFileNum-2 {
		return maxNum + 1, maxNum + 2, nil
	}
	names, err := db.fs.List(db.dir)
	if err != nil {
		return 0, 0, err
	}
	used := map[uint64]bool{}
	for _, n := range names {
		if num, _, ok := manifest.ParseName(n); ok {
			used[num] = true
		}
	}
	var free []uint64
	for n := uint64(1); len(free) < 2; n++ {
		if !used[n] {
			free = append(free, n)
		}
	}
	return free[0], free[1], nil
}

func cloneOps(ops []wal.Op) []wal.Op {
	out := make([]wal.Op, len(ops))
	for i, op := range ops {
		op.Key = slices.Clone(op.Key)
		op.Value = slices.Clone(op.Value)
		out[i] = op
	}
	return out
}

func (db *DB) markDamaged(rep *RepairReport, name string) {
	if !slices.Contains(rep.Damaged, name) {
		rep.Damaged = append(rep.Damaged, name)
	}
}

// repairSources decides which files hold the store and in which order to
// replay them. With a readable manifest: the files it names, tables newest
// first, and every record of its log. When the manifest is damaged or
// missing: every table, newest (highest number) first, since a table's
// number orders its contents; and of the logs, only the records from the
// first sequence number of the newest log on. A log is created only after
// the table holding everything before it is synced (flush, compact,
// ingest), so older records are in some table, and replaying a leftover
// older log would resurrect overwritten values.
func (db *DB) repairSources(rep *RepairReport) (logs, tables []uint64, minSeq, maxNum uint64, err error) {
	names, err := db.fs.List(db.dir)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	var walNums []uint64
	for _, n := range names {
		num, ext, ok := manifest.ParseName(n)
		if !ok {
			continue
		}
		maxNum = max(maxNum, num)
		if ext == "wal" {
			walNums = append(walNums, num)
		} else {
			tables = append(tables, num)
		}
	}
	man, merr := manifest.Read(db.fs, db.dir)
	if merr == nil {
		if man.NextFile > maxNum {
			maxNum = man.NextFile - 1
		}
		tables = tables[:0]
		for _, t := range man.Tables {
			tables = append(tables, t.Num)
		}
		return []uint64{man.WAL}, tables, 0, maxNum, nil
	}
	if !errors.Is(merr, fs.ErrNotExist) && !errors.Is(merr, manifest.ErrCorrupt) {
		// The manifest could not be read, which does not make it
		// damaged: rebuilding from every file would revive leftovers.
		return nil, nil, 0, 0, merr
	}
	if !errors.Is(merr, fs.ErrNotExist) {
		rep.Lost = append(rep.Lost, Problem{File: db.path(manifest.FileName), Offset: -1, Reason: merr.Error()})
		db.markDamaged(rep, manifest.FileName)
	} else if maxNum > 0 {
		rep.Lost = append(rep.Lost, Problem{File: db.path(manifest.FileName), Offset: -1, Reason: "missing"})
		db.markDamaged(rep, manifest.FileName)
	}
	slices.Sort(walNums)
	slices.SortFunc(tables, func(a, b uint64) int { return cmp.Compare(b, a) })
	tables = db.dropSuperseded(rep, tables)
	if len(walNums) > 0 {
		newest := walNums[len(walNums)-1]
		if data, err := vfs.ReadFile(db.fs, db.path(walName(newest))); err == nil {
			if first, err := wal.DecodeHeader(data); err == nil {
				minSeq = first
			}
		}
	}
	return walNums, tables, minSeq, maxNum, nil
}

// copyAside copies every damaged file into damaged-<time>/ and syncs it,
// before anything else changes.
func (db *DB) copyAside(rep *RepairReport) error {
	folder := "damaged-" + db.opts.Now().UTC().Format("20060102T150405Z")
	target := db.path(folder)
	// Never mix two repairs' copies: find an unused name.
	for i := 2; ; i++ {
		_, err := db.fs.Stat(target)
		if errors.Is(err, fs.ErrNotExist) {
			break
		}
		if err != nil {
			// Only "not there" frees a name; any other error would make
			// this loop forever.
			return err
		}
		target = db.path(fmt.Sprintf("%s-%d", folder, i))
	}
	if err := db.fs.MkdirAll(target); err != nil {
		return err
	}
	for _, name := range rep.Damaged {
		data, release, err := db.fs.Map(db.path(name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return err
		}
		err = db.copyFile(filepath.Join(target, name), data)
		release()
		if err != nil {
			return err
		}
	}
	if err := db.fs.SyncDir(target); err != nil {
		return err
	}
	rep.MovedTo = target
	return db.fs.SyncDir(db.dir)
}

func (db *DB) copyFile(dst string, data []byte) error {
	f, err := db.fs.Create(dst)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(data, 0)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// dropSuperseded returns tables (newest first) without those a rewrite
// replaced, naming them in rep.Superseded: a table whose cover lies inside
// another's (a newer one's, when the two are equal). A table whose footer
// cannot be read has no cover here and is kept, for salvage to read what
// it can.
func (db *DB) dropSuperseded(rep *RepairReport, tables []uint64) []uint64 {
	covers := make([]cover, len(tables))
	for i, num := range tables {
		covers[i] = db.fileCover(num)
	}
	var kept []uint64
	for i, num := range tables {
		superseded := false
		for j := range tables {
			if j != i && covers[i].within(covers[j]) && (covers[i] != covers[j] || tables[j] > num) {
				superseded = true
				break
			}
		}
		if superseded {
			rep.Superseded = append(rep.Superseded, tableName(num))
			continue
		}
		kept = append(kept, num)
	}
	return kept
}

// fileCover is the cover table num records, or none when its footer
// cannot be read.
func (db *DB) fileCover(num uint64) cover {
	f, err := db.fs.Open(db.path(tableName(num)))
	if err != nil {
		return cover{}
	}
	defer f.Close()
	size, err := f.Size()
	if err != nil {
		return cover{}
	}
	r, err := sstable.OpenAt(f, size)
	if err != nil {
		return cover{}
	}
	defer r.Close()
	lo, hi := r.Cover()
	return cover{lo, hi}
}

// logRevisionBound is the largest revision the log in data may have
// given, as far as its header tells: an intact log's records are counted
// by the caller, so this is only firstSeq-1; a damaged log may have held
// records past what can be read, so its bound is the largest seq a log of
// its size could hold, every record taking at least wal.MinRecordSize
// bytes.
func logRevisionBound(data []byte, damaged bool) uint64 {
	first, err := wal.DecodeHeader(data)
	if err != nil || first == 0 {
		return 0
	}
	if !damaged {
		return first - 1
	}
	return first + uint64(len(data)-wal.HeaderSize)/wal.MinRecordSize
}
