package kv_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestExpiry drives expiring values with the clock of Options.Now: they
// are visible with their expiry until it passes, then neither Get nor Scan
// nor Digest sees them, across reopens, and compaction drops them for
// good.
func TestExpiry(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	mem := vfs.NewMemFS()
	opts := memOptions(mem, 0)
	opts.Now = func() time.Time { return clock }
	db, err := kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	exp := clock.Add(10 * time.Second)
	if err := db.SetExpiring([]byte("session"), []byte("token"), exp); err != nil {
		t.Fatal(err)
	}
	db.Set([]byte("plain"), []byte("stays"))
	var b kv.Batch
	b.SetExpiring([]byte("batch-exp"), []byte("b"), clock.Add(20*time.Second))
	b.SetExpiring([]byte("made-plain"), []byte("x"), clock.Add(time.Second))
	b.Set([]byte("made-plain"), []byte("forever")) // a later plain set wins
	if err := db.Apply(&b); err != nil {
		t.Fatal(err)
	}
	emptyDigest := func() string {
		db, _ := kv.Open(memDir, &kv.Options{FS: vfs.NewMemFS(), LockTimeout: -1})
		defer db.Close()
		d, _ := db.Digest()
		return d
	}()

	v, got, err := db.GetWithExpiry([]byte("session"))
	if err != nil || string(v) != "token" || !got.Equal(exp) {
		t.Fatalf("before expiry: %q, %v, %v", v, got, err)
	}
	if _, got, _ := db.GetWithExpiry([]byte("plain")); !got.IsZero() {
		t.Errorf("a plain value has expiry %v", got)
	}
	scanned := map[string]time.Time{}
	db.Scan(nil, func(e kv.Entry) error { scanned[string(e.Key)] = e.ExpiresAt; return nil })
	if len(scanned) != 4 || !scanned["session"].Equal(exp) || !scanned["made-plain"].IsZero() {
		t.Errorf("scan before expiry: %v", scanned)
	}
	err = db.Update(func(tx *kv.Txn) error {
		_, e, err := tx.GetWithExpiry([]byte("session"))
		if err != nil || !e.Equal(exp) {
			return fmt.Errorf("txn sees %v, %v", e, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	clock = exp // expiry is exclusive: at exp the value is gone
	if _, err := db.Get([]byte("session")); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("at its expiry: %v", err)
	}
	clock = clock.Add(15 * time.Second) // past every expiry
	for _, k := range []string{"session", "batch-exp"} {
		if _, err := db.Get([]byte(k)); !errors.Is(err, kv.ErrNotFound) {
			t.Errorf("%s after expiry: %v", k, err)
		}
	}
	live, _ := contents(db)
	if diff(live, state{"plain": "stays", "made-plain": "forever"}) != "" {
		t.Errorf("scan after expiry: %v", live)
	}
	db.Close()
	if db, err = kv.Open(memDir, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Get([]byte("session")); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("after reopen: %v", err)
	}
	// Turning the clock back shows the value again: expiry hides, only
	// compaction removes.
	clock = exp.Add(-time.Second)
	if v, err := db.Get([]byte("session")); err != nil || string(v) != "token" {
		t.Errorf("clock turned back before compaction: %q %v", v, err)
	}
	clock = exp.Add(time.Minute)
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	clock = exp.Add(-time.Second)
	if _, err := db.Get([]byte("session")); !errors.Is(err, kv.ErrNotFound) {
		t.Errorf("compaction kept an expired value: %v", err)
	}
	db.Delete([]byte("plain"))
	db.Delete([]byte("made-plain"))
	if d, _ := db.Digest(); d != emptyDigest {
		t.Errorf("digest of a store whose values all expired or were deleted differs from an empty store's")
	}
}

// TestExpiryAtFlush: expired values written out by a flush into the only
// (oldest) table are dropped there, and values not yet expired keep their
// expiry through flushes and merges.
func TestExpiryAtFlush(t *testing.T) {
	clock := time.Unix(1_700_000_000, 0)
	mem := vfs.NewMemFS()
	opts := memOptions(mem, 500)
	opts.Now = func() time.Time { return clock }
	db, err := kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	for i := 0; i < 100; i++ {
		k := []byte(fmt.Sprintf("k%03d", i))
		at := clock.Add(time.Duration(i%2*2-1) * time.Hour) // odd keys expire in an hour, even ones an hour ago
		if err := db.SetExpiring(k, []byte("value-value-value"), at); err != nil {
			t.Fatal(err)
		}
	}
	st, err := db.Stats()
	if err != nil || len(st.Tables) == 0 {
		t.Fatalf("no flush happened: %+v %v", st, err)
	}
	if st.Keys != 50 {
		t.Errorf("%d live keys, want 50", st.Keys)
	}
	var entries uint64
	for _, tb := range st.Tables {
		entries += tb.Entries
	}
	clock = clock.Add(-2 * time.Hour) // everything would be visible again...
	got, _ := contents(db)
	if len(got) == 100 {
		t.Errorf("expired values flushed into the oldest table were kept (%d table entries)", entries)
	}
	for i := 1; i < 100; i += 2 {
		k := fmt.Sprintf("k%03d", i)
		if _, e, err := db.GetWithExpiry([]byte(k)); err != nil || !e.Equal(time.Unix(1_700_000_000, 0).Add(time.Hour)) {
			t.Fatalf("%s lost its expiry through a flush: %v %v", k, e, err)
		}
	}
}

// TestExpiryOutsideRecordedRange: expiries beyond what the 64-bit
// nanosecond field holds saturate instead of wrapping. A far-future one
// (9999-12-31, the common "never") keeps the value, through a compaction,
// and reads back as MaxExpiry; a far-past one (year 1) is expired, never
// a value without expiry.
func TestExpiryOutsideRecordedRange(t *testing.T) {
	clock := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	mem := vfs.NewMemFS()
	opts := memOptions(mem, 0)
	opts.Now = func() time.Time { return clock }
	db, err := kv.Open(memDir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	never := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	db.Set([]byte("k"), []byte("previous"))
	if err := db.SetExpiring([]byte("k"), []byte("forever"), never); err != nil {
		t.Fatal(err)
	}
	if err := db.SetExpiring([]byte("past"), []byte("v"), time.Time{}); err != nil {
		t.Fatal(err)
	}
	check := func(when string) {
		t.Helper()
		v, exp, err := db.GetWithExpiry([]byte("k"))
		if err != nil || string(v) != "forever" || !exp.Equal(kv.MaxExpiry) {
			t.Fatalf("%s: k = %q, expiry %v, %v; want forever until %v", when, v, exp, err, kv.MaxExpiry)
		}
		if _, err := db.Get([]byte("past")); !errors.Is(err, kv.ErrNotFound) {
			t.Fatalf("%s: a value that expired in year 1: %v, want ErrNotFound", when, err)
		}
	}
	check("after the write")
	if _, err := db.Compact(); err != nil {
		t.Fatal(err)
	}
	check("after compaction")
	// A clock past MaxExpiry itself sees the value expired, not wrapped
	// back to life.
	clock = kv.MaxExpiry.Add(time.Hour)
	if _, err := db.Get([]byte("k")); !errors.Is(err, kv.ErrNotFound) {
		t.Fatalf("with the clock after MaxExpiry: %v, want ErrNotFound", err)
	}
}
