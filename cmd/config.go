package cmd

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// The Viper wiring: where each setting comes from (flag > environment >
// config file > default) and how it is read.

// configKeys are the settings that the environment and the config file may
// set; other flags are per invocation only.
var configKeys = []string{"dir", "lock-timeout", "sync", "format"}

// loadConfig wires flag > environment > config file > default.
func (a *app) loadConfig(cmd *cobra.Command) error {
	v := a.v
	v.SetEnvPrefix("KV")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_"))
	v.AutomaticEnv()
	for _, k := range append(append(configKeys, clusterKeys...), "config") {
		if f := cmd.Flags().Lookup(k); f != nil {
			if err := v.BindPFlag(k, f); err != nil {
				return err
			}
		}
	}
	// An explicitly empty directory is a mistake (an unset variable in a
	// script), never a request for the default one.
	a.dirFlag = cmd.Flags().Lookup("dir")
	if f := a.dirFlag; f != nil && f.Changed && f.Value.String() == "" {
		a.cfgErr = usagef("--dir is empty: name a data directory, or leave the flag out for the default")
		return nil
	} else if d, set := os.LookupEnv("KV_DIR"); set && d == "" && (f == nil || !f.Changed) {
		a.cfgErr = usagef("KV_DIR is set but empty: name a data directory, or unset it for the default")
		return nil
	}
	path := v.GetString("config")
	explicit := path != ""
	if !explicit {
		path = defaultConfigPath()
	}
	if path == "" {
		return nil
	}
	if _, err := os.Stat(path); err != nil {
		switch {
		case explicit:
			a.cfgErr = usagef("config file %s: %v", path, unwrapPath(err))
		case !errors.Is(err, fs.ErrNotExist):
			// The default location, unreadable (another user's HOME
			// under sudo without -H): no config was asked for, so the
			// defaults apply, with a warning since kv cannot know
			// whether a config is there.
			fmt.Fprintf(a.stderr, "kv: warning: default config file %s: %v; using the defaults\n", path, unwrapPath(err))
		}
		return nil
	}
	v.SetConfigFile(path)
	v.SetConfigType("yaml")
	if err := v.ReadInConfig(); err != nil {
		a.cfgErr = usagef("config file %s: %v", path, err)
		return nil
	}
	a.cfgFile = path
	for _, k := range v.AllKeys() {
		if known := append(configKeys, clusterKeys...); !slices.Contains(known, k) && k != "config" {
			fmt.Fprintf(a.stderr, "kv: warning: config file %s: unknown key %q (kv reads %s)\n", path, k, strings.Join(known, ", "))
		}
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func defaultConfigPath() string {
	base := os.Getenv("XDG_CONFIG_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "kv", "config.yaml")
}

// defaultDataDir is $XDG_DATA_HOME/kv, or ~/.local/share/kv.
func defaultDataDir() (string, error) {
	if base := os.Getenv("XDG_DATA_HOME"); base != "" {
		return filepath.Join(base, "kv"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", usagef("no data directory: set --dir, KV_DIR or HOME")
	}
	return filepath.Join(home, ".local", "share", "kv"), nil
}

// dataDir is the configured data directory. A dir: from the config file
// is read as a shell would not have expanded it: a leading ~ is the home
// directory, $VAR and ${VAR} are the environment's, and a relative path
// is relative to the config file's folder (cron runs elsewhere). A flag
// or KV_DIR comes through the shell, which expanded it already.
func (a *app) dataDir() (string, error) {
	d := a.v.GetString("dir")
	if d == "" {
		return defaultDataDir()
	}
	_, fromEnv := os.LookupEnv("KV_DIR")
	fromFlag := a.dirFlag != nil && a.dirFlag.Changed
	if fromFlag || fromEnv || a.cfgFile == "" || !a.v.InConfig("dir") {
		return d, nil
	}
	if d == "~" || strings.HasPrefix(d, "~/") {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", usagef("config file %s: dir %q: no home directory to expand ~ to", a.cfgFile, d)
		}
		d = home + d[1:]
	}
	d = os.ExpandEnv(d)
	if d == "" {
		return "", usagef("config file %s: dir expands to nothing", a.cfgFile)
	}
	if !filepath.IsAbs(d) {
		d = filepath.Join(filepath.Dir(a.cfgFile), d)
	}
	return d, nil
}

// lockTimeout is the configured lock timeout.
func (a *app) lockTimeout() (time.Duration, error) {
	s := a.v.GetString("lock-timeout")
	d, err := parseDuration(s)
	if err != nil {
		return 0, usagef("invalid lock timeout: %v", err)
	}
	if d < 0 {
		return 0, usagef("invalid lock timeout %q: negative", s)
	}
	return d, nil
}

// syncWrites is the configured sync setting.
func (a *app) syncWrites() (bool, error) {
	s := a.v.GetString("sync")
	switch strings.ToLower(s) {
	case "true", "1", "yes", "on", "":
		return true, nil
	case "false", "0", "no", "off":
		return false, nil
	}
	return false, usagef("invalid sync setting %q (want true or false)", s)
}
