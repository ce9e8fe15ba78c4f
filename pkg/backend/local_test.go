package backend_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestLocal drives the local engine through the Store interface: a batch
// with an expiry and a delete, a read-modify-write, a value written to a
// writer, a prefix delete, scans, a key cursor, a compaction and the
// figures, each answering as the engine does.
func TestLocal(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db, err := kv.Open("/s", &kv.Options{FS: vfs.NewMemFS(), LockTimeout: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	s := backend.Local(db)
	defer s.Close()
	if got, ok := backend.LocalDB(s); !ok || got != db {
		t.Fatal("LocalDB does not return the handle")
	}
	var b backend.Batch
	b.Set([]byte("a"), []byte("1"))
	b.SetExpiring([]byte("b"), []byte("2"), now.Add(time.Hour))
	b.SetExpiring([]byte("gone"), []byte("x"), now.Add(-time.Second))
	b.SetExpiring([]byte("year1"), []byte("x"), time.Time{}) // the zero time: long expired
	b.Set([]byte("job:1"), []byte("j"))
	b.Delete([]byte("nothing"))
	if err := s.Apply(&b); err != nil {
		t.Fatal(err)
	}
	if e, err := s.GetEntry([]byte("b")); err != nil || string(e.Value) != "2" || !e.ExpiresAt.Equal(now.Add(time.Hour)) || e.Rev != 1 {
		t.Fatalf("GetEntry(b) = %+v, %v", e, err)
	}
	for _, k := range []string{"gone", "year1"} {
		if _, err := s.GetEntry([]byte(k)); !errors.Is(err, backend.ErrNotFound) {
			t.Fatalf("expired key %s: %v", k, err)
		}
	}
	err = s.Update(func(tx backend.Txn) error {
		e, err := tx.GetEntry([]byte("a"))
		if err != nil {
			return err
		}
		tx.Set([]byte("a"), append(e.Value, '!'))
		tx.Delete([]byte("b"))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var w bytes.Buffer
	if e, err := s.GetTo([]byte("a"), &w); err != nil || w.String() != "1!" || e.Rev != 2 {
		t.Fatalf("GetTo(a) = %+v %q, %v", e, w.String(), err)
	}
	if n, err := s.DeletePrefix([]byte("job:")); n != 1 || err != nil {
		t.Fatalf("DeletePrefix = %d, %v", n, err)
	}
	var keys []string
	if err := s.ScanKeys(nil, 0, func(k []byte) error { keys = append(keys, string(k)); return nil }); err != nil || len(keys) != 1 || keys[0] != "a" {
		t.Fatalf("ScanKeys = %q, %v", keys, err)
	}
	c, err := s.KeyCursor(nil)
	if err != nil {
		t.Fatal(err)
	}
	k, ok, err := c.SeekGE([]byte("0"))
	c.Close()
	if string(k) != "a" || !ok || err != nil {
		t.Fatalf("SeekGE = %q %v %v", k, ok, err)
	}
	if rev, err := s.Revision(); rev != 3 || err != nil || !s.Found() {
		t.Fatalf("Revision = %d, %v; Found %v", rev, err, s.Found())
	}
	rep, err := s.Compact()
	if err != nil || rep.BytesAfter == 0 || rep.Before == "" {
		t.Fatalf("Compact = %+v, %v", rep, err)
	}
	st, err := s.Stats()
	if err != nil {
		t.Fatal(err)
	}
	figures := map[string]any{}
	for _, f := range st.Figures {
		figures[f.Key] = f.Value
	}
	if figures["keys"] != 1 || figures["revision"] != uint64(3) {
		t.Fatalf("figures: %v", figures)
	}
}
