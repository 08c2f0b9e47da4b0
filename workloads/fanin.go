package workloads

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/internal/rusage"
	"kbench/internal/work"
	"kbench/notify"
	"kbench/results"
)

// Fanin: S sources fired by a producer on one CPU, collected on another.
var Fanin = Workload{
	Name:  "fanin",
	Order: 10,
	Desc:  "S sources fired by a producer on CPU A, collected on CPU B: events/s, events per Wait, syscalls and CPU per event",
	Params: []Param{
		{Name: "sources", Default: 64, Quick: 16, Min: 1, Max: 65536, Help: "registered sources, each with at most one firing outstanding"},
		{Name: "batch", Default: 256, Quick: 64, Min: 1, Max: 65536, Help: "events slice length passed to Wait"},
		workParams[0], workParams[1],
	},
}

func init() {
	Fanin.Run = runFanin
	register(&Fanin)
}

var faninUnits = []results.Unit{
	{Name: "events/s", Better: "higher"},
	{Name: "events/wait", Better: "higher"},
	{Name: "syscalls/event", Better: "lower"},
	{Name: "io-syscalls/event", Better: "lower"},
	{Name: "consumer-cpu-ns/event", Better: "lower"},
	{Name: "producer-cpu-ns/event", Better: "lower"},
	{Name: "helper-cpu-ns/event", Better: "lower"},
	{Name: "total-cpu-ns/event", Better: "lower"},
	{Name: "spurious/event", Better: "lower"},
	{Name: "work-ns/event", Better: "lower"},
	{Name: "collector-overhead-ns/event", Better: "lower"},
	{Name: "overhead-share", Better: "lower"},
}

// repMeter brackets one repetition on the collecting side: the backend's
// system-call counters, the collector thread's CPU and, when the backend
// has one, its helper thread's.
type repMeter struct {
	n            notify.Notifier
	hasHook      bool
	sys0         notify.SyscallCounts
	cons0, hook0 rusage.Usage
}

// startMeter takes the readings before a repetition, on the collector's
// (locked) thread.
func startMeter(n notify.Notifier, hasHook bool) (repMeter, error) {
	m := repMeter{n: n, hasHook: hasHook}
	if hasHook {
		m.hook0 = n.(notify.HelperThread).HelperUsage()
	}
	m.sys0 = n.Syscalls()
	var err error
	m.cons0, err = rusage.Thread()
	return m, err
}

// sample settles the ledger against the producer's count and returns the
// repetition's accounting and usage (Values empty, for the workload to
// fill), with the backend's system calls by kind.
func (m *repMeter) sample(led *ledger, generated uint64, producer rusage.Usage) (results.Sample, notify.SyscallCounts) {
	cons1, _ := rusage.Thread()
	sys := m.n.Syscalls().Sub(m.sys0)
	lost, dup := led.settle(generated)
	s := results.Sample{
		Generated: generated,
		Collected: led.distinct,
		Lost:      lost,
		Dup:       dup,
		Producer:  producer,
		Consumer:  cons1.Sub(m.cons0),
		Syscalls:  sys.Map(),
		Values:    map[string]float64{},
	}
	if m.hasHook {
		h := m.n.(notify.HelperThread).HelperUsage().Sub(m.hook0)
		s.Helper = &h
	}
	return s, sys
}

// repOrder is what the consumer tells the producer for one repetition.
type repOrder struct {
	duration time.Duration
}

// repReport is what the producer answers.
type repReport struct {
	generated uint64
	usage     rusage.Usage
	err       error
}

func runFanin(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	S := cfg.param(Fanin, "sources")
	batch := cfg.param(Fanin, "batch")
	res := results.Result{Workload: "fanin", Backend: v.Backend, Variant: v.Name, Units: faninUnits}
	res.Params = cfg.baseParams(v)
	res.Params["sources"] = strconv.Itoa(S)
	res.Params["batch"] = strconv.Itoa(batch)

	out := make(chan results.Result, 1)
	go func() {
		out <- faninConsumer(ctx, v, cfg, S, batch, res)
	}()
	return <-out
}

// faninConsumer runs on the consumer's pinned thread: it opens the backend
// there (io_uring's SINGLE_ISSUER binds the ring to its creator), starts the
// producer, and runs the repetitions.
func faninConsumer(ctx context.Context, v notify.Variant, cfg Config, S, batch int, res results.Result) results.Result {
	n, src, release, failed := openPinned(res, v, cfg, S)
	if failed != nil {
		return *failed
	}
	defer release()

	orders := make(chan repOrder)
	reports := make(chan repReport, 1) // buffered: the producer reports, then wakes a sleeping consumer
	var stop atomic.Bool               // ends the producer's current repetition early (Ctrl-C)
	go faninProducer(cfg.ProducerCPU, src, n, orders, reports, &stop)
	defer close(orders)

	c := &faninCollector{n: n, src: src, wait: cfg.Wait, events: make([]notify.Event, batch)}
	var workNs float64
	var err error
	if c.work, workNs, err = collectorWork(cfg, Fanin, &res); err != nil {
		return fail(res, err)
	}
	hasHook := notify.HasHelper(n)
	// Quiet housekeeping (cpu.Quiet) only where the consumer's CPU is sure
	// to fall idle often, which is when SCHED_IDLE threads run: the
	// collector sleeps in its Wait and no helper thread shares the CPU (an
	// SQPOLL thread polls there without a break).
	res.Params["housekeeping"] = "normal"
	if cfg.Wait == WaitBlock && !hasHook {
		end, on := cpu.Quiet()
		defer end()
		if on {
			res.Params["housekeeping"] = "idle"
		}
	}
	loop := repLoop{stop: &stop, failWarmup: true}
	if !loop.run(ctx, cfg, &res, func(rep int, d time.Duration) (results.Sample, bool, error) {
		s, err := c.rep(d, orders, reports, hasHook)
		if rep >= 0 {
			addWork(&s, workNs)
		}
		return s, s.Lost == 0 && s.Dup == 0, err
	}) {
		return res
	}
	return finish(res)
}

// faninProducer fires every source whose previous firing has been
// collected, over and over, for each order's duration.
func faninProducer(cpuID int, src *sourceSet, n notify.Notifier, orders <-chan repOrder, reports chan<- repReport, stop *atomic.Bool) {
	S := len(src.busy)
	producerLoop(cpuID, n, orders, reports, stop, func(seq *uint64) (bool, error) {
		fired := false
		for i := 0; i < S; i++ {
			// Pairs with the consumer's Store(0) after it has taken the
			// firing: a source has at most one firing outstanding.
			if src.busy[i].v.Load() != 0 {
				continue
			}
			src.busy[i].v.Store(1)
			*seq++
			if err := src.fire(i, *seq); err != nil {
				return fired, fmt.Errorf("fire source %d: %w", i, err)
			}
			fired = true
		}
		return fired, nil
	})
}

// pinProducer pins the calling producer thread to cpuID. If the kernel
// refuses, every order is answered with the refusal (failed makes the
// report) and ok is false: the caller returns.
func pinProducer[O, R any](cpuID int, name string, orders <-chan O, reports chan<- R, failed func(error) R) (unpin func(), ok bool) {
	unpin, err := cpu.Pin(cpuID)
	if err != nil {
		err = fmt.Errorf("pin %s: %w", name, err)
		for range orders {
			reports <- failed(err)
		}
		return nil, false
	}
	return unpin, true
}

// producerLoop is the pinned producer thread of the workloads that fire
// sources in passes (fanin, latency's capacity probe, scale, churn). For
// each order it runs passes until the order's duration is over; pass fires
// what it may, numbering firings through seq, and says whether it fired
// anything. It then reports the firings and its thread's CPU, and wakes the
// collector, which may be asleep with everything collected.
func producerLoop(cpuID int, n notify.Notifier, orders <-chan repOrder, reports chan<- repReport, stop *atomic.Bool,
	pass func(seq *uint64) (fired bool, err error)) {
	unpin, ok := pinProducer(cpuID, "producer", orders, reports, func(err error) repReport { return repReport{err: err} })
	if !ok {
		return
	}
	defer unpin()
	for o := range orders {
		before, _ := rusage.Thread()
		var seq uint64
		var ferr error
		deadline := clock.Now() + int64(o.duration)
		for {
			fired, err := pass(&seq)
			if err != nil {
				ferr = err
				break
			}
			if clock.Now() >= deadline || stop.Load() {
				break
			}
			if !fired {
				// Every source is outstanding: let a consumer sharing this
				// CPU run (placement=same), instead of spinning it out.
				yield()
			}
		}
		after, _ := rusage.Thread()
		reports <- repReport{generated: seq, usage: after.Sub(before), err: ferr}
		// The consumer may be asleep with everything collected: wake it so
		// it reads the report.
		n.Wake()
	}
}

type faninCollector struct {
	n      notify.Notifier
	src    *sourceSet
	wait   string
	events []notify.Event
	led    ledger
	work   *work.Loop // the application's work per event; nil: none
}

// rep runs one repetition: it orders the producer to fire for d and
// collects until every firing the producer reports is accounted for, or
// until nothing has arrived for a grace period (the rest is lost).
func (c *faninCollector) rep(d time.Duration, orders chan<- repOrder, reports <-chan repReport, hasHook bool) (results.Sample, error) {
	c.led.reset(uint64(d.Seconds()*20e6) + 1024)
	c.src.reads = 0
	meter, err := startMeter(c.n, hasHook)
	if err != nil {
		return results.Sample{}, err
	}
	start := clock.Now()
	orders <- repOrder{duration: d}

	var waits, notes uint64
	lastEvent := start
	drv := repDriver{lastProgress: start}
	for {
		if err := drv.poll(reports); err != nil {
			return results.Sample{}, err
		}
		if drv.done(c.led.distinct) {
			break
		}
		k, err := c.collect(drv.timeout(c.wait))
		waits++
		if err != nil {
			return results.Sample{}, err
		}
		if k == 0 {
			if drv.idle() {
				break
			}
			continue
		}
		notes += uint64(k)
		drv.progress()
		lastEvent = drv.lastProgress
	}
	s, sys := meter.sample(&c.led, drv.report.generated, drv.report.usage)
	ev := float64(max(c.led.distinct, 1))
	elapsed := time.Duration(lastEvent - start)
	s.Values["events/s"] = float64(c.led.distinct) / elapsed.Seconds()
	s.Values["events/wait"] = float64(notes) / float64(max(waits, 1))
	s.Values["syscalls/event"] = float64(sys.Collector()) / ev
	s.Values["io-syscalls/event"] = float64(c.src.reads) / ev
	s.Values["consumer-cpu-ns/event"] = float64(s.Consumer.CPUNs()) / ev
	s.Values["producer-cpu-ns/event"] = float64(s.Producer.CPUNs()) / ev
	total := s.Consumer.CPUNs() + s.Producer.CPUNs()
	if h := s.Helper; h != nil {
		s.Values["helper-cpu-ns/event"] = float64(h.CPUNs()) / ev
		total += h.CPUNs()
	}
	s.Values["total-cpu-ns/event"] = float64(total) / ev
	s.Values["spurious/event"] = float64(c.led.spurious) / ev
	return s, nil
}

// collect is the hot loop's body: one Wait, then each event's firing taken,
// its source re-armed if oneshot and handed back to the producer. It
// allocates nothing.
func (c *faninCollector) collect(timeout time.Duration) (int, error) {
	k, err := c.n.Wait(c.events, 1, timeout)
	if err != nil {
		return 0, fmt.Errorf("Wait: %w", err)
	}
	for _, e := range c.events[:k] {
		i := int(e.Token)
		if e.Token >= uint64(len(c.src.busy)) {
			c.led.dup++ // a token nobody registered
			continue
		}
		c.led.mark(c.src.take(i))
		if err := c.src.rearm(i); err != nil {
			return k, fmt.Errorf("re-arm source %d: %w", i, err)
		}
		// Pairs with the producer's Load: the firing is taken, the
		// source may fire again.
		c.src.busy[i].v.Store(0)
		if c.work != nil {
			c.work.Do()
		}
	}
	return k, nil
}

// repDriver is what every collection loop asks between Waits: has the
// producer reported, is everything it fired collected, how long may the next
// Wait block, and has collection gone quiet for long enough that the rest is
// lost.
type repDriver struct {
	report       *repReport
	policy       waitPolicy
	lastProgress int64
}

// repGrace is how long a finishing loop waits for firings that do not come.
const repGrace = time.Second

// poll takes the producer's report if it has arrived.
func (d *repDriver) poll(reports <-chan repReport) error {
	if d.report != nil {
		return nil
	}
	select {
	case r := <-reports:
		d.report = &r
		return r.err
	default:
		return nil
	}
}

// done: the producer has reported and every firing it made is collected.
func (d *repDriver) done(collected uint64) bool {
	return d.report != nil && collected >= d.report.generated
}

// timeout for the next Wait under the wait strategy.
func (d *repDriver) timeout(wait string) time.Duration {
	if d.report != nil {
		return 20 * time.Millisecond // finishing: a lost event must not hang us
	}
	d.policy.wait = wait
	return d.policy.timeout()
}

// idle records a Wait that collected nothing and reports whether to give up.
func (d *repDriver) idle() bool {
	d.policy.observe(0)
	return d.report != nil && time.Duration(clock.Now()-d.lastProgress) > repGrace
}

// progress records a Wait that collected something.
func (d *repDriver) progress() {
	d.policy.observe(1)
	d.lastProgress = clock.Now()
}
