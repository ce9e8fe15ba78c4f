//go:build benchprofile

package workload

import (
	"errors"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
)

// profiled runs f, writing its CPU profile to $BENCH_CPUPROFILE and its
// execution trace (where goroutines wait: go tool trace -pprof=sync or
// =syscall) to $BENCH_TRACE, for each that is set:
//
//	go build -tags benchprofile -o /tmp/bench-kv ./cmd/bench-kv
//	BENCH_CPUPROFILE=cpu.prof BENCH_TRACE=trace.out /tmp/bench-kv load /tmp/s 1000000
func profiled(f func() error) (err error) {
	for _, p := range []struct {
		env   string
		start func(io.Writer) error
		stop  func()
	}{
		{"BENCH_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile},
		{"BENCH_TRACE", trace.Start, trace.Stop},
	} {
		file := os.Getenv(p.env)
		if file == "" {
			continue
		}
		out, cerr := os.Create(file)
		if cerr != nil {
			return cerr
		}
		if serr := p.start(out); serr != nil {
			out.Close()
			return serr
		}
		defer func() {
			p.stop()
			err = errors.Join(err, out.Close())
		}()
	}
	return f()
}
