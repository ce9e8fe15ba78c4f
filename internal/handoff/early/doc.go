// Package early hands a cluster command over to kv-etcd while the kv
// binary initialises its packages, before the rest of them (Cobra, Viper,
// the table and YAML packages) run their initialisation: a command that
// runs on a cluster starts two processes, and the first should cost as
// little as it can. Only the kv binary's main package imports it.
//
// Go initialises the packages in the order of their import paths, each
// once all its imports are: importing only os, strings, syscall and
// handoff lets this package run before most of the binary's others.
//
// It does nothing when the endpoints come from the config file, when
// kv-etcd is not beside the kv executable, or when exec fails: the
// command tree then hands over the usual way, or says what is missing.
//
// The hand-over is built on unix systems; the kv_noearly build tag leaves
// it out, for the benchmark that shows what it costs a local command
// (etcd/bench_test.go).
package early
