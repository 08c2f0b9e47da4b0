package workloads

import (
	"context"
	"math"
	"strconv"
	"strings"

	"kbench/notify"
	"kbench/results"
)

// Breakeven: fan-in with growing application work per event. At each work
// point the collector's CPU per event is split into the application's work
// (measured) and the rest, the mechanism's and the harness's own cost; the
// row reports, per variant, the work per event at which that rest falls
// below 10 % and below 1 % of the collector's CPU, and how batching (events
// per Wait) changes as work grows. It answers "does the collection
// mechanism matter for my program?" as a number of nanoseconds of work per
// event. It is the `breakeven` suite (kbench run --suite=breakeven), not
// part of the default one.
var Breakeven = Workload{
	Name:  "breakeven",
	Order: 15,
	Suite: "breakeven",
	Desc:  "fan-in at work per event 0, 100, 300, 1000, 3000, 10000 ns: the collector's overhead share against work, and the work at which it falls below 10 % and 1 %",
	Params: []Param{
		{Name: "sources", Default: 64, Quick: 16, Min: 1, Max: 65536, Help: "registered sources, each with at most one firing outstanding"},
		{Name: "batch", Default: 256, Quick: 64, Min: 1, Max: 65536, Help: "events slice length passed to Wait"},
		{Name: "work_bytes", Default: 0, Min: 0, Max: workParams[1].Max, Help: workParams[1].Help},
	},
}

func init() {
	Breakeven.Run = runBreakeven
	register(&Breakeven)
}

// breakevenSweep is the work per event (ns) of each point; --quick runs
// breakevenQuick.
var (
	breakevenSweep = []int{0, 100, 300, 1000, 3000, 10000}
	breakevenQuick = []int{0, 300, 3000}
)

// Overhead shares the row finds the crossing of.
var breakevenShares = []struct {
	label string
	share float64
}{{"10%", 0.10}, {"1%", 0.01}}

func breakevenUnits(sweep []int) []results.Unit {
	var u []results.Unit
	for _, b := range breakevenShares {
		u = append(u, results.Unit{Name: "breakeven-" + b.label + "-work-ns", Better: "lower"})
	}
	for _, w := range sweep {
		sfx := "@w=" + strconv.Itoa(w)
		u = append(u,
			results.Unit{Name: "overhead-share" + sfx, Better: "lower"},
			results.Unit{Name: "collector-overhead-ns/event" + sfx, Better: "lower"},
			results.Unit{Name: "consumer-cpu-ns/event" + sfx, Better: "lower"},
			results.Unit{Name: "work-ns/event" + sfx, Better: "lower"},
			results.Unit{Name: "events/wait" + sfx, Better: "higher"},
			results.Unit{Name: "events/s" + sfx, Better: "higher"},
		)
	}
	return u
}

func runBreakeven(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	sweep := breakevenSweep
	if cfg.Quick {
		sweep = breakevenQuick
	}
	res := results.Result{Workload: "breakeven", Backend: v.Backend, Variant: v.Name, Units: breakevenUnits(sweep)}
	res.Params = cfg.baseParams(v)
	var pts []string
	for _, w := range sweep {
		pts = append(pts, strconv.Itoa(w))
	}
	res.Params["work_ns_sweep"] = strings.Join(pts, ":")
	for _, p := range Breakeven.Params {
		res.Params[p.Name] = strconv.Itoa(cfg.param(Breakeven, p.Name))
	}
	for rep := 0; rep < cfg.Reps; rep++ {
		s := results.Sample{Rep: rep, Values: map[string]float64{}}
		var ws, shares []float64
		for _, w := range sweep {
			if ctx.Err() != nil {
				res.Reason = "interrupted"
				return finish(res)
			}
			pc := cfg
			pc.Reps = 1
			pc.Params = map[string]int{}
			for k, x := range cfg.Params {
				pc.Params[k] = x
			}
			pc.Params["work_ns"] = w
			for _, p := range Breakeven.Params {
				pc.Params[p.Name] = cfg.param(Breakeven, p.Name)
			}
			r := runFanin(ctx, v, pc)
			if r.Status != results.StatusOK || len(r.Samples) != 1 {
				if r.Status == results.StatusOK || r.Status == "" {
					r.Status, r.Reason = results.StatusFailed, "no repetition completed"
				}
				res.Status, res.Reason = r.Status, "at work_ns="+strconv.Itoa(w)+": "+r.Reason
				res.Samples = append(res.Samples, r.Samples...)
				return res
			}
			fs := r.Samples[0]
			if res.Params["housekeeping"] == "" {
				res.Params["housekeeping"] = r.Params["housekeeping"]
			}
			s.Absorb(fs)
			sfx := "@w=" + strconv.Itoa(w)
			cons := fs.Values["consumer-cpu-ns/event"]
			work := fs.Values["work-ns/event"] // absent at w=0
			over := max(cons-work, 0)
			share := 1.0
			if cons > 0 {
				share = over / cons
			}
			s.Values["overhead-share"+sfx] = share
			s.Values["collector-overhead-ns/event"+sfx] = over
			s.Values["consumer-cpu-ns/event"+sfx] = cons
			s.Values["work-ns/event"+sfx] = work
			s.Values["events/wait"+sfx] = fs.Values["events/wait"]
			s.Values["events/s"+sfx] = fs.Values["events/s"]
			ws = append(ws, float64(w))
			shares = append(shares, share)
		}
		for _, b := range breakevenShares {
			if w, ok := crossing(ws, shares, b.share); ok {
				s.Values["breakeven-"+b.label+"-work-ns"] = w
			}
		}
		res.Samples = append(res.Samples, s)
	}
	return finish(res)
}

// crossing is the work at which share first falls below t, interpolated
// between the two sweep points around it (linearly in log work, linearly
// from 0); false when no point of the sweep gets below t.
func crossing(ws, shares []float64, t float64) (float64, bool) {
	for i := range ws {
		if shares[i] >= t {
			continue
		}
		if i == 0 {
			return ws[0], true
		}
		a, b := shares[i-1], shares[i]
		f := (a - t) / (a - b) // in (0, 1]
		if ws[i-1] <= 0 {
			return ws[i] * f, true
		}
		return math.Exp(math.Log(ws[i-1]) + f*(math.Log(ws[i])-math.Log(ws[i-1]))), true
	}
	return 0, false
}
