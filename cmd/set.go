package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/kvtool/kv/pkg/backend"
	"github.com/kvtool/kv/pkg/kv"
)

type setOptions struct {
	valueFile string
	ttl       time.Duration
	expiresAt string
	ifAbsent  bool
	ifValue   string
	ifRev     uint64
	hasIf     bool
	hasIfRev  bool
	hasTTL    bool
}

func (a *app) newSetCmd() *cobra.Command {
	var o setOptions
	c := &cobra.Command{
		Use:   "set KEY [VALUE]",
		Short: "Store a value under a key",
		Long: `Store VALUE under KEY, durably: when kv set exits 0 the write survives a
crash. With VALUE omitted or "-", the value is read from standard input,
byte for byte (binary data, newlines, NUL bytes and the empty value all
round-trip). Prints nothing on success.

Secrets: a VALUE on the command line is visible to every user of the
machine through the process list. Pass secrets on standard input
(kv set KEY < file) or with --value-file.

Expiry: --ttl D expires the value D from now (90s, 12h); --expires-at T at
a time, given in RFC 3339 (2030-01-01T12:00:00Z) or as a date (2030-01-01,
midnight UTC). A time in the past stores a value that has already expired:
the key reads as absent, as after kv del. Expiries are kept to the
nanosecond up to 2262-04-11T23:47:16Z; a later one (9999-12-31 as
"never") is kept as that instant, and kv ttl and kv dump show it so.
On etcd (--endpoints) an expiry is a lease of whole seconds, rounded up;
the writes of one command that expire at the same time share one lease,
and etcd deletes the key when it runs out.

Conditional writes: --if-absent writes only when KEY has no value;
--if-value OLD writes only when the current value is exactly OLD; --if-rev N
writes only when KEY's modification revision is N (kv get --rev KEY shows
it; 0 means KEY must have no value), a compare-and-swap that keeps the old
value off the command line. A failed condition changes nothing and exits 1,
which makes a run-once guard for cron, silent when the job already ran and
failing on any real error:
  kv set -q --if-absent lock:nightly "$(date +%F)"; case $? in 0) ;; 1) exit 0 ;; *) exit 1 ;; esac`,
		Example: `  kv set greeting hello
  printf 'multi\nline' | kv set note
  kv set token < token.txt
  kv set --ttl 90s session:42 active
  kv set --if-absent job:2026-11-25 started
  rev=$(kv get --rev config); kv set --if-rev "$rev" config new-value`,
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: a.completeKeys(1),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			c := cmd.Flags()
			o.hasIf = c.Changed("if-value")
			o.hasIfRev = c.Changed("if-rev")
			o.hasTTL = c.Changed("ttl")
			return a.runSet(&o, args)
		}),
	}
	f := c.Flags()
	f.StringVar(&o.valueFile, "value-file", "", "read the value from this file, keeping secrets off the command line; - is standard input, and a pipe works (--value-file <(cmd)): it is read before the store is locked")
	f.Var(durationValue{&o.ttl}, "ttl", "expire the value after this long (90s, 12h, 7d, 1d12h)")
	f.StringVar(&o.expiresAt, "expires-at", "", "expire the value at this time: RFC 3339 (2030-01-01T12:00:00Z) or a date (2030-01-01, midnight UTC)")
	f.BoolVar(&o.ifAbsent, "if-absent", false, "write only if KEY has no live value (exit 1 otherwise)")
	f.StringVar(&o.ifValue, "if-value", "", "write only if the current value is exactly this (exit 1 otherwise)")
	f.Uint64Var(&o.ifRev, "if-rev", 0, "write only if KEY's modification revision is this; 0: only if KEY has no value (exit 1 otherwise)")
	c.MarkFlagsMutuallyExclusive("ttl", "expires-at")
	c.MarkFlagsMutuallyExclusive("if-absent", "if-value", "if-rev")
	return c
}

func (a *app) runSet(o *setOptions, args []string) (err error) {
	if err := checkKeys(args[0]); err != nil {
		return err
	}
	key := []byte(args[0])
	value, err := a.readValue(o, args)
	if err != nil {
		return err
	}
	now := a.now
	var exp time.Time
	expiring := false
	switch {
	case o.hasTTL && o.ttl <= 0:
		return usagef("--ttl must be positive (a value set without --ttl never expires)")
	case o.ttl > 0:
		exp, expiring = now().Add(o.ttl), true
	case o.expiresAt != "":
		if exp, err = parseExpiresAt(o.expiresAt); err != nil {
			return err
		}
		expiring = true
	}
	s, err := a.openWrite()
	if err != nil {
		return err
	}
	defer closeStore(s, &err)
	return s.Update(func(tx backend.Txn) error {
		if o.hasIfRev {
			if err := checkRev(tx, key, o.ifRev); err != nil {
				return err
			}
		}
		if o.ifAbsent || o.hasIf {
			e, err := tx.GetEntry(key)
			cur := e.Value
			switch {
			case errors.Is(err, kv.ErrNotFound):
				if o.hasIf {
					return fmt.Errorf("%w: %q has no value", kv.ErrConditionFailed, key)
				}
			case err != nil:
				return err
			case o.ifAbsent:
				return fmt.Errorf("%w: %q already has a value", kv.ErrConditionFailed, key)
			case !bytes.Equal(cur, []byte(o.ifValue)):
				return fmt.Errorf("%w: the value of %q differs from --if-value", kv.ErrConditionFailed, key)
			}
		}
		if !expiring {
			tx.Set(key, value)
		} else {
			tx.SetExpiring(key, value, exp)
		}
		return nil
	})
}

// readValue takes the value from the argument, --value-file or stdin, and
// refuses one above the limit before reading it whole.
func (a *app) readValue(o *setOptions, args []string) ([]byte, error) {
	fromArg := len(args) == 2 && args[1] != "-"
	if fromArg && o.valueFile != "" {
		return nil, usagef("give the value as an argument or with --value-file, not both")
	}
	if fromArg {
		if len(args[1]) > kv.MaxValueSize {
			return nil, fmt.Errorf("%w: the limit is %d bytes", kv.ErrValueTooLarge, kv.MaxValueSize)
		}
		return []byte(args[1]), nil
	}
	r := a.stdin
	name := "standard input"
	if o.valueFile == "-" {
		o.valueFile = "" // --value-file - is standard input
	}
	if o.valueFile == "" {
		if f, ok := r.(*os.File); ok && isTerminal(f) {
			// A value typed at a terminal would end at ^D with no
			// prompt to say so: kv never waits on a person silently.
			return nil, usagef("no VALUE, and standard input is a terminal: give VALUE, pipe it in (kv set KEY < file), or use --value-file")
		}
	}
	if o.valueFile != "" {
		f, err := os.Open(o.valueFile)
		if errors.Is(err, fs.ErrNotExist) {
			// Like a missing --config: the user named a file that is not
			// there, a usage error rather than an I/O failure.
			return nil, usagef("--value-file %s: no such file", o.valueFile)
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r, name = f, o.valueFile
	}
	value, err := readValueFrom(r, kv.MaxValueSize)
	if errors.Is(err, errValueOverLimit) || len(value) > kv.MaxValueSize {
		return nil, fmt.Errorf("%w: %s holds more than the limit of %d bytes", kv.ErrValueTooLarge, name, kv.MaxValueSize)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Path == name {
			return nil, err // "read NAME: cause" already
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return value, nil
}

// parseExpiresAt reads --expires-at: an RFC 3339 date-time, or a date
// (midnight UTC). Any such time is accepted: one in the past stores a value
// that has already expired (the key reads as absent), and one after
// kv.MaxExpiry (9999-12-31 as "never") is kept as kv.MaxExpiry.
func parseExpiresAt(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, usagef("--expires-at %q: want an RFC 3339 time (2030-01-01T12:00:00Z) or a date (2030-01-01)", s)
}

// errValueOverLimit is readValueFrom's error for input larger than the
// limit.
var errValueOverLimit = errors.New("value over the limit")

// readValueFrom reads r to its end, or to limit+1 bytes, whichever comes
// first, holding at most about twice what it read: a regular file is read
// into one buffer of its size, anything else (a pipe) in chunks copied
// once into a buffer of the exact size at the end, where growing one
// buffer would hold up to 2.25 times.
func readValueFrom(r io.Reader, limit int64) ([]byte, error) {
	if f, ok := r.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			if off, err := f.Seek(0, io.SeekCurrent); err == nil && st.Size()-off > limit {
				return nil, errValueOverLimit // refused without reading it
			} else if err == nil {
				buf := bytes.NewBuffer(make([]byte, 0, st.Size()-off+bytes.MinRead))
				_, err := buf.ReadFrom(io.LimitReader(r, limit+1))
				return buf.Bytes(), err
			}
		}
	}
	var chunks [][]byte
	var total int64
	size := 64 << 10
	for total <= limit {
		chunk := make([]byte, min(int64(size), limit+1-total))
		n, err := io.ReadFull(r, chunk)
		chunks = append(chunks, chunk[:n])
		total += int64(n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			break
		}
		if err != nil {
			return nil, err
		}
		size = min(size*2, 16<<20)
	}
	if total > limit {
		return nil, errValueOverLimit
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	value := make([]byte, 0, total)
	for _, c := range chunks {
		value = append(value, c...)
	}
	return value, nil
}
