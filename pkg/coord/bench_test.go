package coord

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// BenchmarkWatchLatency measures the time from a one-shot writer closing
// the store (what a kv set's exit is) to a watcher reporting the change:
// with the directory's change events, and polling every 20ms without.
//
//	go test ./pkg/coord -run '^$' -bench WatchLatency -benchtime 200x
func BenchmarkWatchLatency(b *testing.B) {
	for _, pollOnly := range []bool{false, true} {
		name := "events"
		if pollOnly {
			name = "poll-20ms"
		}
		b.Run(name, func(b *testing.B) {
			dir := filepath.Join(b.TempDir(), "st")
			write(b, dir, func(db *kv.DB) error { return db.Set([]byte("k"), []byte("0")) })
			got := make(chan time.Time, 1)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src := Source{Dir: dir, Poll: 20 * time.Millisecond, pollOnly: pollOnly}
			go Watch(ctx, src, Target{Key: []byte("k")}, 0, func(Event) error {
				got <- time.Now()
				return nil
			})
			time.Sleep(50 * time.Millisecond) // the watch has started
			var lat []time.Duration
			b.ResetTimer()
			for i := range b.N {
				write(b, dir, func(db *kv.DB) error { return db.Set([]byte("k"), fmt.Append(nil, i)) })
				done := time.Now()
				lat = append(lat, (<-got).Sub(done))
			}
			b.StopTimer()
			reportDistribution(b, lat, "latency")
		})
	}
}

// BenchmarkWriterWithWatchers measures a one-shot set (open, set, close,
// as kv set does) on a store with 0 and with 20 watchers of the key.
//
//	go test ./pkg/coord -run '^$' -bench WriterWithWatchers -benchtime 300x
func BenchmarkWriterWithWatchers(b *testing.B) {
	for _, watchers := range []int{0, 20} {
		for _, gap := range []time.Duration{0, 10 * time.Millisecond} {
			b.Run(fmt.Sprintf("watchers=%d/gap=%s", watchers, gap), func(b *testing.B) {
				dir := filepath.Join(b.TempDir(), "st")
				write(b, dir, func(db *kv.DB) error { return db.Set([]byte("k"), []byte("0")) })
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				for range watchers {
					go Watch(ctx, Source{Dir: dir}, Target{Key: []byte("k")}, 0, func(Event) error { return nil })
				}
				time.Sleep(50 * time.Millisecond)
				var took time.Duration
				b.ResetTimer()
				for i := range b.N {
					time.Sleep(gap)
					start := time.Now()
					write(b, dir, func(db *kv.DB) error { return db.Set([]byte("k"), fmt.Append(nil, i)) })
					took += time.Since(start)
				}
				b.ReportMetric(float64(took)/float64(b.N)/1e3, "set-us")
			})
		}
	}
}

// BenchmarkLockWait measures how long each of N contenders waits for one
// named lock held for 1ms at a time: p50, p99 and the longest wait, to
// compare with N x the hold time.
//
//	go test ./pkg/coord -run '^$' -bench LockWait -benchtime 1000x
func BenchmarkLockWait(b *testing.B) {
	contend(b, func(b *testing.B) func() (time.Duration, error) {
		dir := filepath.Join(b.TempDir(), "st")
		return func() (time.Duration, error) {
			start := time.Now()
			l, err := Acquire(vfs.Default, dir, "L", Forever)
			if err != nil {
				return 0, err
			}
			waited := time.Since(start)
			time.Sleep(time.Millisecond)
			return waited, l.Release()
		}
	})
}

// BenchmarkStoreWriterWait measures how long each of N one-shot writers
// (open, set, close, as kv set does) waits for the store's own lock:
// p50, p99 and the longest wait.
//
//	go test ./pkg/coord -run '^$' -bench StoreWriterWait -benchtime 1000x
func BenchmarkStoreWriterWait(b *testing.B) {
	contend(b, func(b *testing.B) func() (time.Duration, error) {
		dir := filepath.Join(b.TempDir(), "st")
		write(b, dir, func(db *kv.DB) error { return db.Set([]byte("n"), nil) })
		return func() (time.Duration, error) {
			start := time.Now()
			db, err := kv.Open(dir, &kv.Options{LockTimeout: time.Hour})
			if err != nil {
				return 0, err
			}
			waited := time.Since(start)
			if err := db.Set([]byte("n"), []byte("x")); err != nil {
				db.Close()
				return 0, err
			}
			return waited, db.Close()
		}
	})
}

// contend runs N = 8, 64 and 256 goroutines that each call the turn that
// setup returns b.N/N times, and reports the distribution of the waits
// the turns measured.
func contend(b *testing.B, setup func(b *testing.B) func() (time.Duration, error)) {
	for _, n := range []int{8, 64, 256} {
		b.Run(fmt.Sprintf("N=%d", n), func(b *testing.B) {
			turn := setup(b)
			var mu sync.Mutex
			var waits []time.Duration
			var wg sync.WaitGroup
			per := max(b.N/n, 1)
			b.ResetTimer()
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for range per {
						waited, err := turn()
						if err != nil {
							b.Error(err)
							return
						}
						mu.Lock()
						waits = append(waits, waited)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			reportDistribution(b, waits, "wait")
		})
	}
}

func reportDistribution(b *testing.B, d []time.Duration, what string) {
	if len(d) == 0 {
		return
	}
	slices.Sort(d)
	ms := func(x time.Duration) float64 { return float64(x) / float64(time.Millisecond) }
	b.ReportMetric(ms(d[len(d)/2]), what+"-p50-ms")
	b.ReportMetric(ms(d[len(d)*99/100]), what+"-p99-ms")
	b.ReportMetric(ms(d[len(d)-1]), what+"-max-ms")
}
