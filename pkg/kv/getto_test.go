package kv_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/vfs"
)

type failingWriter struct{}

var errWriterFailed = errors.New("writer failed")

func (failingWriter) Write([]byte) (int, error) { return 0, errWriterFailed }

// TestGetTo: GetTo writes what Get returns, from the log and from a
// table (a value large enough to be a table of its own), with the same
// revision; a missing key writes nothing; the writer's error comes back.
func TestGetTo(t *testing.T) {
	mem := vfs.NewMemFS()
	db, err := kv.Open(memDir, memOptions(mem, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	big := bytes.Repeat([]byte("0123456789"), 50_000) // ingested as a table
	if err := db.Set([]byte("small"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("big"), big); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"small", "big"} {
		want, err := db.GetEntry([]byte(k))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		e, err := db.GetTo([]byte(k), &buf)
		if err != nil || !bytes.Equal(buf.Bytes(), want.Value) || e.Value != nil || e.Rev != want.Rev || string(e.Key) != k {
			t.Fatalf("GetTo(%s) = %+v (%d bytes written), %v; GetEntry's revision %d, %d bytes", k, e.Rev, buf.Len(), err, want.Rev, len(want.Value))
		}
	}
	var buf bytes.Buffer
	if _, err := db.GetTo([]byte("absent"), &buf); !errors.Is(err, kv.ErrNotFound) || buf.Len() != 0 {
		t.Fatalf("GetTo(absent) = %v, wrote %d bytes", err, buf.Len())
	}
	if _, err := db.GetTo([]byte("big"), failingWriter{}); !errors.Is(err, errWriterFailed) {
		t.Fatalf("GetTo into a failing writer = %v", err)
	}
}
