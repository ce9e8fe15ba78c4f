package crc32c

import (
	"hash/crc32"
	"math/rand/v2"
	"testing"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// implementations are the package's own loops, each to agree with
// hash/crc32.
var implementations = []struct {
	name   string
	update func(crc uint32, p []byte) uint32
}{
	{"software", func(crc uint32, p []byte) uint32 { return updateSoftware(crc, slicing8(), p) }},
	{"own", updateOwn}, // the CRC32 instruction where there is one
}

// Each loop must agree with hash/crc32 at every length and alignment, and
// when a checksum is continued with Update.
func TestLoopsMatchHashCRC32(t *testing.T) {
	t.Logf("CRC32 instruction: %v", haveSSE42)
	rng := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 4096+16)
	for i := range buf {
		buf[i] = byte(rng.Uint32())
	}
	for _, impl := range implementations {
		for n := 0; n <= 300; n++ {
			for off := range 8 {
				p := buf[off : off+n]
				if got, want := impl.update(0, p), crc32.Checksum(p, castagnoli); got != want {
					t.Fatalf("%s: len %d offset %d: %08x, hash/crc32 %08x", impl.name, n, off, got, want)
				}
			}
		}
		p := buf[:4096]
		for cut := 0; cut <= len(p); cut += 37 {
			got := impl.update(impl.update(0, p[:cut]), p[cut:])
			if want := crc32.Checksum(p, castagnoli); got != want {
				t.Fatalf("%s: continued at %d: %08x, want %08x", impl.name, cut, got, want)
			}
		}
		// The check value of the CRC-32C catalogue entry.
		if got := impl.update(0, []byte("123456789")); got != 0xe3069283 {
			t.Fatalf("%s: check value %08x, want e3069283", impl.name, got)
		}
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
	for i := 0; i < int(2*ownBudget())/len(p); i++ {
		if got := Checksum(p); got != want {
			t.Fatalf("call %d (hardware=%v): %08x, want %08x", i, hardware.Load(), got, want)
		}
	}
	if !hardware.Load() {
		t.Fatalf("still in the own loop after %d bytes", ownBytes.Load())
	}
	if got := Update(Checksum(p[:100]), p[100:]); got != want {
		t.Fatalf("Update after the switch: %08x, want %08x", got, want)
	}
}

func FuzzChecksum(f *testing.F) {
	f.Add([]byte("123456789"), uint32(0))
	f.Add(make([]byte, 33), uint32(0xffffffff))
	f.Fuzz(func(t *testing.T, p []byte, seed uint32) {
		want := crc32.Update(seed, castagnoli, p)
		for _, impl := range implementations {
			if got := impl.update(seed, p); got != want {
				t.Fatalf("%s %08x, hash/crc32 %08x", impl.name, got, want)
			}
		}
	})
}

func BenchmarkLoops4KiB(b *testing.B) {
	p := make([]byte, 4096)
	for _, impl := range implementations {
		b.Run(impl.name, func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				impl.update(0, p)
			}
		})
	}
}
