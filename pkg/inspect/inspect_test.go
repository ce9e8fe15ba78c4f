package inspect_test

import (
	"errors"
	"testing"

	"github.com/kvtool/kv/pkg/inspect"
	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
)

const dir = "/store"

// TestVerifyAndLog: on a clean store Verify finds no problem, counts the
// keys and gives the digest the engine gives, and Log walks every record
// in order; after a byte of the log is flipped, Verify reports it with
// the log's name and offset, and Log reports the damage after the
// records before it.
func TestVerifyAndLog(t *testing.T) {
	mem := vfs.NewMemFS()
	opts := &kv.Options{FS: mem, LockTimeout: -1}
	db, err := kv.Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c"} {
		if err := db.Set([]byte(k), []byte("value of "+k)); err != nil {
			t.Fatal(err)
		}
	}
	digest, err := db.Digest()
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	rep, err := inspect.Verify(dir, opts)
	if err != nil || !rep.OK() || rep.Keys != 3 || rep.Digest != digest {
		t.Fatalf("Verify of a clean store: %+v, %v; want OK, 3 keys, digest %s", rep, err, digest)
	}
	var offsets []int64
	var seqs []uint64
	sum, err := inspect.Log(dir, opts, func(r inspect.LogRecord) error {
		offsets, seqs = append(offsets, r.Offset), append(seqs, r.Seq)
		return nil
	})
	if err != nil || sum.Records != 3 || sum.Corrupt != nil || sum.Torn != nil || len(seqs) != 3 || seqs[0]+2 != seqs[2] {
		t.Fatalf("Log: %+v, %v, records at %v with seqs %v", sum, err, offsets, seqs)
	}

	man, err := manifest.Read(mem, dir)
	if err != nil {
		t.Fatal(err)
	}
	logName := dir + "/" + manifest.WALName(man.WAL)
	data, _ := mem.ReadAll(logName)
	data[offsets[1]+10] ^= 0x40 // inside the second record
	mem.WriteAll(logName, data)

	rep, err = inspect.Verify(dir, opts)
	if err != nil || rep.OK() || rep.Problems[0].File != logName || rep.Problems[0].Offset != offsets[1] {
		t.Fatalf("Verify of a damaged log: %+v, %v; want a problem in %s at %d", rep.Problems, err, logName, offsets[1])
	}
	n := 0
	sum, err = inspect.Log(dir, opts, func(inspect.LogRecord) error { n++; return nil })
	if err != nil || n != 1 || sum.Corrupt == nil || sum.Corrupt.Offset != offsets[1] || !errors.Is(sum.Corrupt, kv.ErrCorrupt) {
		t.Fatalf("Log of a damaged log: %d records, %+v, %v", n, sum, err)
	}
}
