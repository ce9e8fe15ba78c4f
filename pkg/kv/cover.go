package kv

// A table's cover is the range of revisions [lo, hi] it stands for: every
// write with a revision in it went into the rewrite that made the table,
// which kept the write or dropped it as superseded (sstable.Writer
// SetCover, docs/FORMAT.md §6.5). A rewrite's output covers what its
// inputs covered, so the live tables' covers are disjoint and a table that
// a rewrite replaced has its cover inside a live table's. That is the rule
// by which Repair, with no manifest to go by, tells a replaced table that
// a power loss kept from a live one (§12.6): it drops every table whose
// cover lies inside another's. A rewrite whose output has no entries still
// writes the table, so that its cover is on disk.
type cover struct{ lo, hi uint64 }

// none reports a cover that records nothing: a table of version 1 or 2,
// or a rewrite of no writes.
func (c cover) none() bool { return c.hi == 0 }

// within reports whether every revision c covers is covered by d as well:
// a table covering c was replaced by one covering d, or by a table d's
// replaced in its turn.
func (c cover) within(d cover) bool {
	return !c.none() && !d.none() && d.lo <= c.lo && c.hi <= d.hi
}

// tableCover is the cover a table records.
func (t *table) cover() cover {
	lo, hi := t.r.Load().Cover()
	return cover{lo, hi}
}

// rewriteCover is the cover of a rewrite of the newest `replaced` tables
// and, when withLog, of the log's writes: [db.walFirst, db.nextSeq-1]. A
// replaced table without a cover stands for everything before it, so the
// result starts at 0; so does a bottom rewrite's, whose output is the
// oldest table.
func (db *DB) rewriteCover(replaced int, withLog, bottom bool) cover {
	var c cover
	joined := false
	join := func(d cover) {
		if joined {
			c = cover{min(c.lo, d.lo), max(c.hi, d.hi)}
		} else {
			c, joined = d, true
		}
	}
	for _, t := range db.tables[:replaced] {
		join(t.cover()) // none is {0, 0}: from 0
	}
	if withLog && db.nextSeq > db.walFirst {
		join(cover{db.walFirst, db.nextSeq - 1})
	}
	if bottom {
		c.lo = 0
	}
	return c
}
