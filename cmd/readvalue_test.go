package cmd

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// TestReadValueFrom: a value is read whole from a pipe (in chunks) or a
// regular file (in one buffer of its size, from the file's offset), up
// to the limit; one byte more is refused.
func TestReadValueFrom(t *testing.T) {
	const limit = 3<<20 + 17
	value := make([]byte, limit+1)
	rand.NewChaCha8([32]byte{9}).Read(value)
	file := filepath.Join(t.TempDir(), "v")
	for _, n := range []int{0, 1, 64 << 10, 64<<10 + 1, 1 << 20, limit} {
		// A reader that is not a file stands for a pipe.
		got, err := readValueFrom(io.MultiReader(bytes.NewReader(value[:n])), limit)
		if err != nil || !bytes.Equal(got, value[:n]) {
			t.Fatalf("pipe of %d bytes: got %d bytes, %v", n, len(got), err)
		}
		if err := os.WriteFile(file, value[:n], 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(file)
		if err != nil {
			t.Fatal(err)
		}
		skip := min(n, 5)
		if _, err := f.Seek(int64(skip), io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got, err = readValueFrom(f, limit)
		f.Close()
		if err != nil || !bytes.Equal(got, value[skip:n]) {
			t.Fatalf("file of %d bytes read from offset %d: got %d bytes, %v", n, skip, len(got), err)
		}
	}
	if _, err := readValueFrom(io.MultiReader(bytes.NewReader(value)), limit); !errors.Is(err, errValueOverLimit) {
		t.Fatalf("pipe over the limit: %v", err)
	}
	if err := os.WriteFile(file, value, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := readValueFrom(f, limit); !errors.Is(err, errValueOverLimit) {
		t.Fatalf("file over the limit: %v", err)
	}
}
