// Package coord holds the coordination primitives kv offers on a plain
// data directory, for scripts and cron jobs on one host: named locks with
// fencing tokens (Acquire), and waiting for a key to change (Watch). Each
// is defined by its observable contract, which the etcd backend meets with
// etcd's own primitives (concurrency.Mutex, Watch from a revision).
//
// Named locks live in the data directory's locks/ folder, one directory
// per name, apart from the store's files: holding one never holds the
// store's lock, so other kv commands, the lock holder's own included,
// proceed.
package coord
