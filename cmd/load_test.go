package cmd

import (
	"bytes"
	"encoding/json"
	"testing"
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
		k, v, ok := fastJSONLine(line)
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
		if _, _, _, err := decodeJSONLine([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
	k, v, exp, err := decodeJSONLine([]byte(`{"key":"a","value":"x\ny","expires_at":"2026-01-01T00:00:00Z"}`))
	if err != nil || string(k) != "a" || string(v) != "x\ny" || exp.IsZero() {
		t.Errorf("got %q %q %v %v", k, v, exp, err)
	}
}
