package workloads

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"kbench/internal/work"
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
		{Name: "lab_slots", Default: 256, Min: 4, Max: 1 << 20, Help: "slots per ring, every design (ring_slots is kevent's); a power of two for owned-pow2"},
		{Name: "lab_events", Default: 0, Min: 0, Max: 100_000_000, Help: "events per repetition (0: the suite's own, 200000 streaming and less for the other patterns)"},
		{Name: "work_ns", Default: 0, Min: 0, Max: work.MaxNs, Help: "application work per event on the consumer, ns (calibrated dependent arithmetic, Go and C alike)"},
		{Name: "work_bytes", Default: 0, Min: 0, Max: work.MaxBytes, Help: "bytes of a private buffer the work walks per event (cache footprint)"},
		{Name: "lab_map", Default: 0, Min: 0, Max: 1, Help: "1: run the design map (work 0–1000 ns × batch × size × pattern, winner per cell) instead of the suite; with --quick the smoke-test map"},
	},
	Desc: "collection rings alone: ownership word per slot (zach; also in af_packet's aligned power-of-two layout), AIO-style shared head/tail line, split head/tail with cached indices, take29 kidx/commit, BPF-ringbuf busy bit; ns/event as a multiple of the cache-line round trip, net of the harness's checks, Go/C for the designs with a twin; lab_map=1 for the design map",
}

func init() {
	Ring.RunAll = func(ctx context.Context, cfg Config, _ []notify.Variant) []results.Result { return runRing(ctx, cfg) }
	register(&Ring)
}

var ringUnits = []results.Unit{
	{Name: "ns/event", Better: "lower"},
	{Name: "events/s", Better: "higher"},
	{Name: "floor-multiple", Better: "lower"},
	{Name: "net-ns/event", Better: "lower"},
	{Name: "harness-ns/event", Better: "lower"},
	{Name: "c-ns/event", Better: "lower"},
	{Name: "c-net-ns/event", Better: "lower"},
	{Name: "go/c", Better: "lower"},
	{Name: "net-go/c", Better: "lower"},
	{Name: "work-measured-ns", Better: "lower"},
	{Name: "c-work-measured-ns", Better: "lower"},
	{Name: "preempted", Better: "lower"},
}

func runRing(ctx context.Context, cfg Config) []results.Result {
	if cfg.param(Ring, "lab_map") != 0 {
		return runRingMap(ctx, cfg)
	}
	suite := ringlab.Suite(cfg.Quick, cfg.ProducerCPU, cfg.ConsumerCPU)
	twin, twinErr := ringTwin()
	slots, events := cfg.param(Ring, "lab_slots"), cfg.param(Ring, "lab_events")
	workNs, workBytes := int64(cfg.param(Ring, "work_ns")), int64(cfg.param(Ring, "work_bytes"))
	dropped := ""
	for i := range suite {
		if slots&(slots-1) != 0 { // owned-pow2 and minimal need a power-of-two ring
			suite[i].Designs = slices.DeleteFunc(slices.Clone(suite[i].Designs), func(d string) bool {
				return d == ringlab.OwnedPow2 || d == ringlab.Minimal
			})
			dropped = ringlab.OwnedPow2 + ", " + ringlab.Minimal + " (lab_slots is not a power of two)"
		}
		suite[i].WorkNs, suite[i].WorkBytes = workNs, workBytes
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
			res := ringResult(r, p.Batch, twinErr)
			if dropped != "" {
				res.Params["designs_dropped"] = dropped
			}
			out = append(out, res)
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
			"work_ns":      strconv.FormatInt(r.WorkNs, 10),
			"work_bytes":   strconv.FormatInt(r.WorkBytes, 10),
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
		if i < len(r.NetNsPerEvent) {
			s.Values["net-ns/event"] = r.NetNsPerEvent[i]
			s.Values["harness-ns/event"] = ns - r.NetNsPerEvent[i] // the same round's pair
		}
		if i < len(r.WorkMeasuredNs) {
			s.Values["work-measured-ns"] = r.WorkMeasuredNs[i]
		}
		if i < len(r.CWorkNs) {
			s.Values["c-work-measured-ns"] = r.CWorkNs[i]
		}
		if i < len(r.CNsPerEvent) {
			s.Values["c-ns/event"] = r.CNsPerEvent[i]
			if r.CNsPerEvent[i] > 0 {
				s.Values["go/c"] = ns / r.CNsPerEvent[i]
			}
		}
		if i < len(r.CNetNsPerEvent) && i < len(r.NetNsPerEvent) {
			s.Values["c-net-ns/event"] = r.CNetNsPerEvent[i]
			if r.CNetNsPerEvent[i] > 0 {
				s.Values["net-go/c"] = r.NetNsPerEvent[i] / r.CNetNsPerEvent[i]
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

// ringMapUnits are a map cell's metrics: the margin of its winner over the
// runner-up (percent, same-round ratio), the measured work, and each
// design's net ns/event ("<design> net-ns/event").
var ringMapUnits = []results.Unit{
	{Name: "margin-%", Better: "higher"},
	{Name: "work-measured-ns", Better: "lower"},
	{Name: "preempted", Better: "lower"},
}

// runRingMap runs the design map (ringlab.FullMap, or QuickMap under
// --quick) and returns one row per cell. Not in the default suite: the
// full map takes about a minute.
func runRingMap(ctx context.Context, cfg Config) []results.Result {
	spec := ringlab.FullMap()
	if cfg.Quick {
		spec = ringlab.QuickMap()
	}
	// More rounds than the map's own on request, never fewer: the sign
	// test needs them (see ringlab.Cell).
	spec.Reps = max(spec.Reps, cfg.Reps)
	slots := cfg.param(Ring, "lab_slots")
	if slots&(slots-1) != 0 { // owned-pow2 needs a power-of-two ring; the map goes on without it
		spec.Designs = slices.DeleteFunc(slices.Clone(spec.Designs), func(d string) bool { return d == ringlab.OwnedPow2 })
	}
	var rows []ringlab.Row
	var asked []int
	var err error
	for _, p := range spec.Params(cfg.ProducerCPU, cfg.ConsumerCPU, slots) {
		p.WorkBytes = int64(cfg.param(Ring, "work_bytes"))
		var rs []ringlab.Row
		rs, err = ringlab.Run(ctx, p)
		for range rs {
			asked = append(asked, p.Batch)
		}
		rows = append(rows, rs...)
		if err != nil {
			break
		}
	}
	var out []results.Result
	for _, c := range ringlab.Cells(rows, asked) {
		out = append(out, ringMapResult(c, slots, cfg.ProducerCPU, cfg.ConsumerCPU))
	}
	if err != nil && ctx.Err() == nil {
		res := results.Result{Workload: "ring", Backend: "ring", Variant: "map", Params: map[string]string{}}
		out = append(out, skipOrFail(res, err))
	}
	return out
}

// ringMapResult is one map cell as a result row. Its variant names the
// cell (stable across runs, for comparisons); the winner, runner-up and
// significance are parameters, and the verdict is the row's reason.
func ringMapResult(c ringlab.Cell, slots, pcpu, ccpu int) results.Result {
	units := slices.Clone(ringMapUnits)
	designs := slices.Sorted(maps.Keys(c.Net))
	for _, d := range designs {
		units = append(units, results.Unit{Name: d + " net-ns/event", Better: "lower"})
	}
	res := results.Result{
		Workload: "ring",
		Backend:  "map",
		Variant:  c.Label(),
		Units:    units,
		Params: map[string]string{
			"map":          "1",
			"pattern":      c.Pattern,
			"batch_asked":  strconv.Itoa(c.Batch),
			"slot_size":    strconv.Itoa(c.SlotSize),
			"work_ns":      strconv.FormatInt(c.WorkNs, 10),
			"ring_slots":   strconv.Itoa(slots),
			"producer_cpu": strconv.Itoa(pcpu),
			"consumer_cpu": strconv.Itoa(ccpu),
			"winner":       c.Winner,
			"runner_up":    c.RunnerUp,
			"significant":  strconv.FormatBool(c.Significant),
			"ties":         strings.Join(c.Ties, ","),
			"designs":      strings.Join(designs, ","),
			"basis":        "net ns/event (consumer checks off; exactly-once proven on the checked runs beside them)",
		},
	}
	rounds := 0
	for _, xs := range c.Net {
		rounds = max(rounds, len(xs))
	}
	for i := 0; i < rounds; i++ {
		s := results.Sample{Rep: i, Values: map[string]float64{}}
		for _, d := range designs {
			if i < len(c.Net[d]) {
				s.Values[d+" net-ns/event"] = c.Net[d][i]
			}
		}
		if w, ru := c.Net[c.Winner], c.Net[c.RunnerUp]; i < len(w) && i < len(ru) && w[i] > 0 {
			s.Values["margin-%"] = 100 * (ru[i]/w[i] - 1)
		}
		var work []float64 // this round's measured work, one sample per design
		for _, d := range designs {
			if i < len(c.WorkMeasured[d]) {
				work = append(work, c.WorkMeasured[d][i])
			}
		}
		if len(work) > 0 {
			s.Values["work-measured-ns"] = results.Median(work)
		}
		s.Values["preempted"] = float64(c.Preempted) / float64(rounds)
		if i == 0 {
			s.Generated, s.Collected = uint64(c.Generated), uint64(c.Received)
			s.Lost, s.Dup = uint64(c.Lost), uint64(c.Dup)
		}
		res.Samples = append(res.Samples, s)
	}
	if c.Failed != "" {
		res.Status, res.Reason = results.StatusFailed, c.Verdict()
		return res
	}
	res = finish(res)
	if res.Status == results.StatusOK {
		res.Reason = c.Verdict()
	}
	return res
}
