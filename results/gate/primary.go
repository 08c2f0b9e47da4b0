package gate

import "strings"

// primary names, per workload, the metrics that gate by default; every
// other metric with a direction is compared and reported but cannot fail
// the gate. This is the one place the set is defined.
//
// The rule: a workload's throughput and its p99 latency (coordinated-
// omission corrected where the workload has both), plus, for the closed
// fan-in loops, the collector's CPU per event. That last one is there by
// measurement: in fan-in the producer fires a source only after its last
// firing was collected, so a slower collector batches more events per
// Wait and events/s barely moves (and on a busy machine it spreads by
// 40–60 % between runs); in a 10+10-run pilot, a 10 % per-event slowdown
// injected into epoll's Wait (scripts/gate-trials.sh builds it) moved
// consumer-cpu-ns/event by +10–14 % with a 5–10 % between-run spread,
// and events/s not down at all.
//
// Names are stems: a metric measured at several points carries the point
// after "@" (p99-ns@50%, events/s@1000, hops/s@cross) and every point of a
// primary stem is primary. calibrate has none: its rows are this machine's
// floors, not the code under test.
var primary = map[string][]string{
	"fanin":      {"events/s", "consumer-cpu-ns/event"},
	"overflow":   {"events/s", "consumer-cpu-ns/event"},
	"churn":      {"events/s", "ctl/s"},
	"scale":      {"events/s", "collect-ns/event", "adds/s"},
	"latency":    {"p99-ns", "capacity/s"},
	"levelstorm": {"edge-p99-ns", "edge/s"},
	"pingpong":   {"rt-p99-ns", "hops/s"},
	"echo":       {"requests/s", "p99-ns"},
	"ring":       {"events/s"},
	"fidelity":   {"go-events/s", "go-consumer-cpu-ns/event"},
	"mixed":      {"events/s", "worst-p99-ns"},
	"calibrate":  {},
}

// defaultPrimary is the rule for a workload the table does not name yet.
var defaultPrimary = []string{"events/s", "p99-ns"}

// stem is a metric's name without its measurement point.
func stem(metric string) string {
	s, _, _ := strings.Cut(metric, "@")
	return s
}

// Primary reports whether metric gates by default in workload's rows.
func Primary(workload, metric string) bool {
	stems, ok := primary[workload]
	if !ok {
		stems = defaultPrimary
	}
	s := stem(metric)
	for _, p := range stems {
		if s == p {
			return true
		}
	}
	return false
}
