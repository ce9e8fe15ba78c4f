package sstable

import (
	"fmt"
	"io"
	"testing"

	"github.com/kvtool/kv/pkg/entry"
)

// BenchmarkWriterAdd is the table writer's cost per entry (13-byte keys,
// 100-byte values, as pkg/kv's benchmarks), apart from any file: the part
// of a flush, merge or ingest that encodes, hashes and checksums.
func BenchmarkWriterAdd(b *testing.B) {
	const n = 100_000
	ops := make([]entry.Op, n)
	value := make([]byte, 100)
	for i := range ops {
		ops[i] = entry.Op{Kind: entry.KindSet, Key: fmt.Appendf(nil, "key%010d", i), Value: value}
	}
	b.SetBytes(int64(n * (13 + 100)))
	for b.Loop() {
		w := NewWriter(io.Discard)
		for _, op := range ops {
			if err := w.Add(op); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := w.Finish(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/entry")
}
