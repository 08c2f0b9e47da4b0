package workloads

import (
	"context"
	"fmt"
	"strconv"

	"kbench/notify"
	"kbench/results"
	"kbench/ringlab"
)

// Ring measures the collection-ring designs alone, on one substrate,
// against the cache-line floor and their C twins (ringlab does the work;
// this file turns its rows into result rows).
var Ring = Workload{
	Name:  "ring",
	Order: 85,
	Params: []Param{
		{Name: "lab_slots", Default: 256, Min: 32, Max: 1 << 20, Help: "slots per ring, every design (ring_slots is kevent's)"},
		{Name: "lab_events", Default: 0, Min: 0, Max: 100_000_000, Help: "events per repetition (0: the suite's own, 400000 streaming and less for the other patterns)"},
	},
	Desc: "collection rings alone: ownership word per slot (zach), AIO-style shared head/tail line, split head/tail with cached indices, take29 kidx/commit, BPF-ringbuf busy bit; ns/event as a multiple of the cache-line round trip, Go/C for designs 1–3",
}

func init() {
	Ring.RunAll = func(ctx context.Context, cfg Config, _ []notify.Variant) []results.Result { return runRing(ctx, cfg) }
	register(&Ring)
}

var ringUnits = []results.Unit{
	{Name: "ns/event", Better: "lower"},
	{Name: "events/s", Better: "higher"},
	{Name: "floor-multiple", Better: "lower"},
	{Name: "c-ns/event", Better: "lower"},
	{Name: "go/c", Better: "lower"},
	{Name: "preempted", Better: "lower"},
}

func runRing(ctx context.Context, cfg Config) []results.Result {
	suite := ringlab.Suite(cfg.Quick, cfg.ProducerCPU, cfg.ConsumerCPU)
	twin, twinErr := ringTwin()
	slots, events := cfg.param(Ring, "lab_slots"), cfg.param(Ring, "lab_events")
	for i := range suite {
		if cfg.Reps > 0 {
			suite[i].Reps = cfg.Reps
		}
		suite[i].RingSlots = slots
		if events > 0 {
			suite[i].Events, suite[i].Warmup = events, max(events/10, 1)
		}
		suite[i].Twin = twin
	}
	var out []results.Result
	var err error
	for _, p := range suite {
		var rows []ringlab.Row
		rows, err = ringlab.Run(ctx, p)
		for _, r := range rows {
			out = append(out, ringResult(r, p.Batch, twinErr))
		}
		if err != nil {
			break
		}
	}
	if err != nil && ctx.Err() == nil {
		res := results.Result{Workload: "ring", Backend: "ring", Variant: "suite", Params: map[string]string{}}
		out = append(out, skipOrFail(res, err))
	}
	return out
}

// ringResult converts one ringlab row. asked is the batch the suite asked
// for: a design that cannot batch (ownership words) runs with 1, and its
// name says both so that rows stay distinct.
func ringResult(r ringlab.Row, asked int, twinErr error) results.Result {
	placement := "cross"
	if r.ProducerCPU == r.ConsumerCPU {
		placement = "same"
	}
	res := results.Result{
		Workload: "ring",
		Backend:  "ring",
		Variant:  fmt.Sprintf("%s %dB %s %s %s", r.Design, r.SlotSize, r.Pattern, batchLabel(asked, r.Batch), placement),
		Units:    ringUnits,
		Params: map[string]string{
			"design":       r.Design,
			"slot_size":    strconv.Itoa(r.SlotSize),
			"ring_slots":   strconv.Itoa(r.RingSlots),
			"pattern":      r.Pattern,
			"batch":        strconv.Itoa(r.Batch),
			"batch_asked":  strconv.Itoa(asked),
			"placement":    placement,
			"producer_cpu": strconv.Itoa(r.ProducerCPU),
			"consumer_cpu": strconv.Itoa(r.ConsumerCPU),
			"events":       strconv.Itoa(r.Events),
			"release":      map[bool]string{true: "asm-mov", false: "sync/atomic"}[r.ReleaseStoreAsm],
		},
	}
	if r.Pattern == ringlab.Burst {
		res.Params["burst"] = strconv.Itoa(r.Burst)
		res.Params["idle_gap_ns"] = strconv.FormatInt(r.IdleGapNs, 10)
	}
	for i, ns := range r.NsPerEvent {
		s := results.Sample{Rep: i, Values: map[string]float64{
			"ns/event":  ns,
			"events/s":  r.EventsPerSec[i],
			"preempted": float64(r.Preempted) / float64(len(r.NsPerEvent)),
		}}
		if r.FloorNs > 0 {
			s.Values["floor-multiple"] = ns / r.FloorNs
		}
		if i < len(r.CNsPerEvent) {
			s.Values["c-ns/event"] = r.CNsPerEvent[i]
			if r.CNsPerEvent[i] > 0 {
				s.Values["go/c"] = ns / r.CNsPerEvent[i]
			}
		}
		if i == 0 { // ringlab sums the accounting over the repetitions
			s.Generated, s.Collected = uint64(r.Generated), uint64(r.Received)
			s.Lost, s.Dup = uint64(r.Lost), uint64(r.Dup+r.Reordered+r.Corrupt)
		}
		res.Samples = append(res.Samples, s)
	}
	res.Params["floor_ns"] = strconv.FormatFloat(r.FloorNs, 'f', 1, 64)
	if r.Note != "" {
		res.Params["note"] = r.Note // how the design was built; the same for every row of it
	}
	switch {
	case r.Failed:
		res.Status, res.Reason = results.StatusFailed, r.Reason
	default:
		res = finish(res)
		if twinErr != nil && isTwinDesign(r.Design) {
			res.Reason = "no C twin: " + twinErr.Error()
		}
	}
	return res
}

func isTwinDesign(d string) bool {
	for _, t := range ringlab.TwinDesigns() {
		if t == d {
			return true
		}
	}
	return false
}

// ringTwin builds the ring designs' C twin once (ringlab caches it); without
// a C compiler the rows say so.
func ringTwin() (string, error) { return ringlab.CTwin() }

func batchLabel(asked, ran int) string {
	if asked == ran {
		return "b" + strconv.Itoa(ran)
	}
	return fmt.Sprintf("b%d→%d", asked, ran)
}
