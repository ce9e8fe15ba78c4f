package crc32c

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// The software loop must agree with hash/crc32 at every length and
// alignment, and when a checksum is continued with Update.
func TestSoftwareMatchesHashCRC32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4096+16)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for n := 0; n <= 300; n++ {
		for off := range 8 {
			p := buf[off : off+n]
			if got, want := updateSoftware(0, slicing8(), p), crc32.Checksum(p, castagnoli); got != want {
				t.Fatalf("len %d offset %d: software %08x, hash/crc32 %08x", n, off, got, want)
			}
		}
	}
	p := buf[:4096]
	for cut := 0; cut <= len(p); cut += 37 {
		got := updateSoftware(updateSoftware(0, slicing8(), p[:cut]), slicing8(), p[cut:])
		if want := crc32.Checksum(p, castagnoli); got != want {
			t.Fatalf("continued at %d: %08x, want %08x", cut, got, want)
		}
	}
	// The check value of the CRC-32C catalogue entry.
	if got := updateSoftware(0, slicing8(), []byte("123456789")); got != 0xe3069283 {
		t.Fatalf("check value %08x, want e3069283", got)
	}
}

// Checksum switches to hash/crc32 once the budget is spent and gives the
// same answers on both sides of the switch.
func TestBudgetSwitchesToHardware(t *testing.T) {
	if hardware.Load() {
		t.Fatal("hardware path already chosen before any budget was spent")
	}
	p := make([]byte, 64<<10)
	for i := range p {
		p[i] = byte(i * 7)
	}
	want := crc32.Checksum(p, castagnoli)
	for i := 0; i < 2*SoftBudget/len(p); i++ {
		if got := Checksum(p); got != want {
			t.Fatalf("call %d (hardware=%v): %08x, want %08x", i, hardware.Load(), got, want)
		}
	}
	if !hardware.Load() {
		t.Fatalf("still in software after %d bytes", softBytes.Load())
	}
	if got := Update(Checksum(p[:100]), p[100:]); got != want {
		t.Fatalf("Update after the switch: %08x, want %08x", got, want)
	}
}

func FuzzChecksum(f *testing.F) {
	f.Add([]byte("123456789"), uint32(0))
	f.Add(make([]byte, 33), uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, p []byte, seed uint32) {
		if got, want := updateSoftware(seed, slicing8(), p), crc32.Update(seed, castagnoli, p); got != want {
			t.Fatalf("software %08x, hash/crc32 %08x", got, want)
		}
	})
}

func BenchmarkSoftware4KiB(b *testing.B) {
	p := make([]byte, 4096)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		updateSoftware(0, slicing8(), p)
	}
}
