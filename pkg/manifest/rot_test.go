package manifest

import (
	"bytes"
	"testing"

	"github.com/kvtool/kv/internal/testsummary"
)

// TestEveryFlipDetected changes every byte of a manifest to every other
// value: Decode must refuse each one. The checksum covers the body; the
// checksum line itself must be spelled exactly as Encode writes it, or a
// flipped letter case in its hex digits would go unnoticed.
func TestEveryFlipDetected(t *testing.T) {
	enc := sample().Encode()
	cases := 0
	for p := range enc {
		for mask := 1; mask < 256; mask++ {
			b := bytes.Clone(enc)
			b[p] ^= byte(mask)
			if m, err := Decode(b); err == nil {
				t.Fatalf("byte %d (%q) ^= %#02x: decoded %+v without error", p, enc[p], mask, m)
			}
			cases++
		}
	}
	testsummary.Log(t, "manifest byte flips: %d (%d bytes × 255 values), all refused by Decode", cases, len(enc))
}
