package cmd

import (
	"strings"
	"time"

	"github.com/kvtool/kv/pkg/backend"
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
		return a.keysWithPrefix(cmd, toComplete)
	}
}

// completePrefix completes a --prefix flag with stored keys.
func (a *app) completePrefix(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	keys, d := a.keysWithPrefix(cmd, toComplete)
	return keys, d | cobra.ShellCompDirectiveNoSpace
}

// keysWithPrefix completes stored keys starting with prefix. Up to
// completionLimit matches are offered whole. More are offered segment by
// segment, as paths are: each distinct start of a key up to its next
// separator (: / . - _) after the common prefix of every match, with no
// space after. The shell inserts the common prefix of what it is offered,
// so what it is offered always has the common prefix of every match as
// its own: when the segments too are capped, that prefix itself is among
// them. Any failure (no store, a lock held, damage) yields no candidates
// and no noise.
func (a *app) keysWithPrefix(cmd *cobra.Command, prefix string) ([]cobra.Completion, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	if err := a.loadConfig(cmd); err != nil || a.cfgErr != nil {
		return nil, none
	}
	s, err := a.completionStore()
	if err != nil {
		return nil, none
	}
	defer s.Close()
	c, err := s.KeyCursor([]byte(prefix))
	if err != nil {
		return nil, none
	}
	defer c.Close()
	var keys []string
	from := []byte(prefix)
	for len(keys) <= completionLimit {
		k, ok, err := c.SeekGE(from)
		if err != nil {
			return nil, none
		}
		if !ok {
			break
		}
		keys = append(keys, string(k))
		from = append(k, 0) // the next key
	}
	if len(keys) <= completionLimit {
		return shellWords(keys), none
	}
	common, err := commonPrefix(c, prefix, keys[0])
	if err != nil {
		return nil, none
	}
	var segs []string
	from = []byte(common)
	for {
		k, ok, err := c.SeekGE(from)
		if err != nil {
			return nil, none
		}
		if !ok {
			break
		}
		if len(segs) == completionLimit-1 {
			// Capped: the common prefix keeps the shell from inserting
			// more than every match shares.
			segs = append([]string{common}, segs...)
			break
		}
		seg := segment(string(k), len(common))
		segs = append(segs, seg)
		if seg == string(k) {
			from = append(k, 0)
		} else {
			from = successor([]byte(seg))
		}
	}
	return shellWords(segs), none | cobra.ShellCompDirectiveNoSpace
}

// shellWords drops what a shell cannot offer as one word: a key with a
// newline or a tab.
func shellWords(keys []string) []cobra.Completion {
	out := make([]cobra.Completion, 0, len(keys))
	for _, k := range keys {
		if !strings.ContainsAny(k, "\n\t") {
			out = append(out, k)
		}
	}
	return out
}

// completionSeparators end a segment of a key.
const completionSeparators = ":/.-_"

// segment is key up to and including its first separator at or after
// from, or all of key when it has none.
func segment(key string, from int) string {
	if i := strings.IndexAny(key[from:], completionSeparators); i >= 0 {
		return key[:from+i+1]
	}
	return key
}

// commonPrefix is the longest prefix of first that every live key
// starting with prefix has: it grows a byte at a time while no key is
// found past every key that shares it.
func commonPrefix(c backend.KeyCursor, prefix, first string) (string, error) {
	common := prefix
	for i := len(prefix); i < len(first); i++ {
		next := successor([]byte(first[:i+1]))
		if next == nil {
			common = first[:i+1]
			continue
		}
		_, found, err := c.SeekGE(next)
		if err != nil {
			return "", err
		}
		if found {
			break
		}
		common = first[:i+1]
	}
	return common, nil
}

// successor is the smallest key greater than every key starting with p,
// nil when there is none (p is all 0xff).
func successor(p []byte) []byte {
	q := append([]byte(nil), p...)
	for i := len(q) - 1; i >= 0; i-- {
		if q[i] < 0xff {
			q[i]++
			return q[:i+1]
		}
	}
	return nil
}

// completionStore opens the store whose keys complete: the cluster's
// when endpoints are configured, else the data directory's, waiting
// only briefly for its lock.
func (a *app) completionStore() (Store, error) {
	if s, on, err := a.openCluster(true); on {
		return s, err
	}
	dir, opts, err := a.options(true)
	if err != nil {
		return nil, err
	}
	opts.LockTimeout = completionLockTimeout
	return openStore(dir, opts)
}
