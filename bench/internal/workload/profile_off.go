//go:build !benchprofile

package workload

// profiled runs f. Built with -tags benchprofile it can also profile f;
// without the tag the binaries that run.sh times link no profiler.
func profiled(f func() error) error { return f() }
