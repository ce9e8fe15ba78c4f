package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/kvtool/kv/internal/scripttest"
)

// readmeBlock returns the first ```sh block after the heading title in
// README.md.
func readmeBlock(t *testing.T, readme, title string) string {
	t.Helper()
	i := strings.Index(readme, "\n"+title+"\n")
	if i < 0 {
		t.Fatalf("README.md has no heading %q", title)
	}
	m := regexp.MustCompile("(?s)```sh\n(.*?)```").FindStringSubmatch(readme[i:])
	if m == nil {
		t.Fatalf("README.md: no sh block after %q", title)
	}
	return m[1]
}

// TestREADME runs the README's tour and cron section exactly as printed,
// as a user pastes them into a shell: the tour's every line succeeds and
// prints what its comments say; the cron job mails nothing (no output at
// all) on its first run and on a second run the same day.
func TestREADME(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	dir := t.TempDir()
	scripts := map[string]string{
		"readme_tour.txtar": `env KV_DIR=$WORK/data
exec sh -e tour.sh
stdout '^hello world$'
stdout '^1$'
stdout '^ok: no problems'
! stderr .
exec cat out.txt
stdout '\Ahello world\z'
exec kv get token
stdout '^s3cret$'
exec kv get b
stdout '^two words$'
exec kv -d ./state get mode
stdout '^fast$'
-- tour.sh --
` + readmeBlock(t, readme, "## A 30-second tour") + `-- token.txt --
s3cret
-- cert.pem --
-----BEGIN CERTIFICATE-----
MIIB
-----END CERTIFICATE-----
`,
		"readme_cron.txtar": `env KV_DIR=$WORK/data
exec sh cron.sh
! stdout .
! stderr .
exec sh cron.sh
! stdout .
! stderr .
exec kv get runs
stdout '^1$'
-- cron.sh --
` + readmeBlock(t, readme, "## For cron jobs"),
	}
	for name, text := range scripts {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	testscript.Run(t, testscript.Params{
		Dir:                 dir,
		RequireExplicitExec: true,
		Setup: func(env *testscript.Env) error {
			scripttest.Isolate(env)
			return nil
		},
		Cmds: scripttest.Commands,
	})
}
