package workloads

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/cpu"
	"kbench/notify"
	"kbench/results"
)

// Levelstorm: L level-triggered sources that are always ready (eventfds
// written once and never read) registered beside E sources fired at a
// fixed rate, open loop as in latency. Every Wait can be filled with level
// events; the question is what that costs the fired ones: their latency
// (from the intended fire time, and from the actual one) and the share of
// collected events that were level ones.
//
// The fired sources use the variant's own trigger (edge, oneshot re-armed,
// multishot — or level, drained at each collection, where that is the
// variant's); the always-ready ones are eventfds registered Level even on
// a user-source variant, since a user source has no state to stay ready
// on. A backend that cannot register Level gives an n/a row.
//
// kevent's Zach ring sends level kevents through the collection call only,
// made every zach_n ring records: for a variant with that parameter the
// row sweeps it (zach_n 1, 16 and the variant's default), unless --set
// fixes it. Row layout: one row per variant; the default point's figures
// unsuffixed ("edge-p99-ns", "level-share"), the other sweep points'
// suffixed "@n=16".
var Levelstorm = Workload{
	Name:  "levelstorm",
	Order: 40,
	Desc:  "L always-ready level sources beside E sources fired at a rate: the fired events' latency and the share of collected events that were level ones; sweeps kevent zach's N",
	Params: []Param{
		{Name: "level", Default: 64, Quick: 16, Min: 1, Max: 65536, Help: "L: always-ready level sources (eventfds never drained)"},
		{Name: "edge", Default: 4, Min: 1, Max: 65536, Help: "E: sources fired at the rate, with the variant's trigger"},
		{Name: "rate", Default: 20000, Min: 1, Max: 10_000_000, Help: "firings/s on the E sources (constant spacing)"},
		{Name: "batch", Default: 64, Quick: 16, Min: 1, Max: 65536, Help: "events slice length passed to Wait"},
		workParams[0], workParams[1],
	},
}

func init() {
	Levelstorm.Run = runLevelstorm
	register(&Levelstorm)
}

// zachN is kevent zach's variant parameter (a collection call every N ring
// records); named here, not imported, so workloads depends on no backend.
const zachN = "zach_n"

// zachSweep are the N the row measures besides the variant's default.
var zachSweep = []int{1, 16}

// stormLevelBase: level sources' tokens start here, far above any fired
// source's index.
const stormLevelBase = 1 << 32

// stormPoint is one configuration of the sweep: its own Notifier (zach_n is
// fixed at open), sources and open-loop machinery.
type stormPoint struct {
	label  string // "" for the default point, else "n=16"
	note   string // how the saturation note names it
	params map[string]int
	n      notify.Notifier
	src    *sourceSet
	levels []int
	ol     *openLoop
}

func runLevelstorm(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	L := cfg.param(Levelstorm, "level")
	E := cfg.param(Levelstorm, "edge")
	rate := cfg.param(Levelstorm, "rate")
	batch := cfg.param(Levelstorm, "batch")
	res := results.Result{Workload: "levelstorm", Backend: v.Backend, Variant: v.Name}
	res.Params = cfg.baseParams(v)
	res.Params["level"] = strconv.Itoa(L)
	res.Params["edge"] = strconv.Itoa(E)
	res.Params["rate"] = strconv.Itoa(rate)
	res.Params["batch"] = strconv.Itoa(batch)
	if L < 1 || E < 1 || rate < 1 || batch < 1 {
		return fail(res, fmt.Errorf("levelstorm: level %d, edge %d, rate %d, batch %d: all must be ≥ 1", L, E, rate, batch))
	}
	points := []*stormPoint{{params: map[string]int{}, note: strconv.Itoa(rate) + "/s"}}
	def, hasN := v.Params[zachN]
	if _, set := cfg.Params[zachN]; hasN && !set {
		points[0].note = "n=" + strconv.Itoa(def)
		var sweep []string
		for _, N := range zachSweep {
			if N != def {
				l := "n=" + strconv.Itoa(N)
				points = append(points, &stormPoint{label: l, note: l, params: map[string]int{zachN: N}})
				sweep = append(sweep, strconv.Itoa(N))
			}
		}
		res.Params["zach_n_sweep"] = strings.Join(append(sweep, strconv.Itoa(def)), ":")
	}
	for _, p := range points {
		res.Units = append(res.Units, stormUnits(p.suffix())...)
	}
	out := make(chan results.Result, 1)
	go func() {
		out <- stormConsumer(ctx, v, cfg, L, E, float64(rate), batch, points, res)
	}()
	return <-out
}

func (p *stormPoint) suffix() string {
	if p.label == "" {
		return ""
	}
	return "@" + p.label
}

func stormUnits(suffix string) []results.Unit {
	u := percentileUnits("edge-", suffix)
	u = append(u, percentileUnits("edge-raw-", suffix)...)
	u = append(u, percentileUnits("edge-late-", suffix)...)
	return append(u,
		results.Unit{Name: "level-share" + suffix, Better: "lower"},
		results.Unit{Name: "level/wait" + suffix, Better: "lower"},
		results.Unit{Name: "edge/s" + suffix, Better: "higher"},
		results.Unit{Name: "achieved-ratio" + suffix, Better: "higher"},
		results.Unit{Name: "saturated" + suffix, Better: "lower"},
		results.Unit{Name: "syscalls/wait" + suffix, Better: "lower"},
	)
}

// stormConsumer runs on the consumer's pinned thread, which opens every
// point's Notifier; the points' producers share the producer's CPU and
// only one fires at a time.
func stormConsumer(ctx context.Context, v notify.Variant, cfg Config, L, E int, rate float64, batch int, points []*stormPoint, res results.Result) results.Result {
	unpin, err := cpu.Pin(cfg.ConsumerCPU)
	if err != nil {
		return skip(res, fmt.Errorf("pin consumer: %w", err))
	}
	defer unpin()
	// The application's work on every event taken, level ones too: a
	// program handles what its Wait returns.
	wl, workNs, err := collectorWork(cfg, Levelstorm, &res)
	if err != nil {
		return fail(res, err)
	}
	if workNs > 0 {
		res.Units = append(res.Units, results.Unit{Name: "work-ns/event", Better: "lower"})
	}
	var stop atomic.Bool // ends the producers' current repetition early (Ctrl-C)
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()
	window := pointWindow(cfg.Duration, len(points))
	warm := cfg.Warmup / time.Duration(len(points))
	defer func() {
		for _, p := range points {
			p.close()
		}
	}()
	for _, p := range points {
		if err := p.open(v, cfg, L, E, rate, batch, max(window, warm), &stop); err != nil {
			return naSkipOrFail(res, err)
		}
		noteEmulated(res.Params, p.n)
		p.ol.c.work = wl
	}
	if warm > 0 {
		for _, p := range points {
			r, err := p.ol.point(loadPoint{rate: rate}, false, warm, nil)
			if err != nil {
				return fail(res, err)
			}
			if r.lost != 0 || r.dup != 0 {
				return fail(res, fmt.Errorf("warm-up lost %d and duplicated %d firings", r.lost, r.dup))
			}
		}
	}
	ratios := map[string][]float64{}
	for rep := 0; rep < cfg.Reps; rep++ {
		if ctx.Err() != nil {
			res.Reason = "interrupted"
			break
		}
		s := results.Sample{Rep: rep, Values: map[string]float64{}, Histograms: map[string]string{}}
		if workNs > 0 {
			s.Values["work-ns/event"] = workNs
		}
		var sys notify.SyscallCounts
		for _, p := range points {
			r, err := p.ol.point(loadPoint{rate: rate}, false, window, nil)
			if err != nil {
				return fail(res, err)
			}
			if ctx.Err() != nil {
				// Stopped mid-point: the partial repetition is dropped.
				res.Reason = "interrupted"
				return finish(res)
			}
			r.addTo(&s, &sys)
			x := p.suffix()
			c := p.ol.c
			putPercentiles(s.Values, c.corr, "edge-", x)
			putPercentiles(s.Values, c.raw, "edge-raw-", x)
			putPercentiles(s.Values, c.late, "edge-late-", x)
			ratio := float64(r.generated) / float64(max(r.scheduled, 1))
			s.Values["level-share"+x] = float64(r.levels) / float64(max(r.levels+r.edges, 1))
			s.Values["level/wait"+x] = float64(r.levels) / float64(max(r.waits, 1))
			s.Values["edge/s"+x] = float64(r.generated) / window.Seconds()
			s.Values["achieved-ratio"+x] = ratio
			s.Values["saturated"+x] = 0
			if ratio < saturatedBelow {
				s.Values["saturated"+x] = 1
			}
			s.Values["syscalls/wait"+x] = float64(r.sys.Collector()) / float64(max(r.waits, 1))
			ratios[p.note] = append(ratios[p.note], ratio)
			if s.Histograms["edge"+x], err = encodeHist(c.corr); err != nil {
				return fail(res, err)
			}
			if s.Histograms["edge-raw"+x], err = encodeHist(c.raw); err != nil {
				return fail(res, err)
			}
		}
		s.Syscalls = sys.Map()
		res.Samples = append(res.Samples, s)
		if s.Lost != 0 || s.Dup != 0 {
			// A firing still outstanding would haunt the next repetition;
			// the row fails on this one.
			break
		}
	}
	var lps []loadPoint
	for _, p := range points {
		lps = append(lps, loadPoint{label: p.note})
	}
	if note := saturationNote(lps, ratios); note != "" && res.Reason == "" {
		res.Reason = note
	}
	return finish(res)
}

// open sets the point up on the consumer's thread. A trigger the backend
// lacks is an error wrapping errors.ErrUnsupported (an n/a row).
func (p *stormPoint) open(v notify.Variant, cfg Config, L, E int, rate float64, batch int, maxWindow time.Duration, stop *atomic.Bool) error {
	o := cfg.options(v, L+E)
	for k, val := range p.params {
		o.Params[k] = val
	}
	n, err := v.Open(o)
	if err != nil {
		return fmt.Errorf("open %s: %w", v.ID(), err)
	}
	p.n = n
	caps := n.Caps()
	for _, tr := range []notify.Trigger{v.Trigger, notify.Level} {
		if !caps.Triggers.Has(tr) {
			return fmt.Errorf("backend does not support trigger %v: %w", tr, errors.ErrUnsupported)
		}
	}
	if p.src, err = newSourceSet(n, v, E); err != nil {
		return err
	}
	one := binary.NativeEndian.AppendUint64(nil, 1)
	for j := 0; j < L; j++ {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			return fmt.Errorf("eventfd: %w", err)
		}
		p.levels = append(p.levels, fd)
		// Written once, never read: readable for the whole run.
		if _, err := unix.Write(fd, one); err != nil {
			return fmt.Errorf("eventfd write: %w", err)
		}
		if err := n.Add(fd, stormLevelBase+uint64(j), notify.Readable, notify.Level); err != nil {
			return fmt.Errorf("register level source %d: %w", j, err)
		}
	}
	if p.ol, err = newOpenLoop(n, p.src, cfg, batch, rate, maxWindow, stop); err != nil {
		return err
	}
	p.ol.c.levelBase = stormLevelBase
	return nil
}

// close tears the point down on the consumer's thread: producer, sources,
// Notifier.
func (p *stormPoint) close() {
	if p.ol != nil {
		p.ol.close()
	}
	if p.src != nil {
		p.src.close()
	}
	for _, fd := range p.levels {
		p.n.Remove(fd)
		unix.Close(fd)
	}
	if p.n != nil {
		p.n.Close()
	}
}
