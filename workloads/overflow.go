package workloads

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/internal/rusage"
	"kbench/notify"
	"kbench/results"
)

// Overflow: a backlog far larger than the completion ring. io_uring then
// parks CQEs on its overflow list (and ends multishot polls), a kevent ring
// fills and parks kevents on the ready list; epoll's ready list has no
// bound, and an AIO context reserves a ring slot per request, so there the
// burst is only a long batch. Whatever the mechanism, every firing must come
// out exactly once.
var Overflow = Workload{
	Name:  "overflow",
	Order: 70,
	Desc: "bursts far larger than the rings, fired while the collector stalls, then drained: drain events/s, first firing to last collection, zero loss; " +
		"rings sized to ring_entries; a repetition is `bursts` bursts or duration/2",
	Params: []Param{
		{Name: "burst", Default: 4096, Quick: 1024, Min: 1, Max: 1 << 20, Help: "sources fired once each per burst (fd sources are capped by RLIMIT_NOFILE)"},
		{Name: "bursts", Default: 4, Quick: 2, Min: 1, Max: 10_000, Help: "bursts per repetition"},
		{Name: "ring_entries", Default: 256, Quick: 256, Min: 2, Max: 65536, Help: "ring size asked of every backend (notify.Options.RingEntries), which sets its own ring parameters from it unless --set gives them; the row lists them in ring_params"},
	},
}

func init() {
	Overflow.Run = runOverflow
	register(&Overflow)
}

var overflowUnits = []results.Unit{
	{Name: "events/s", Better: "higher"},      // collected per second of draining
	{Name: "burst-ms", Better: "lower"},       // first firing to last collection, per burst
	{Name: "fire-ns/event", Better: "lower"},  // the producer's wall time per firing
	{Name: "events/wait", Better: "higher"},   // events per Wait call while draining
	{Name: "syscalls/event", Better: "lower"}, // collector system calls per event
	{Name: "consumer-cpu-ns/event", Better: "lower"},
}

// overflowBatch is the events slice passed to Wait.
const overflowBatch = 256

func runOverflow(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	B, bursts, ring := cfg.param(Overflow, "burst"), cfg.param(Overflow, "bursts"), cfg.param(Overflow, "ring_entries")
	res := results.Result{Workload: "overflow", Backend: v.Backend, Variant: v.Name, Units: overflowUnits}
	res.Params = cfg.baseParams(v)
	res.Params["burst"] = strconv.Itoa(B)
	res.Params["bursts"] = strconv.Itoa(bursts)
	res.Params["ring_entries"] = strconv.Itoa(ring)
	res.Params["batch"] = strconv.Itoa(overflowBatch)
	if B < 1 || bursts < 1 || ring < 1 {
		return fail(res, fmt.Errorf("burst %d, bursts %d and ring_entries %d must all be at least 1", B, bursts, ring))
	}
	out := make(chan results.Result, 1)
	go func() { out <- overflowConsumer(ctx, v, cfg, B, bursts, ring, res) }()
	return <-out
}

// overflowOptions asks the variant's backend for a ring of ring entries
// (notify.Options.RingEntries), which it maps to its own parameters unless
// the command line set them. Params carries only the command line's
// values, so that the backend can tell them from its defaults.
func overflowOptions(v notify.Variant, cfg Config, maxSources, ring int) notify.Options {
	o := cfg.options(v, maxSources)
	for k := range o.Params {
		if _, user := cfg.Params[k]; !user {
			delete(o.Params, k)
		}
	}
	o.RingEntries = ring
	return o
}

// recordRing records in params the values the backend derived from
// RingEntries (written back into o.Params by its Open: whatever is there
// that the command line did not set), and lists their names in
// ring_params ("none": the backend has no ring to size).
func recordRing(cfg Config, o notify.Options, params map[string]string) {
	var changed []string
	for k, val := range o.Params {
		if _, user := cfg.Params[k]; user {
			continue
		}
		params[k] = strconv.Itoa(val)
		changed = append(changed, k)
	}
	sort.Strings(changed)
	params["ring_params"] = strings.Join(changed, "+")
	if len(changed) == 0 {
		params["ring_params"] = "none"
	}
}

func overflowConsumer(ctx context.Context, v notify.Variant, cfg Config, B, bursts, ring int, res results.Result) results.Result {
	unpin, err := cpu.Pin(cfg.ConsumerCPU)
	if err != nil {
		return skip(res, fmt.Errorf("pin consumer: %w", err))
	}
	defer unpin()
	var fds []int
	if v.Sources == notify.SourceFD {
		lease, err := efdPool.get(B)
		if err != nil {
			return fail(res, err)
		}
		if len(lease.fds) < B {
			res.Reason = fmt.Sprintf("burst %d capped to %d: %s", B, len(lease.fds), lease.note)
			B = len(lease.fds)
			res.Params["burst_used"] = strconv.Itoa(B)
			if B == 0 {
				efdPool.put(lease, nil)
				return skip(res, fmt.Errorf("%s", res.Reason))
			}
		}
		fds = lease.fds[:B]
		// Fired fds are drained by collection; after a loss or an
		// interruption some may not be, and the pool must get them back
		// at zero.
		defer func() { efdPool.put(lease, fds) }()
	}
	o := overflowOptions(v, cfg, B, ring)
	n, err := openForSources(v, o)
	if na, ok := err.(naReason); ok {
		res = notApplicable(res, string(na))
		return res
	}
	if err != nil {
		return skipOrFail(res, err)
	}
	defer n.Close()
	noteEmulated(res.Params, n)
	recordRing(cfg, o, res.Params)
	src := &sourceSet{n: n, kind: v.Sources, trig: v.Trigger, fds: fds}
	if v.Sources == notify.SourceUser {
		src.us = n.(notify.UserSources)
		src.slots = make([]paddedU64, B)
		src.ids = make([]int, B)
	}
	for i := 0; i < B; i++ {
		if src.us != nil {
			src.ids[i], err = src.us.AddUser(uint64(i), v.Trigger)
		} else {
			err = n.Add(fds[i], uint64(i), notify.Readable, v.Trigger)
		}
		if err != nil {
			if na, ok := naOr(err).(naReason); ok {
				res = notApplicable(res, string(na))
				return res
			}
			return fail(res, fmt.Errorf("add source %d: %w", i, err))
		}
	}
	// No Remove at the end: Close drops every registration, and the pool's
	// fds stay open for the next row.

	orders := make(chan uint64)
	reports := make(chan burstReport)
	go overflowProducer(cfg.ProducerCPU, src, B, orders, reports)
	defer close(orders)

	c := &overflowCollector{n: n, src: src, B: B, events: make([]notify.Event, overflowBatch), timeout: 50 * time.Millisecond}
	if cfg.Wait == WaitSpin {
		c.timeout = 0
	}
	hasHook := notify.HasHelper(n)
	loop := repLoop{half: true, keepReason: true}
	if !loop.run(ctx, cfg, &res, func(_ int, d time.Duration) (results.Sample, bool, error) {
		s, err := c.rep(ctx, d, bursts, orders, reports, hasHook)
		return s, s.Lost == 0 && s.Dup == 0, err
	}) {
		return res
	}
	if _, _, lost, dup := res.Totals(); lost == 0 && dup == 0 {
		fds = nil // every firing was collected: nothing to drain
	}
	return finish(res)
}

// burstReport is the producer's account of one burst.
type burstReport struct {
	first, last int64  // clock.Now before the first firing and after the last
	generated   uint64 // the last firing's number
	usage       rusage.Usage
	err         error
}

// overflowProducer fires every source once per order, as fast as it can.
// The order is the number before the burst's first firing. Nobody collects
// meanwhile, so no source can have two firings outstanding.
func overflowProducer(cpuID int, src *sourceSet, B int, orders <-chan uint64, reports chan<- burstReport) {
	unpin, ok := pinProducer(cpuID, "producer", orders, reports, func(err error) burstReport { return burstReport{err: err} })
	if !ok {
		return
	}
	defer unpin()
	for seq := range orders {
		before, _ := rusage.Thread()
		r := burstReport{first: clock.Now()}
		for i := 0; i < B; i++ {
			seq++
			if err := src.fire(i, seq); err != nil {
				r.err = fmt.Errorf("fire source %d: %w", i, err)
				break
			}
		}
		r.last = clock.Now()
		r.generated = seq
		after, _ := rusage.Thread()
		r.usage = after.Sub(before)
		reports <- r
	}
}

type overflowCollector struct {
	n       notify.Notifier
	src     *sourceSet
	B       int
	events  []notify.Event
	timeout time.Duration
	led     ledger
	waits   uint64
	notes   uint64
}

// rep runs bursts until `bursts` are done or d has passed (at least one):
// each time the collector stalls on the producer's report, so the whole
// burst is pending before the first Wait, then drains it.
func (c *overflowCollector) rep(ctx context.Context, d time.Duration, bursts int, orders chan<- uint64, reports <-chan burstReport, hasHook bool) (results.Sample, error) {
	c.led.reset(uint64(bursts*c.B) + 64)
	c.waits, c.notes = 0, 0
	meter, err := startMeter(c.n, hasHook)
	if err != nil {
		return results.Sample{}, err
	}
	deadline := clock.Now() + int64(d)
	var (
		seq                      uint64
		drainNs, burstNs, fireNs int64
		prod                     rusage.Usage
		done                     int
	)
	for done < bursts {
		orders <- seq
		r := <-reports // the stall: nothing is collected while the burst is fired
		if r.err != nil {
			return results.Sample{}, r.err
		}
		seq = r.generated
		prod = prod.Add(r.usage)
		t0 := clock.Now()
		last, err := c.drain(seq)
		if err != nil {
			return results.Sample{}, err
		}
		drainNs += last - t0
		burstNs += last - r.first
		fireNs += r.last - r.first
		done++
		if c.led.distinct < seq || clock.Now() >= deadline || ctx.Err() != nil {
			break // a loss would only repeat; time or the user says stop
		}
	}
	s, sys := meter.sample(&c.led, seq, prod)
	ev := float64(max(c.led.distinct, 1))
	s.Values["events/s"] = float64(c.led.distinct) / time.Duration(max(drainNs, 1)).Seconds()
	s.Values["burst-ms"] = float64(burstNs) / float64(done) / 1e6
	s.Values["fire-ns/event"] = float64(fireNs) / float64(max(seq, 1))
	s.Values["events/wait"] = float64(c.notes) / float64(max(c.waits, 1))
	s.Values["syscalls/event"] = float64(sys.Collector()) / ev
	s.Values["consumer-cpu-ns/event"] = float64(s.Consumer.CPUNs()) / ev
	s.Values["spurious/event"] = float64(c.led.spurious) / ev
	return s, nil
}

// drain collects until firing number target is accounted for, or until
// nothing has arrived for a grace period (the rest is lost). It returns
// when the last event was collected.
func (c *overflowCollector) drain(target uint64) (int64, error) {
	const grace = time.Second
	last := clock.Now()
	for c.led.distinct < target {
		before := c.led.distinct
		if err := c.collect(); err != nil {
			return last, err
		}
		if c.led.distinct != before {
			last = clock.Now()
			continue
		}
		if time.Duration(clock.Now()-last) > grace {
			break
		}
	}
	return last, nil
}

// collect is the hot loop's body: one Wait, each event's firing taken and
// its source re-armed if oneshot. It allocates nothing.
func (c *overflowCollector) collect() error {
	k, err := c.n.Wait(c.events, 1, c.timeout)
	if err != nil {
		return fmt.Errorf("Wait: %w", err)
	}
	c.waits++
	c.notes += uint64(k)
	for _, e := range c.events[:k] {
		if e.Token >= uint64(c.B) {
			c.led.dup++ // a token nobody registered
			continue
		}
		i := int(e.Token)
		c.led.mark(c.src.take(i))
		if err := c.src.rearm(i); err != nil {
			return fmt.Errorf("re-arm source %d: %w", i, err)
		}
	}
	return nil
}
