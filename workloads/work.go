package workloads

import (
	"fmt"
	"strconv"

	"kbench/internal/work"
	"kbench/results"
)

// workParams are the calibrated application work a collector does per
// event (internal/work), parameters of every collecting workload that
// takes them: with them a reader sees at what work per event the
// mechanism's own cost stops mattering.
var workParams = []Param{
	{Name: "work_ns", Default: 0, Min: 0, Max: work.MaxNs,
		Help: "calibrated application work per collected event on the collector, ns (a dependent arithmetic chain, internal/work)"},
	{Name: "work_bytes", Default: 0, Min: 0, Max: work.MaxBytes,
		Help: "bytes of a private buffer the per-event work also walks, one access per cache line"},
}

// collectorWork builds the collector's per-event work for a row of w,
// records what was asked in the row's parameters, and measures on the
// calling (pinned collector) thread what one event's work costs there.
// A nil loop means no work.
func collectorWork(cfg Config, w Workload, res *results.Result) (*work.Loop, float64, error) {
	ns, bytes := int64(cfg.param(w, "work_ns")), int64(cfg.param(w, "work_bytes"))
	res.Params["work_ns"] = strconv.FormatInt(ns, 10)
	res.Params["work_bytes"] = strconv.FormatInt(bytes, 10)
	if ns == 0 && bytes == 0 {
		return nil, 0, nil
	}
	var rate float64
	if ns > 0 {
		rate = work.ItersPerNs()
	}
	l, err := work.New(ns, bytes, rate)
	if err != nil {
		return nil, 0, fmt.Errorf("per-event work: %w", err)
	}
	res.Params["work_iters"] = strconv.FormatUint(l.Iters(), 10)
	return l, threadCPUPerCall(l), nil
}

// threadCPUPerCall measures one event's work in this thread's CPU time
// (work.Loop.Measure), the clock the collector's own figures are in
// (the thread CPU clock), so that the two can be subtracted: the least of three runs
// of about a millisecond.
func threadCPUPerCall(l *work.Loop) float64 {
	best := 0.0
	for range 3 {
		if per := l.Measure(l.MeasureCalls()); best == 0 || per < best {
			best = per
		}
	}
	return best
}

// addWork records the measured work beside the collector's CPU per event:
// what the collector spent beyond the application's work is the
// mechanism's (and the harness's) cost, and its share of the collector's
// CPU is what tells whether the mechanism matters at this work per event.
func addWork(s *results.Sample, measured float64) {
	if measured <= 0 {
		return
	}
	s.Values["work-ns/event"] = measured
	cons, ok := s.Values["consumer-cpu-ns/event"]
	if !ok || cons <= 0 {
		return
	}
	over := max(cons-measured, 0)
	s.Values["collector-overhead-ns/event"] = over
	s.Values["overhead-share"] = over / cons
}
