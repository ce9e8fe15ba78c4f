//go:build !race

package sstable

// flipStride is the step between flipped bytes in TestEveryByteFlip: every
// byte normally, a dense sample under the (much slower) race detector.
const flipStride = 1

// raceEnabled says the race detector is on (see stride_race_test.go).
const raceEnabled = false
