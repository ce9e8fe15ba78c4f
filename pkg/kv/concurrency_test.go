package kv_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestConcurrentUse shares one handle between writers, readers and a
// compactor (run it with -race): each writer's keys end with its last
// values, and readers never see a value that was not written.
func TestConcurrentUse(t *testing.T) {
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 1500))
	if err != nil {
		t.Fatal(err)
	}
	const writers, rounds = 4, 60
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				k := []byte(fmt.Sprintf("w%d-k%02d", w, i%10))
				if err := db.Set(k, []byte(fmt.Sprintf("w%d-v%03d", w, i))); err != nil {
					errs <- err
					return
				}
				if i%7 == 0 {
					var b kv.Batch
					b.Delete([]byte(fmt.Sprintf("w%d-k%02d", w, (i+3)%10)))
					b.Set([]byte(fmt.Sprintf("w%d-batch", w)), []byte(fmt.Sprint(i)))
					if err := db.Apply(&b); err != nil {
						errs <- err
						return
					}
				}
			}
		}(w)
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for r := 0; r < 2; r++ {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := db.Scan(nil, func(e kv.Entry) error {
					if len(e.Value) == 0 || e.Value[0] != 'w' && string(e.Key[len(e.Key)-5:]) != "batch" {
						return fmt.Errorf("foreign value %q under %q", e.Value, e.Key)
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				db.Get([]byte("w0-k00"))
			}
		}()
	}
	readers.Add(1)
	go func() {
		defer readers.Done()
		for i := 0; i < 5; i++ {
			if _, err := db.Compact(); err != nil {
				errs <- err
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want := state{}
	for w := 0; w < writers; w++ {
		for i := 0; i < rounds; i++ {
			want[fmt.Sprintf("w%d-k%02d", w, i%10)] = fmt.Sprintf("w%d-v%03d", w, i)
			if i%7 == 0 {
				delete(want, fmt.Sprintf("w%d-k%02d", w, (i+3)%10))
				want[fmt.Sprintf("w%d-batch", w)] = fmt.Sprint(i)
			}
		}
	}
	if err := checkStore(db, want, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db, err = kv.Open(memDir, memOptions(mem, 1500))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := checkStore(db, want, nil); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
}
