//go:build amd64 && !purego

package crc32c

import (
	"testing"

	"golang.org/x/sys/cpu"
)

// TestCPUHasSSE42 checks the package's own CPUID against x/sys/cpu's.
func TestCPUHasSSE42(t *testing.T) {
	if got, want := cpuHasSSE42(), cpu.X86.HasSSE42; got != want {
		t.Fatalf("cpuHasSSE42() = %v, x/sys/cpu says %v", got, want)
	}
}
