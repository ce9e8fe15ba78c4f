package cmd

import (
	"regexp"
	"strconv"
	"time"
)

// daysInDuration matches a number of days in a duration: 7d, 1.5d.
var daysInDuration = regexp.MustCompile(`(\d+(?:\.\d*)?|\.\d+)d`)

// parseDuration is time.ParseDuration that also takes days, as 24 hours
// each, alone or with other units: 7d, 1d12h, 1.5d. Cron jobs think in
// days; Go's durations stop at hours.
func parseDuration(s string) (time.Duration, error) {
	var bad error
	hours := daysInDuration.ReplaceAllStringFunc(s, func(m string) string {
		days, err := strconv.ParseFloat(m[:len(m)-1], 64)
		if err != nil {
			bad = err
			return m
		}
		return strconv.FormatFloat(days*24, 'f', -1, 64) + "h"
	})
	d, err := time.ParseDuration(hours)
	if err != nil || bad != nil {
		return 0, &durationError{s}
	}
	return d, nil
}

// durationError is a duration parseDuration cannot read.
type durationError struct{ s string }

func (e *durationError) Error() string {
	return strconv.Quote(e.s) + " is not a duration (write 90s, 15m, 12h, 7d or 1d12h)"
}

// durationValue is a flag holding a duration that parseDuration reads.
type durationValue struct{ d *time.Duration }

func (v durationValue) Set(s string) error {
	d, err := parseDuration(s)
	if err != nil {
		return err
	}
	*v.d = d
	return nil
}

func (v durationValue) String() string {
	// pflag calls String on a zero value to tell whether a default is
	// set, and shows "(default X)" unless X is one of its zero spellings,
	// which "0s" is not for a type of ours: a zero duration is "0".
	if v.d == nil || *v.d == 0 {
		return "0"
	}
	return v.d.String()
}

func (v durationValue) Type() string { return "duration" }
