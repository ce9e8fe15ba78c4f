package cmd

import "testing"

func TestEarlyEndpoints(t *testing.T) {
	for _, c := range []struct {
		args []string
		env  string
		want bool
	}{
		{[]string{"get", "k"}, "", false},
		{[]string{"get", "k"}, "http://e:2379", true},
		{[]string{"--endpoints", "http://e:2379", "get", "k"}, "", true},
		{[]string{"get", "k", "--endpoints=http://e:2379"}, "", true},
		{[]string{"--endpoints=", "get", "k"}, "http://e:2379", false}, // explicitly local
		{[]string{"--endpoints", "", "get", "k"}, "http://e:2379", false},
		{[]string{"version"}, "http://e:2379", false}, // kv answers it
		{[]string{"--version"}, "http://e:2379", false},
		{[]string{"set", "k", "--", "--endpoints=x"}, "", false}, // data after --
		{[]string{"set", "k", "--endpoints"}, "", false},         // no value to take
	} {
		t.Setenv("KV_ENDPOINTS", c.env)
		if got := earlyEndpoints(c.args); got != c.want {
			t.Errorf("earlyEndpoints(%q) with KV_ENDPOINTS=%q = %v, want %v", c.args, c.env, got, c.want)
		}
	}
}
