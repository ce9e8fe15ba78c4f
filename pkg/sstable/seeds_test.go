package sstable

import (
	"testing"

	"github.com/kvtool/kv/internal/fuzzseed"
)

func TestFuzzCorpus(t *testing.T) {
	files := map[string][]byte{}
	for _, s := range tableSeeds() {
		files[s.name] = fuzzseed.File(s.data, s.reseal)
	}
	fuzzseed.Check(t, "FuzzTable", files)
}
