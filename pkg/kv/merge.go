package kv

import (
	"bytes"

	"github.com/kvtool/kv/pkg/wal"
)

// iterator is a sorted stream of operations; sstable.Iterator and sliceIter
// are iterators.
type iterator interface {
	Next() bool
	Op() wal.Op
	Err() error
	// SeekGE positions the iterator so that Next yields the first
	// operation whose key is >= key.
	SeekGE(key []byte)
}

// mergeIter merges iterators given newest first: for a key present in
// several, only the newest operation is yielded.
type mergeIter struct {
	its  []iterator
	cur  []wal.Op
	live []bool
	op   wal.Op
	err  error
	init bool
}

func newMergeIter(its []iterator) *mergeIter {
	return &mergeIter{its: its, cur: make([]wal.Op, len(its)), live: make([]bool, len(its))}
}

func (m *mergeIter) advance(i int) {
	if m.its[i].Next() {
		m.cur[i], m.live[i] = m.its[i].Op(), true
		return
	}
	m.live[i] = false
	if err := m.its[i].Err(); err != nil && m.err == nil {
		m.err = err
	}
}

func (m *mergeIter) Next() bool {
	if !m.init {
		m.init = true
		for i := range m.its {
			m.advance(i)
		}
	}
	if m.err != nil {
		return false
	}
	best := -1
	for i := range m.its {
		if m.live[i] && (best < 0 || bytes.Compare(m.cur[i].Key, m.cur[best].Key) < 0) {
			best = i
		}
	}
	if best < 0 {
		return false
	}
	m.op = m.cur[best]
	// Copy nothing: sources keep their bytes alive while the merge runs.
	for i := range m.its {
		if m.live[i] && bytes.Equal(m.cur[i].Key, m.op.Key) {
			m.advance(i)
		}
	}
	return m.err == nil
}

func (m *mergeIter) Op() wal.Op { return m.op }
func (m *mergeIter) Err() error { return m.err }

// SeekGE positions every source at key; the next Next merges from there.
func (m *mergeIter) SeekGE(key []byte) {
	for _, it := range m.its {
		it.SeekGE(key)
	}
	m.init = false
}
