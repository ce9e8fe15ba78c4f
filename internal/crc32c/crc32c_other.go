//go:build !amd64 || purego

package crc32c

// haveSSE42 is false off amd64: the own loop is the software one.
const haveSSE42 = false

// updateOwn is the package's own loop: the software one here.
func updateOwn(crc uint32, p []byte) uint32 { return updateSoftware(crc, slicing8(), p) }

// ownBudget is how many bytes a process checksums with updateOwn before it
// switches to hash/crc32 for good.
func ownBudget() int64 { return softwareBudget }
