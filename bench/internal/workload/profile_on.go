//go:build benchprofile

package workload

import (
	"errors"
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
	if file := os.Getenv("BENCH_CPUPROFILE"); file != "" {
		out, cerr := os.Create(file)
		if cerr != nil {
			return cerr
		}
		if cerr := pprof.StartCPUProfile(out); cerr != nil {
			out.Close()
			return cerr
		}
		defer func() {
			pprof.StopCPUProfile()
			err = errors.Join(err, out.Close())
		}()
	}
	if file := os.Getenv("BENCH_TRACE"); file != "" {
		out, terr := os.Create(file)
		if terr != nil {
			return terr
		}
		if terr := trace.Start(out); terr != nil {
			out.Close()
			return terr
		}
		defer func() {
			trace.Stop()
			err = errors.Join(err, out.Close())
		}()
	}
	return f()
}
