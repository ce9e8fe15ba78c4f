//go:build !race

package kv_test

// raceEnabled is set under the race detector, whose run is about data
// races, not coverage: the exhaustive fault and bit rot tests then take a
// dense sample of their cases instead of every one.
const raceEnabled = false
