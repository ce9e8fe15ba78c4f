package kv_test

import (
	"os"
	"testing"

	"github.com/kvtool/kv/pkg/kv"
	"github.com/kvtool/kv/pkg/manifest"
	"github.com/kvtool/kv/pkg/vfs"
)

// TestOtherFSNamesNotResolvedOnOS: a store on another filesystem (MemFS)
// is reached by the names given, even where the operating system has a
// symbolic link of that name: resolving it there would put the store
// under the link's target.
func TestOtherFSNamesNotResolvedOnOS(t *testing.T) {
	real := t.TempDir()
	link := real + ".link"
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symlinks:", err)
	}
	defer os.Remove(link)
	mem := vfs.NewMemFS()
	db, err := kv.Open(link, memOptions(mem, 0))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := mem.Stat(link + "/" + manifest.FileName); err != nil {
		t.Fatalf("the manifest is not under the name given: %v", err)
	}
}
