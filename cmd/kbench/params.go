package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bounds of the run flags: a repetition shorter than minDuration measures
// the timer and the thread hand-off, not the mechanism (a 1 ns repetition
// collected 16 events); longer than maxDuration, or more than maxReps, is a
// typo, not a measurement.
const (
	minDuration = time.Millisecond
	maxDuration = time.Hour
	maxReps     = 10_000
)

// parseSet parses --set's name=integer,… into a map. Names are lower-case
// letters, digits and underscores; each may be given once. Its errors are
// one line, whatever the input.
func parseSet(s string) (map[string]int, error) {
	out := map[string]int{}
	if s == "" {
		return out, nil
	}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || !validName(k) {
			return nil, fmt.Errorf("%q: want name=integer", kv)
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, fmt.Errorf("%s=%q: not an integer in %d..%d", k, v, minInt, maxInt)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%s given twice", k)
		}
		out[k] = n
	}
	return out, nil
}

const (
	maxInt = int(^uint(0) >> 1)
	minInt = -maxInt - 1
)

func validName(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for _, c := range k {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
