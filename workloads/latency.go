package workloads

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"kbench/internal/clock"
	"kbench/internal/rusage"
	"kbench/internal/work"
	"kbench/notify"
	"kbench/results"
)

// Latency: open-loop firing on a schedule, latency from the intended and
// from the actual fire time.
//
// The producer follows a schedule of intended fire times fixed before the
// repetition starts (constant spacing, or Poisson arrivals from a seeded
// generator, so every run offers the same pattern). When it falls behind —
// all sources still outstanding because the collector is slow, or its own
// CPU taken away — the intended times do not move: the firings go out late,
// and their latency from the intended time carries the delay. That is the
// coordinated-omission correction; the latency from the actual fire time is
// what a closed-loop harness would have reported. A producer that cannot
// keep up stops at the end of the window with part of the schedule unfired:
// achieved below 99% of target flags the point saturated (not a failure).
//
// Row layout: one row per variant, each sweep point's figures as Values
// suffixed with the point's label: "p99-ns@50%" (from the intended time),
// "raw-p99-ns@50%" (from the actual one), "late-p99-ns@50%" (how late the
// producer fired: on a busy machine its own preemptions are part of the
// corrected figure, and this tells them apart), "achieved-ratio@50%",
// "saturated@50%" (1 or 0). By default the points are 10%, 50% and 90% of
// the capacity a fan-in probe measures for the variant in the warm-up
// ("capacity/s"); rate=R gives one point labelled "rate" at R events/s.
// Each repetition runs every point (see pointWindow), so the row costs
// about what a fan-in row does.
var Latency = Workload{
	Name:  "latency",
	Order: 20,
	Desc:  "open-loop firing at 10/50/90% of a fan-in capacity probe (or rate=): latency from the intended fire time (coordinated-omission corrected) and from the actual one, achieved vs target rate",
	Params: []Param{
		{Name: "sources", Default: 64, Quick: 16, Min: 1, Max: 65536, Help: "registered sources, each with at most one firing outstanding"},
		{Name: "batch", Default: 256, Quick: 64, Min: 1, Max: 65536, Help: "events slice length passed to Wait"},
		{Name: "rate", Default: 0, Min: 0, Max: 10_000_000, Help: "target events/s; 0 sweeps 10%, 50% and 90% of the capacity probed in the warm-up"},
		{Name: "poisson", Default: 1, Min: 0, Max: 1, Help: "1: Poisson arrivals (exponential gaps, seeded per repetition and point); 0: constant spacing"},
		workParams[0], workParams[1],
	},
}

func init() {
	Latency.Run = runLatency
	register(&Latency)
}

// latencyLoads are the default sweep, in percent of the probed capacity.
var latencyLoads = []int{10, 50, 90}

// pointWindow is how long each of a repetition's points fires: together
// two thirds of the repetition's duration, the rest left to what a point
// costs besides firing (the drain, encoding its histograms), so that a row
// of these workloads costs no more than a fan-in row.
func pointWindow(d time.Duration, points int) time.Duration {
	return max(d*2/time.Duration(3*points), 2*time.Millisecond)
}

// saturatedBelow: a point whose producer fired less than this share of its
// schedule could not sustain the target rate.
const saturatedBelow = 0.99

// loadPoint is one target rate of the sweep.
type loadPoint struct {
	label string // the Values suffix after "@": "50%" or "rate"
	rate  float64
}

func runLatency(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	S := cfg.param(Latency, "sources")
	batch := cfg.param(Latency, "batch")
	rate := cfg.param(Latency, "rate")
	poisson := cfg.param(Latency, "poisson")
	res := results.Result{Workload: "latency", Backend: v.Backend, Variant: v.Name}
	res.Params = cfg.baseParams(v)
	res.Params["sources"] = strconv.Itoa(S)
	res.Params["batch"] = strconv.Itoa(batch)
	res.Params["rate"] = strconv.Itoa(rate)
	res.Params["poisson"] = strconv.Itoa(poisson)
	if rate == 0 {
		var loads []string
		for _, l := range latencyLoads {
			loads = append(loads, strconv.Itoa(l))
		}
		res.Params["loads_pct"] = strings.Join(loads, ":")
	}
	if S < 1 || batch < 1 || rate < 0 || poisson < 0 || poisson > 1 {
		return fail(res, fmt.Errorf("latency: sources %d, batch %d, rate %d, poisson %d: want sources, batch ≥ 1, rate ≥ 0, poisson 0 or 1", S, batch, rate, poisson))
	}
	out := make(chan results.Result, 1)
	go func() {
		out <- latencyConsumer(ctx, v, cfg, S, batch, float64(rate), poisson == 1, res)
	}()
	return <-out
}

// latencyConsumer runs on the consumer's pinned thread, which opens the
// backend (io_uring's SINGLE_ISSUER binds the ring to its creator).
func latencyConsumer(ctx context.Context, v notify.Variant, cfg Config, S, batch int, rate float64, poisson bool, res results.Result) results.Result {
	n, src, release, failed := openPinned(res, v, cfg, S)
	if failed != nil {
		return *failed
	}
	defer release()
	wl, workNs, err := collectorWork(cfg, Latency, &res)
	if err != nil {
		return fail(res, err)
	}

	var stop atomic.Bool // ends the producer's current repetition early (Ctrl-C)
	defer context.AfterFunc(ctx, func() { stop.Store(true) })()

	var points []loadPoint
	capacity := 0.0
	if rate == 0 {
		// The probe is the warm-up: a fan-in repetition on these very
		// sources, measuring what this variant sustains here and now.
		if capacity, err = probeCapacity(v, cfg, n, src, batch, wl, &stop); err != nil {
			return fail(res, err)
		}
		for _, l := range latencyLoads {
			points = append(points, loadPoint{label: strconv.Itoa(l) + "%", rate: capacity * float64(l) / 100})
		}
	} else {
		points = []loadPoint{{label: "rate", rate: rate}}
	}
	res.Units = latencyUnits(points, capacity != 0)
	if workNs > 0 {
		res.Units = append(res.Units, results.Unit{Name: "work-ns/event", Better: "lower"})
	}

	window := pointWindow(cfg.Duration, len(points))
	ol, err := newOpenLoop(n, src, cfg, batch, points[len(points)-1].rate, max(window, cfg.Warmup), &stop)
	if err != nil {
		return fail(res, err)
	}
	defer ol.close()
	ol.c.work = wl

	if rate != 0 && cfg.Warmup > 0 {
		r, err := ol.point(points[0], poisson, cfg.Warmup, rand.New(rand.NewPCG(0, math.MaxUint64)))
		if err != nil {
			return fail(res, err)
		}
		if r.lost != 0 || r.dup != 0 {
			return fail(res, fmt.Errorf("warm-up lost %d and duplicated %d firings", r.lost, r.dup))
		}
	}
	var ratios = map[string][]float64{}
	for rep := 0; rep < cfg.Reps; rep++ {
		if ctx.Err() != nil {
			res.Reason = "interrupted"
			break
		}
		s := results.Sample{Rep: rep, Values: map[string]float64{}, Histograms: map[string]string{}}
		if capacity != 0 {
			s.Values["capacity/s"] = capacity
		}
		if workNs > 0 {
			s.Values["work-ns/event"] = workNs
		}
		var sys notify.SyscallCounts
		for pi, p := range points {
			r, err := ol.point(p, poisson, window, rand.New(rand.NewPCG(uint64(rep), uint64(pi))))
			if err != nil {
				return fail(res, err)
			}
			if ctx.Err() != nil {
				// Stopped mid-point: the partial repetition is dropped.
				res.Reason = "interrupted"
				return finish(res)
			}
			r.addTo(&s, &sys)
			suffix := "@" + p.label
			putPercentiles(s.Values, ol.c.corr, "", suffix)
			putPercentiles(s.Values, ol.c.raw, "raw-", suffix)
			putPercentiles(s.Values, ol.c.late, "late-", suffix)
			ratio := float64(r.generated) / float64(max(r.scheduled, 1))
			s.Values["target/s"+suffix] = p.rate
			s.Values["achieved/s"+suffix] = float64(r.generated) / window.Seconds()
			s.Values["achieved-ratio"+suffix] = ratio
			s.Values["saturated"+suffix] = 0
			if ratio < saturatedBelow {
				s.Values["saturated"+suffix] = 1
			}
			ratios[p.label] = append(ratios[p.label], ratio)
			for name, h := range map[string]*hdrhistogram.Histogram{"latency" + suffix: ol.c.corr, "raw" + suffix: ol.c.raw} {
				if s.Histograms[name], err = encodeHist(h); err != nil {
					return fail(res, err)
				}
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
	if note := saturationNote(points, ratios); note != "" && res.Reason == "" {
		res.Reason = note
	}
	return finish(res)
}

// saturationNote names the points whose median repetition fell short of
// the target; it becomes the row's Reason (the row stays ok).
func saturationNote(points []loadPoint, ratios map[string][]float64) string {
	var parts []string
	for _, p := range points {
		if m, ok := medianOf(ratios[p.label]); ok && m < saturatedBelow {
			parts = append(parts, fmt.Sprintf("%s (achieved %.2f of target)", p.label, m))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return "saturated at " + strings.Join(parts, ", ")
}

func medianOf(v []float64) (float64, bool) {
	if len(v) == 0 {
		return 0, false
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if len(v)%2 == 0 {
		return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
	}
	return v[len(v)/2], true
}

func latencyUnits(points []loadPoint, probed bool) []results.Unit {
	var u []results.Unit
	if probed {
		u = append(u, results.Unit{Name: "capacity/s", Better: "higher"})
	}
	for _, p := range points {
		suffix := "@" + p.label
		u = append(u, percentileUnits("", suffix)...)
		u = append(u, percentileUnits("raw-", suffix)...)
		u = append(u, percentileUnits("late-", suffix)...)
		u = append(u,
			results.Unit{Name: "target/s" + suffix, Better: "higher"},
			results.Unit{Name: "achieved/s" + suffix, Better: "higher"},
			results.Unit{Name: "achieved-ratio" + suffix, Better: "higher"},
			results.Unit{Name: "saturated" + suffix, Better: "lower"},
		)
	}
	return u
}

// probeCapacity runs two fan-in repetitions (half the warm-up's length
// each) on the row's own sources and returns the better events/s: what the
// variant sustains here and now, the first half also warming it up, and the
// better of two the less likely to be a moment another process took.
func probeCapacity(v notify.Variant, cfg Config, n notify.Notifier, src *sourceSet, batch int, wl *work.Loop, stop *atomic.Bool) (float64, error) {
	d := cfg.Warmup / 2
	if d <= 0 {
		d = max(cfg.Duration/10, 5*time.Millisecond)
	}
	orders := make(chan repOrder)
	reports := make(chan repReport, 1) // buffered: the producer reports, then wakes a sleeping consumer
	go faninProducer(cfg.ProducerCPU, src, n, orders, reports, stop)
	defer close(orders)
	c := &faninCollector{n: n, src: src, wait: cfg.Wait, events: make([]notify.Event, batch), work: wl}
	hasHook := notify.HasHelper(n)
	best := 0.0
	for range 2 {
		s, err := c.rep(d, orders, reports, hasHook)
		if err != nil {
			return 0, fmt.Errorf("capacity probe: %w", err)
		}
		if s.Lost != 0 || s.Dup != 0 {
			return 0, fmt.Errorf("capacity probe lost %d and duplicated %d firings", s.Lost, s.Dup)
		}
		if c := s.Values["events/s"]; c > best && !math.IsInf(c, 0) {
			best = c
		}
	}
	if best <= 0 {
		return 0, fmt.Errorf("capacity probe measured no events")
	}
	return best, nil
}

// stamp is one firing's times, in its sequence number's slot. The producer
// stores both before it fires; the collector loads them after it has taken
// the sequence number from the source. In the machine the order comes from
// the firing itself — the eventfd write and read serialise on the
// eventfd's lock, a user source's slot Store pairs with take's Swap — and
// the atomics make the same order visible to Go's memory model (and the
// race detector), at the price of one locked store each on the producer.
type stamp struct {
	intended atomic.Int64 // clock.Now ns the schedule wanted
	actual   atomic.Int64 // clock.Now ns just before the firing's system call
}

// openOrder is one open-loop repetition, handed to the producer.
type openOrder struct {
	offs   []int64 // intended fire times, ns after the producer's start, ascending
	window int64   // ns: the producer fires nothing after start+window
	stamps []stamp // firing seq's times in stamps[seq-1]
}

// openProducer fires sources on the schedule it is given; it is the
// producer's pinned thread for the whole row.
type openProducer struct {
	src  *sourceSet
	stop *atomic.Bool
	next int // round-robin cursor over the sources
}

func (p *openProducer) loop(cpuID int, n notify.Notifier, orders <-chan *openOrder, reports chan<- repReport) {
	unpin, ok := pinProducer(cpuID, "producer", orders, reports, func(err error) repReport { return repReport{err: err} })
	if !ok {
		return
	}
	defer unpin()
	for o := range orders {
		before, _ := rusage.Thread()
		gen, err := p.run(o)
		after, _ := rusage.Thread()
		reports <- repReport{generated: gen, usage: after.Sub(before), err: err}
		// The consumer may be asleep with everything collected: wake it so
		// it reads the report.
		n.Wake()
	}
}

// run fires o's schedule and returns how many firings went out. The start
// is taken here, on receipt, so that the order's trip through the Go
// scheduler is not charged to the first firings.
func (p *openProducer) run(o *openOrder) (uint64, error) {
	start := clock.Now()
	end := start + o.window
	for k, off := range o.offs {
		due := start + off
		if !p.await(due, end) {
			return uint64(k), nil
		}
		i, ok := p.freeSource(end)
		if !ok {
			return uint64(k), nil
		}
		if err := p.fire(o, k, i, due); err != nil {
			return uint64(k), err
		}
	}
	return uint64(len(o.offs)), nil
}

// await spins until the intended time due; it reports false when the
// window closed (or the run was stopped) first. It never sleeps: a timer
// wakeup is late by tens of microseconds, more on a busy machine, and the
// lateness would be charged to the backend. While due is more than
// yieldAbove away it yields at each turn instead, so that a thread sharing
// this CPU gets to run — a consumer placed here, or the backend's helper
// (kevent's hook thread, io_uring's SQPOLL thread) when --helper-cpu puts it
// here; with no such thread the yield returns at once.
func (p *openProducer) await(due, end int64) bool {
	const yieldAbove = 5 * int64(time.Microsecond)
	for {
		now := clock.Now()
		if now >= end || p.stop.Load() {
			return false
		}
		if now >= due {
			return true
		}
		if due-now > yieldAbove {
			yield()
		}
	}
}

// freeSource finds the next source with no firing outstanding. When all
// are outstanding the collector is behind: the producer waits, and the
// intended times keep running (the wait shows in the corrected latency).
func (p *openProducer) freeSource(end int64) (int, bool) {
	S := len(p.src.busy)
	for {
		for range S {
			i := p.next
			if p.next++; p.next == S {
				p.next = 0
			}
			// Pairs with the collector's Store(0) once it has taken the
			// source's firing.
			if p.src.busy[i].v.Load() == 0 {
				return i, true
			}
		}
		if clock.Now() >= end || p.stop.Load() {
			return 0, false
		}
		yield()
	}
}

// fire sends firing k+1 on source i. It allocates nothing.
func (p *openProducer) fire(o *openOrder, k, i int, due int64) error {
	p.src.busy[i].v.Store(1)
	st := &o.stamps[k]
	// Both pair with the collector's Loads after take (see stamp).
	st.intended.Store(due)
	st.actual.Store(clock.Now())
	if err := p.src.fire(i, uint64(k)+1); err != nil {
		return fmt.Errorf("fire source %d: %w", i, err)
	}
	return nil
}

// timedCollector collects an open-loop repetition: each firing is checked
// off in the ledger and its latency recorded from both of its stamps at the
// moment Wait returned it. Tokens at or above levelBase are levelstorm's
// always-ready sources: counted, never read.
type timedCollector struct {
	n         notify.Notifier
	src       *sourceSet
	wait      string
	events    []notify.Event
	led       ledger
	stamps    []stamp
	corr, raw *hdrhistogram.Histogram // from the intended and the actual fire time
	late      *hdrhistogram.Histogram // the producer's lateness: actual − intended fire time
	levelBase uint64
	levels    uint64 // level events collected
	edges     uint64 // events of the fired sources
	waits     uint64
	work      *work.Loop // the application's work per event, level ones too; nil: none
}

// collect is the hot loop's body: one Wait, one timestamp, then each
// event's firing taken, timed, its source re-armed if oneshot and handed
// back to the producer. It allocates nothing.
func (c *timedCollector) collect(timeout time.Duration) (int, error) {
	k, err := c.n.Wait(c.events, 1, timeout)
	c.waits++
	if err != nil {
		return 0, fmt.Errorf("Wait: %w", err)
	}
	now := clock.Now()
	for j, e := range c.events[:k] {
		if c.work != nil && j > 0 {
			// The application's work on the events before this one:
			// an event is taken when the collector gets to it.
			c.work.Do()
			now = clock.Now()
		}
		if e.Token >= c.levelBase {
			c.levels++
			continue
		}
		c.edges++
		if e.Token >= uint64(len(c.src.busy)) {
			c.led.dup++ // a token nobody registered
			continue
		}
		i := int(e.Token)
		seq := c.src.take(i)
		c.led.mark(seq)
		if seq-1 < uint64(len(c.stamps)) { // seq 0 (nothing pending) wraps past the end
			st := &c.stamps[seq-1]
			// Pair with the producer's Stores before it fired (see stamp).
			in, act := st.intended.Load(), st.actual.Load()
			record(c.corr, now-in)
			record(c.raw, now-act)
			record(c.late, act-in)
		}
		if err := c.src.rearm(i); err != nil {
			return k, fmt.Errorf("re-arm source %d: %w", i, err)
		}
		// Pairs with the producer's Load: the firing is taken, the source
		// may fire again.
		c.src.busy[i].v.Store(0)
	}
	if c.work != nil && k > 0 {
		c.work.Do() // the last event's
	}
	return k, nil
}

// openLoop is a row's open-loop machinery: the producer's thread, the
// collector, and buffers sized once for the row's largest repetition.
type openLoop struct {
	n       notify.Notifier
	c       *timedCollector
	orders  chan *openOrder
	reports chan repReport
	order   openOrder
	offs    []int64
}

// maxScheduled bounds a schedule (and its stamps, 16 bytes a firing).
const maxScheduled = 1 << 24

func newOpenLoop(n notify.Notifier, src *sourceSet, cfg Config, batch int, maxRate float64, maxWindow time.Duration, stop *atomic.Bool) (*openLoop, error) {
	expect := maxRate * maxWindow.Seconds()
	if expect > maxScheduled || math.IsNaN(expect) {
		return nil, fmt.Errorf("%.0f events/s for %v is %.0f firings a repetition, more than %d", maxRate, maxWindow, expect, maxScheduled)
	}
	// Poisson counts stray: ten standard deviations of room.
	size := int(expect+10*math.Sqrt(expect)) + 64
	ol := &openLoop{
		n:       n,
		orders:  make(chan *openOrder),
		reports: make(chan repReport, 1), // buffered: the producer reports, then wakes a sleeping consumer
		offs:    make([]int64, size),
		c: &timedCollector{
			n: n, src: src, wait: cfg.Wait,
			events:    make([]notify.Event, batch),
			stamps:    make([]stamp, size),
			corr:      newHist(),
			raw:       newHist(),
			late:      newHist(),
			levelBase: math.MaxUint64,
		},
	}
	ol.c.led.reset(uint64(size))
	p := &openProducer{src: src, stop: stop}
	go p.loop(cfg.ProducerCPU, n, ol.orders, ol.reports)
	return ol, nil
}

func (ol *openLoop) close() { close(ol.orders) }

// makeSchedule fills buf with intended fire times (ns offsets, ascending)
// below window: every 1/rate, or Poisson arrivals at rate.
func makeSchedule(buf []int64, rate float64, window time.Duration, poisson bool, rng *rand.Rand) []int64 {
	offs := buf[:0]
	gap := 1e9 / rate
	t := 0.0
	for k := 0; len(offs) < cap(buf); k++ {
		if poisson {
			t += rng.ExpFloat64() * gap
		} else {
			t = float64(k) * gap
		}
		if t >= float64(window) {
			break
		}
		offs = append(offs, int64(t))
	}
	return offs
}

// openResult is one open-loop repetition's accounting and costs.
type openResult struct {
	generated, scheduled, collected, lost, dup uint64
	producer, consumer                         rusage.Usage
	helper                                     *rusage.Usage
	sys                                        notify.SyscallCounts
	levels, edges, waits, reads                uint64
}

func (r *openResult) addTo(s *results.Sample, sys *notify.SyscallCounts) {
	s.Absorb(results.Sample{Generated: r.generated, Collected: r.collected, Lost: r.lost, Dup: r.dup,
		Producer: r.producer, Consumer: r.consumer, Helper: r.helper})
	for k, v := range r.sys {
		sys[k] += v
	}
}

// point runs one repetition at p.rate for window. The histograms keep its
// latencies until the next call.
func (ol *openLoop) point(p loadPoint, poisson bool, window time.Duration, rng *rand.Rand) (openResult, error) {
	c := ol.c
	o := &ol.order
	o.offs = makeSchedule(ol.offs, p.rate, window, poisson, rng)
	o.window = int64(window)
	o.stamps = c.stamps
	c.led.reset(uint64(len(o.offs)))
	c.corr.Reset()
	c.raw.Reset()
	c.late.Reset()
	c.levels, c.edges, c.waits, c.src.reads = 0, 0, 0, 0
	hook, _ := ol.n.(notify.HelperThread)
	hasHook := notify.HasHelper(ol.n)
	var hook0 rusage.Usage
	if hasHook {
		hook0 = hook.HelperUsage()
	}
	sys0 := ol.n.Syscalls()
	cons0, err := rusage.Thread()
	if err != nil {
		return openResult{}, err
	}
	// The order's schedule is written before this send, and the producer
	// writes nothing the consumer reads until the report comes back.
	ol.orders <- o

	drv := repDriver{lastProgress: clock.Now(), policy: waitPolicy{wait: c.wait}}
	var seen uint64
	for {
		if err := drv.poll(ol.reports); err != nil {
			return openResult{}, err
		}
		if drv.done(c.led.distinct) {
			break
		}
		k, err := c.collect(drv.timeout(c.wait))
		if err != nil {
			return openResult{}, err
		}
		// Progress is a new firing collected; a Wait that returned only
		// level sources' reports (levelstorm) is not.
		if c.led.distinct != seen {
			seen = c.led.distinct
			drv.progress()
			continue
		}
		if k == 0 || drv.report != nil {
			if drv.idle() {
				break
			}
		}
	}
	report := *drv.report
	cons1, _ := rusage.Thread()
	lost, dup := c.led.settle(report.generated)
	r := openResult{
		generated: report.generated,
		scheduled: uint64(len(o.offs)),
		collected: c.led.distinct,
		lost:      lost,
		dup:       dup,
		producer:  report.usage,
		consumer:  cons1.Sub(cons0),
		sys:       ol.n.Syscalls().Sub(sys0),
		levels:    c.levels,
		edges:     c.edges,
		waits:     c.waits,
		reads:     c.src.reads,
	}
	if hasHook {
		h := hook.HelperUsage().Sub(hook0)
		r.helper = &h
	}
	return r, nil
}
