package cmd

import (
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Key completion reads the store through a read-only open with a short
// lock timeout, so a busy store never hangs the shell, and offers at most
// completionLimit keys.
const (
	completionLimit       = 200
	completionLockTimeout = 100 * time.Millisecond
)

// completeKeys completes stored keys for the first maxArgs arguments
// (every argument when maxArgs < 0).
func (a *app) completeKeys(maxArgs int) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if maxArgs >= 0 && len(args) >= maxArgs {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		return a.keysWithPrefix(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp
	}
}

// completePrefix completes a --prefix flag with stored keys.
func (a *app) completePrefix(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	return a.keysWithPrefix(cmd, toComplete), cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// keysWithPrefix lists stored keys starting with prefix. Any failure (no
// store, a lock held, damage) yields no candidates and no noise.
func (a *app) keysWithPrefix(cmd *cobra.Command, prefix string) []cobra.Completion {
	if err := a.loadConfig(cmd); err != nil || a.cfgErr != nil {
		return nil
	}
	dir, opts, err := a.options(true)
	if err != nil {
		return nil
	}
	opts.LockTimeout = completionLockTimeout
	s, err := openStore(dir, opts)
	if err != nil {
		return nil
	}
	defer s.Close()
	var out []cobra.Completion
	_ = s.ScanKeys([]byte(prefix), completionLimit, func(k []byte) error {
		// A shell cannot offer a key with a newline or tab as one word.
		if !strings.ContainsAny(string(k), "\n\t") {
			out = append(out, string(k))
		}
		return nil
	})
	return out
}
