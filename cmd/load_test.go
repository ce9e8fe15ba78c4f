package cmd

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slowJSONLine decodes a line with encoding/json only.
func slowJSONLine(line []byte) (key, value []byte, err error) {
	var e jsonEntry
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return nil, nil, err
	}
	key, value, _, err = e.decode()
	return key, value, err
}

// FuzzFastJSONLine checks that whenever the fast path accepts a line, it
// reads exactly what encoding/json reads.
func FuzzFastJSONLine(f *testing.F) {
	for _, s := range []string{
		`{"key":"a","value":"b"}`,
		`{"key":"a b","value":""}`,
		`{"key":"k","value_base64":"AP8="}`,
		`{"key":"k","value":"x\"y"}`,
		`{"key":"k","value":"é"}`,
		`{"key":"k","value":"\u003c"}`,
		`{"key":"k","value":"v"} `,
		`{"key":"k","value":"v","expires_at":"2026-01-01T00:00:00Z"}`,
		"{\"key\":\"k\",\"value\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		var scratch []byte
		k, v, ok := fastJSONLine(line, &scratch)
		if !ok {
			return
		}
		sk, sv, err := slowJSONLine(line)
		if err != nil {
			t.Fatalf("fast path accepted %q, encoding/json refused it: %v", line, err)
		}
		if !bytes.Equal(k, sk) || !bytes.Equal(v, sv) {
			t.Fatalf("%q: fast path read %q=%q, encoding/json %q=%q", line, k, v, sk, sv)
		}
	})
}

func TestDecodeJSONLineStrict(t *testing.T) {
	for _, bad := range []string{
		`{"key":"a","value":"b"} junk`,
		`{"key":"a","value":"b","extra":1}`,
		`{"key":"a"}`,
		`{"value":"b"}`,
		`{"key":"a","value":"b","value_base64":"Yg=="}`,
		`not json`,
	} {
		if _, _, _, err := decodeJSONLine([]byte(bad), new([]byte)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	k, v, exp, err := decodeJSONLine([]byte(`{"key":"a","value":"x\ny","expires_at":"2026-01-01T00:00:00Z"}`), new([]byte))
	if err != nil || string(k) != "a" || string(v) != "x\ny" || exp.IsZero() {
		t.Errorf("got %q %q %v %v", k, v, exp, err)
	}
}

// TestLoadStopsWhileInputStaysOpen: when storing a batch fails, kv load
// exits with the error at once, although its input (a pipe whose writer
// keeps it open) has not ended and the parser is blocked reading it.
func TestLoadStopsWhileInputStaysOpen(t *testing.T) {
	notADir := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r, w := io.Pipe()
	defer w.Close()
	go func() {
		// One batch's worth, then nothing more and no end: the parser
		// hands the batch over and blocks reading the next one.
		_, _ = io.WriteString(w, `{"key":"k1","value":"value-01"}`+"\n")
	}()
	var stdout, stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- Main([]string{"-d", notADir, "load", "--batch-bytes", "10"}, r, &stdout, &stderr)
	}()
	select {
	case c := <-code:
		if c == ExitOK || stdout.Len() != 0 || !strings.Contains(stderr.String(), notADir) {
			t.Fatalf("exit %d, stdout %q, stderr %q; want a failure naming %s", c, stdout.String(), stderr.String(), notADir)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("kv load still waits for its input after the store failed")
	}
}
