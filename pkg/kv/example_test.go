package kv_test

import (
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strconv"

	"github.com/kvtool/kv/pkg/kv"
)

// exampleDir returns a fresh directory for an example's store.
func exampleDir() (string, func()) {
	dir, err := os.MkdirTemp("", "kv-example")
	if err != nil {
		log.Fatal(err)
	}
	return filepath.Join(dir, "store"), func() { os.RemoveAll(dir) }
}

func Example() {
	dir, cleanup := exampleDir()
	defer cleanup()

	db, err := kv.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if err := db.Set([]byte("greeting"), []byte("hello")); err != nil {
		log.Fatal(err)
	}
	v, err := db.Get([]byte("greeting"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(v))
	if _, err := db.Get([]byte("absent")); errors.Is(err, kv.ErrNotFound) {
		fmt.Println("absent: not found")
	}
	// Output:
	// hello
	// absent: not found
}

func ExampleDB_Apply() {
	dir, cleanup := exampleDir()
	defer cleanup()
	db, err := kv.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// All or nothing, after any crash.
	var b kv.Batch
	b.Set([]byte("user:1"), []byte("ada"))
	b.Set([]byte("user:2"), []byte("grace"))
	b.Delete([]byte("user:3"))
	if err := db.Apply(&b); err != nil {
		log.Fatal(err)
	}
	err = db.Scan([]byte("user:"), func(e kv.Entry) error {
		fmt.Printf("%s=%s\n", e.Key, e.Value)
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// user:1=ada
	// user:2=grace
}

func ExampleDB_Update() {
	dir, cleanup := exampleDir()
	defer cleanup()
	db, err := kv.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	// A read-modify-write under the writer lock: a counter.
	incr := func() {
		err := db.Update(func(tx *kv.Txn) error {
			n := 0
			v, err := tx.Get([]byte("hits"))
			switch {
			case errors.Is(err, kv.ErrNotFound):
			case err != nil:
				return err
			default:
				if n, err = strconv.Atoi(string(v)); err != nil {
					return err
				}
			}
			tx.Set([]byte("hits"), []byte(strconv.Itoa(n+1)))
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	incr()
	incr()
	v, _ := db.Get([]byte("hits"))
	fmt.Println(string(v))
	// Output: 2
}

func ExampleDB_ScanKeys() {
	dir, cleanup := exampleDir()
	defer cleanup()
	db, err := kv.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	for _, k := range []string{"b", "a:2", "a:1", "a:3"} {
		if err := db.Set([]byte(k), nil); err != nil {
			log.Fatal(err)
		}
	}
	// At most two keys under "a:", in order.
	err = db.ScanKeys([]byte("a:"), 2, func(k []byte) error {
		fmt.Println(string(k))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// a:1
	// a:2
}

func ExampleDB_Compact() {
	dir, cleanup := exampleDir()
	defer cleanup()
	db, err := kv.Open(dir, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	db.Set([]byte("k"), []byte("old"))
	db.Set([]byte("k"), []byte("new"))
	db.Delete([]byte("gone"))
	// One table of the live values; the log and the overwritten value go.
	if _, err := db.Compact(); err != nil {
		log.Fatal(err)
	}
	st, err := db.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Keys, "key in", len(st.Tables), "table")
	// Output: 1 key in 1 table
}
