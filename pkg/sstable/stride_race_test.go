//go:build race

package sstable

const flipStride = 7

// raceEnabled says the race detector is on: tests that check arithmetic
// over many shapes run fewer of them, since the race run looks for data
// races and the plain run covers every case.
const raceEnabled = true
