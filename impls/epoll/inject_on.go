//go:build kbench_inject

package epoll

import (
	"fmt"
	"strconv"

	"kbench/internal/clock"
)

// This file exists only in builds tagged kbench_inject, which
// scripts/gate-trials.sh makes to prove that the regression gate sees a
// known slowdown: a fixed cost per event Wait returns, the shape of a real
// per-event regression (one more cache miss or branch per translated
// event). The cost is chosen at link time, so no normal build can carry it:
//
//	go build -tags kbench_inject -ldflags '-X kbench/impls/epoll.injectNsPerEvent=68'
var injectNsPerEvent string

var injectNs = parseInject(injectNsPerEvent)

func parseInject(s string) int64 {
	ns, err := strconv.ParseInt(s, 10, 64)
	if err != nil || ns <= 0 {
		// A tagged build without its cost would measure nothing injected
		// while claiming to: refuse to start instead.
		panic(fmt.Sprintf("epoll: kbench_inject build needs -X kbench/impls/epoll.injectNsPerEvent=<ns> (got %q)", s))
	}
	return ns
}

// injectSlowdown spins for injectNs per event: spinning, not sleeping, so
// the cost is CPU on the collector's thread, as a slower Wait's would be.
func injectSlowdown(events int) {
	if events <= 0 {
		return
	}
	end := clock.Now() + int64(events)*injectNs
	for clock.Now() < end {
	}
}
