//go:build amd64 && !purego

package crc32c

// haveSSE42 tells whether the processor has the CRC32 instruction.
var haveSSE42 = cpuHasSSE42()

// cpuHasSSE42 asks the processor, with the one CPUID instruction it takes
// (crc32c_amd64.s). golang.org/x/sys/cpu asked with about ten at the
// start of every process, and in a virtual machine each one traps to the
// hypervisor: a one-shot kv get spent 1% of its time there.
func cpuHasSSE42() bool

// updateSSE42 is implemented in crc32c_amd64.s.
//
//go:noescape
func updateSSE42(crc uint32, p []byte) uint32

// updateOwn is the package's own loop: the CRC32 instruction where the
// processor has it, the software loop otherwise.
func updateOwn(crc uint32, p []byte) uint32 {
	if haveSSE42 {
		return updateSSE42(crc, p)
	}
	return updateSoftware(crc, slicing8(), p)
}

// ownBudget is how many bytes a process checksums with updateOwn before it
// switches to hash/crc32 for good. One stream of the instruction checksums
// 8.2 GB/s here, hash/crc32's three streams 15-18 GB/s after their
// quarter-millisecond start, which pays for itself after about 4 MiB.
func ownBudget() int64 {
	if haveSSE42 {
		return 4 << 20
	}
	return softwareBudget
}
