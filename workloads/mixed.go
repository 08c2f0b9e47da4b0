package workloads

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/rusage"
	"kbench/internal/work"
	"kbench/notify"
	"kbench/results"
)

// Mixed: the question kevent was proposed for — one place to wait for
// descriptors, timers, signals and wake-ups from other threads — asked of
// every backend that takes source kinds (notify.KindSources). One
// collector thread, locked and pinned to the consumer CPU, waits through
// one Wait on
//
//   - fd: S descriptors (the variant's sources: eventfds, or its user
//     sources on a user-source variant) fired closed-loop by the producer,
//     each with at most one firing outstanding, as in fan-in: the load the
//     other kinds compete with;
//   - timer: T periodic CLOCK_MONOTONIC timers, periods log-spaced from
//     50 µs to 10 ms by default (mixedPeriods, timer_min_us/timer_max_us),
//     armed with absolute first expiries;
//   - signal: one real-time signal (`signal`, mixedSignal by default)
//     blocked on the collector
//     thread and raised at it (tgkill) by the producer at signal_rate;
//   - user: one user event posted (KindSources.Post) by the producer at
//     user_rate, the k-th post adding the value 1+k%3.
//
// Latency of each delivery is measured from its intended time, at the
// Wait's return: fd, the firing's time; timer, the programmed expiry of
// the latest expiration it reports (timer k of period p expires at
// start+k·p, so a delivery bringing the count to n is lateness from
// start+n·p); signal and user, the scheduled time of the latest raise or
// post it covers (open loop: a producer behind its schedule does not move
// it, so its delay is in the figure, as latency's coordinated-omission
// correction has it).
//
// Starvation, per kind: the longest time one of the kind's deliveries had
// been due while the collector was serving other kinds without it. For
// each delivery, due is when its oldest unit became pending (the firing's
// time; the programmed expiry of the first expiration it reports; the
// actual time of the first raise or post it covers); if a Wait returned
// events of other kinds and none of this kind after due, the delivery's
// starvation is the last such return's time less due (else 0); the kind's
// figure is the largest over the repetition ("<kind>-starve-ns"). A
// backend that serves kinds in order of readiness keeps it near the time
// of one Wait's batch; one that drains one kind's queue before another's
// shows it.
//
// Exactly-once, per kind, failing the row on any loss or duplicate: fd
// firings are numbered and each collected once (ledger); signals
// collected equal signals raised (real-time signals queue, one per raise);
// the sum of the user event's Data equals the sum of the values posted. A
// timer keeps expiring after the repetition's end, so its count is checked
// against time: the sum of its Data never exceeds the expirations
// programmed by the Wait's return (more is a duplicate), and the final
// drain goes on until, at some moment t after the end, the sum equals
// every expiration programmed by t (the timer is caught up: nothing it
// owes is missing). A timer that is never caught up within the grace
// period has lost what it owes at its last delivery (at least one).
// Expirations pending in the backend make a timer look behind only for a
// moment, a lost one for good, so a backend that delivers late but
// completely is not mistaken for a lossy one. A sample's Generated/Collected/Lost/Dup add the kinds' counts
// (firings, expirations, signals, and posted value for user events).
//
// CPU and system calls are the collector's per delivered event, all kinds
// together: one Wait serves them all, so no kind's share can be told apart
// — except the backend's reads of the descriptors it owns for the other
// kinds (notify.CallDrain), reported per delivery of those kinds.
//
// A backend without KindSources, or without a kind the row needs
// (Caps.Kinds, or an error wrapping errors.ErrUnsupported when it is
// added), is not applicable; a kernel refusal (notify.ErrUnavailable)
// skips the row with its reason. timers=0, signal_rate=0 or user_rate=0
// leaves that kind out. Repetitions (and the warm-up) last a third of
// --duration (--warmup), so that the row, run for every variant, costs a
// few seconds in the default suite.
var Mixed = Workload{
	Name:  "mixed",
	Order: 75,
	Desc: "descriptors, periodic timers (50 µs–10 ms), a real-time signal and user events through one Wait: per-kind rate, " +
		"latency from the intended time (timers: lateness), starvation, exactly-once per kind; repetitions of duration/3",
	Params: []Param{
		{Name: "sources", Default: 16, Quick: 8, Min: 1, Max: 65536, Help: "S: descriptors fired closed-loop by the producer, each with at most one firing outstanding"},
		{Name: "timers", Default: 8, Quick: 4, Min: 0, Max: 64, Help: "T: periodic timers, periods log-spaced from timer_min_us to timer_max_us (one timer: their geometric mean); 0: none"},
		{Name: "timer_min_us", Default: 50, Quick: 50, Min: 1, Max: mixedMaxPeriodUs, Help: "the shortest timer period, µs (at most a day)"},
		{Name: "timer_max_us", Default: 10_000, Quick: 10_000, Min: 1, Max: mixedMaxPeriodUs, Help: "the longest timer period, µs (at most a day; the two bounds may come in either order)"},
		{Name: "signal", Default: mixedSignal, Quick: mixedSignal, Min: 1, Max: notify.SigRTMax, Valid: mixedSignalOK, Help: "the real-time signal raised at the collector thread (34..64)"},
		{Name: "signal_rate", Default: 2000, Quick: 2000, Min: 0, Max: 100_000, Help: "real-time signals/s the producer raises at the collector thread (tgkill); 0: none"},
		{Name: "user_rate", Default: 10000, Quick: 10000, Min: 0, Max: 1_000_000, Help: "user-event posts/s (the k-th adds 1+k%3; the sum is checked); 0: none"},
		{Name: "batch", Default: 64, Quick: 16, Min: 1, Max: 65536, Help: "events slice length passed to Wait"},
		workParams[0], workParams[1],
	},
}

func init() {
	Mixed.Run = runMixed
	register(&Mixed)
}

// mixedKinds are the kinds a row measures, in the order of its metrics.
var mixedKinds = []notify.Kind{notify.KindFD, notify.KindTimer, notify.KindSignal, notify.KindUser}

// mixedSignal is the default signal raised at the collector: a real-time
// one, so that every raise is queued and counted.
const mixedSignal = notify.SigRTMin + 6

// mixedSignalOK refuses a signal the row cannot watch (notify.CheckSignal:
// SIGKILL, SIGSTOP, the Go runtime's own) and a standard signal, which the
// kernel coalesces while it is pending, so that raises could not be
// counted one by one.
func mixedSignalOK(sig int) error {
	if err := notify.CheckSignal(sig); err != nil {
		return err
	}
	if sig < notify.SigRTMin {
		return fmt.Errorf("signal %d is a standard signal, which the kernel coalesces while pending; mixed counts every raise: use a real-time signal %d..%d", sig, notify.SigRTMin, notify.SigRTMax)
	}
	return nil
}

// mixedMaxPeriodUs: a timer period of at most a day (notify.MaxTimerSpan).
const mixedMaxPeriodUs = int(notify.MaxTimerSpan / time.Microsecond)

// mixedLead is how far ahead of the order a repetition starts: time to arm
// the timers and wake the producer, so that the first expirations are not
// late for the harness's own sake.
const mixedLead = 500 * time.Microsecond

// Tokens: fd sources are 0..S-1 (sourceSet); the other kinds carry their
// kind above mixedTokShift and an index below.
const mixedTokShift = 40

func mixedToken(k notify.Kind, i int) uint64 { return uint64(k)<<mixedTokShift | uint64(i) }

func mixedUnits() []results.Unit {
	u := []results.Unit{
		{Name: "events/s", Better: "higher"}, // deliveries of every kind per second
		{Name: "events/wait", Better: "higher"},
		{Name: "worst-p99-ns", Better: "lower"},    // the largest of the kinds' p99
		{Name: "worst-starve-ns", Better: "lower"}, // the largest of the kinds' starvation
		{Name: "syscalls/event", Better: "lower"},
		{Name: "io-syscalls/event", Better: "lower"}, // the collector's eventfd reads
		// The backend's reads of the descriptors it owns for the other
		// kinds (timerfd, signalfd, eventfd; notify.CallDrain), per
		// delivery of those kinds: what serving them through descriptors
		// costs (0 where the kernel interface serves a kind itself).
		{Name: "drain-syscalls/event", Better: "lower"},
		{Name: "consumer-cpu-ns/event", Better: "lower"},
		{Name: "producer-cpu-ns/event", Better: "lower"},
		{Name: "helper-cpu-ns/event", Better: "lower"},
		{Name: "total-cpu-ns/event", Better: "lower"},
		{Name: "spurious/event", Better: "lower"},
		{Name: "work-ns/event", Better: "lower"},
		{Name: "collector-overhead-ns/event", Better: "lower"},
		{Name: "overhead-share", Better: "lower"},
	}
	for _, k := range mixedKinds {
		p := k.String() + "-"
		if k == notify.KindFD {
			// The closed loop's throughput.
			u = append(u, results.Unit{Name: p + "events/s", Better: "higher"})
		} else {
			// Deliveries of a kind on its own schedule, and the units
			// (expirations, signals, posts) each carries: how much the
			// backend coalesced, neither better nor worse.
			u = append(u, results.Unit{Name: p + "events/s"}, results.Unit{Name: p + "per-event"})
		}
		u = append(u, percentileUnits(p, "")...)
		u = append(u, results.Unit{Name: p + "starve-ns", Better: "lower"})
	}
	return u
}

// mixedPeriods are T timer periods, log-spaced from the shorter of a and b
// to the longer; a lone timer's is their geometric mean (to the µs).
func mixedPeriods(T int, a, b time.Duration) []time.Duration {
	lo, hi := min(a, b), max(a, b)
	if T == 1 {
		g := math.Sqrt(float64(lo) * float64(hi))
		return []time.Duration{max(time.Microsecond, time.Duration(math.Round(g/1e3))*time.Microsecond)}
	}
	ps := make([]time.Duration, T)
	ratio := float64(hi) / float64(lo)
	for i := range ps {
		ps[i] = time.Duration(math.Round(float64(lo) * math.Pow(ratio, float64(i)/float64(max(T-1, 1)))))
	}
	return ps
}

// mixedSpec is one row's configuration.
type mixedSpec struct {
	S, batch          int
	periods           []time.Duration
	sigRate, userRate int
	sig               int // the signal raised at the collector
	needKinds         notify.Kinds
}

func runMixed(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	sp := mixedSpec{
		S:     cfg.param(Mixed, "sources"),
		batch: cfg.param(Mixed, "batch"),
		periods: mixedPeriods(cfg.param(Mixed, "timers"),
			time.Duration(cfg.param(Mixed, "timer_min_us"))*time.Microsecond,
			time.Duration(cfg.param(Mixed, "timer_max_us"))*time.Microsecond),
		sig:      cfg.param(Mixed, "signal"),
		sigRate:  cfg.param(Mixed, "signal_rate"),
		userRate: cfg.param(Mixed, "user_rate"),
	}
	res := results.Result{Workload: "mixed", Backend: v.Backend, Variant: v.Name, Units: mixedUnits()}
	res.Params = cfg.baseParams(v)
	res.Params["sources"] = strconv.Itoa(sp.S)
	res.Params["timers"] = strconv.Itoa(len(sp.periods))
	res.Params["signal_rate"] = strconv.Itoa(sp.sigRate)
	res.Params["user_rate"] = strconv.Itoa(sp.userRate)
	res.Params["batch"] = strconv.Itoa(sp.batch)
	repD, warmD := mixedLengths(cfg)
	res.Params["duration"] = repD.String()
	res.Params["warmup"] = warmD.String()
	sp.needKinds = notify.KindsOf(notify.KindFD)
	if len(sp.periods) > 0 {
		sp.needKinds |= notify.KindsOf(notify.KindTimer)
		var us []string
		for _, p := range sp.periods {
			us = append(us, strconv.FormatFloat(float64(p)/1e3, 'g', 4, 64))
		}
		res.Params["timer_periods_us"] = strings.Join(us, ":")
	}
	if sp.sigRate > 0 {
		sp.needKinds |= notify.KindsOf(notify.KindSignal)
		res.Params["signal"] = strconv.Itoa(sp.sig)
	}
	if sp.userRate > 0 {
		sp.needKinds |= notify.KindsOf(notify.KindUser)
	}
	res.Params["kinds"] = sp.needKinds.String()
	if sp.S < 1 || sp.batch < 1 || sp.sigRate < 0 || sp.userRate < 0 {
		return fail(res, fmt.Errorf("mixed: sources %d, batch %d, signal_rate %d, user_rate %d: want sources, batch ≥ 1, rates ≥ 0", sp.S, sp.batch, sp.sigRate, sp.userRate))
	}
	out := make(chan results.Result, 1)
	go func() {
		// The collector's thread has a signal blocked in its mask: it is
		// never handed back to the Go scheduler. This lock is never
		// undone, so the thread exits with the goroutine (cpu.Pin's own
		// lock and unlock nest inside it).
		runtime.LockOSThread()
		out <- mixedConsumer(ctx, v, cfg, sp, res)
	}()
	return <-out
}

// mixedLengths are a repetition's and the warm-up's lengths: a third of
// --duration and --warmup, at least a millisecond (a warm-up of 0 stays
// none).
func mixedLengths(cfg Config) (rep, warm time.Duration) {
	rep = max(cfg.Duration/3, time.Millisecond)
	if cfg.Warmup > 0 {
		warm = max(cfg.Warmup/3, time.Millisecond)
	}
	return rep, warm
}

// mixedOff names the setting that leaves a kind out of the row.
var mixedOff = map[notify.Kind]string{notify.KindTimer: "timers=0", notify.KindSignal: "signal_rate=0", notify.KindUser: "user_rate=0"}

// mixedKindErr gives a kind's refusal its row status: the backend cannot
// (n/a, with the setting that measures the other kinds without it), the
// machine will not (skipped), or anything else (failed).
func mixedKindErr(res results.Result, k notify.Kind, err error) results.Result {
	if errors.Is(err, errors.ErrUnsupported) {
		return notApplicable(res, fmt.Sprintf("%v (--set %s measures the others)", err, mixedOff[k]))
	}
	return skipOrFail(res, err)
}

// mixedConsumer runs on the collector's locked thread: it opens the
// backend and registers every source there (a signal is blocked in this
// thread's mask only), starts the producer and runs the repetitions.
func mixedConsumer(ctx context.Context, v notify.Variant, cfg Config, sp mixedSpec, res results.Result) results.Result {
	n, src, release, failed := mixedOpen(res, v, cfg, sp)
	if failed != nil {
		return *failed
	}
	defer release()
	ks, ok := n.(notify.KindSources)
	if !ok {
		return notApplicable(res, "backend takes no source kinds besides descriptors (no notify.KindSources)")
	}
	caps := n.Caps()
	res.Params["native_kinds"] = caps.NativeKinds.String()
	for _, k := range mixedKinds {
		if sp.needKinds.Has(k) && !caps.Kinds.Has(k) {
			return notApplicable(res, fmt.Sprintf("backend takes no %v sources (kinds: %v; --set %s measures the others)", k, caps.Kinds, mixedOff[k]))
		}
	}
	c := &mixedCollector{
		n: n, ks: ks, src: src, sp: sp, wait: cfg.Wait,
		events:  make([]notify.Event, sp.batch),
		fireAt:  make([]paddedI64, sp.S),
		timers:  make([]mixedTimer, len(sp.periods)),
		sigID:   -1,
		userID:  -1,
		tid:     unix.Gettid(),
		sigSch:  newSchedule(sp.sigRate),
		userSch: newSchedule(sp.userRate),
	}
	for i := range c.timers {
		c.timers[i].period = int64(sp.periods[i])
		c.timers[i].id = -1
	}
	for i := range c.kinds {
		c.kinds[i].hist = newHist()
	}
	defer c.removeSources()
	var err error
	if c.off, c.eps, err = monoOffset(); err != nil {
		return fail(res, err)
	}
	if sp.sigRate > 0 {
		if err := notify.BlockSignal(sp.sig); err != nil {
			return fail(res, fmt.Errorf("block signal %d on the collector thread: %w", sp.sig, err))
		}
		if c.sigID, err = ks.AddSignal(sp.sig, mixedToken(notify.KindSignal, 0)); err != nil {
			c.sigID = -1
			return mixedKindErr(res, notify.KindSignal, fmt.Errorf("add signal %d: %w", sp.sig, err))
		}
	}
	if sp.userRate > 0 {
		if c.userID, err = ks.AddEvent(mixedToken(notify.KindUser, 0)); err != nil {
			c.userID = -1
			return mixedKindErr(res, notify.KindUser, fmt.Errorf("add user event: %w", err))
		}
	}
	var workNs float64
	if c.work, workNs, err = collectorWork(cfg, Mixed, &res); err != nil {
		return fail(res, err)
	}

	orders := make(chan mixedOrder)
	reports := make(chan mixedReport, 1) // buffered: the producer reports, then wakes a sleeping collector
	var stop atomic.Bool                 // ends the producer's current repetition early (Ctrl-C)
	c.stop = &stop
	p := &mixedProducer{c: c, stop: &stop}
	go p.run(cfg.ProducerCPU, orders, reports)
	defer close(orders)

	hasHook := notify.HasHelper(n)
	repD, warmD := mixedLengths(cfg)
	for rep := -1; rep < cfg.Reps; rep++ { // rep -1 is the warm-up
		d := repD
		if rep < 0 {
			if warmD <= 0 {
				continue
			}
			d = warmD
		}
		if ctx.Err() != nil {
			res.Reason = "interrupted"
			break
		}
		stopWatch := context.AfterFunc(ctx, func() { stop.Store(true) })
		s, err := c.rep(d, rep < 0, orders, reports, hasHook)
		stopWatch()
		stop.Store(false)
		if err != nil {
			var te timerErr
			if errors.As(err, &te) {
				return mixedKindErr(res, notify.KindTimer, err)
			}
			return fail(res, err)
		}
		if rep < 0 {
			if s.Lost != 0 || s.Dup != 0 {
				res.Samples = append(res.Samples, s)
				r := finish(res)
				r.Reason = "warm-up: " + c.violations()
				return r
			}
			c.clearViolations()
			continue
		}
		s.Rep = rep
		addWork(&s, workNs)
		res.Samples = append(res.Samples, s)
	}
	r := finish(res)
	if why := c.violations(); r.Status == results.StatusFailed && why != "" {
		r.Reason = why // per kind, where finish gives the row's totals
	}
	return r
}

// mixedOpen is openPinned with room for the other kinds' sources in the
// backend's sizing (an AIO context, a ring).
func mixedOpen(res results.Result, v notify.Variant, cfg Config, sp mixedSpec) (n notify.Notifier, src *sourceSet, release func(), failed *results.Result) {
	return openPinnedSized(res, v, cfg, sp.S, sp.S+len(sp.periods)+2)
}

// schedule is an open-loop rate: raise k (k ≥ 1) is due at start + k·iv.
type schedule struct {
	start int64
	iv    float64 // ns between raises; 0: the kind is off
}

func newSchedule(rate int) schedule {
	if rate <= 0 {
		return schedule{}
	}
	return schedule{iv: 1e9 / float64(rate)}
}

func (s schedule) at(k uint64) int64 { return s.start + int64(float64(k)*s.iv) }

// stampSlots is the depth of a stampRing: a power of two.
const stampSlots = 1024

// stampRing holds the actual times of a kind's last stampSlots raises (or
// posts), for the collector's starvation figure. The producer stores raise
// k's time in at[k%stampSlots] before it raises, then n = k once the raise
// returned. The collector loads a slot, then n: if n ≥ k+stampSlots-1 the
// producer may have been overwriting raise k's slot with raise
// k+stampSlots's (it stores that slot only after n = k+stampSlots-1), and
// the schedule's time stands in.
type stampRing struct {
	at [stampSlots]atomic.Int64
	_  [64]byte
	n  atomic.Uint64
	_  [56]byte
}

// due is raise k's actual time, or sch's when the slot may be reused.
func (r *stampRing) due(k uint64, sch schedule) int64 {
	t := r.at[k%stampSlots].Load()
	// Pairs with the producer's Store of n after the raise (see stampRing).
	if r.n.Load()+1 >= k+stampSlots {
		return sch.at(k)
	}
	return t
}

// mixedTimer is one periodic timer of a repetition.
type mixedTimer struct {
	id     int
	period int64  // ns
	cum    uint64 // expirations collected this repetition
	lastAt int64  // clock.Now of its last delivery
	caught bool   // the sum was complete at some moment after the end
}

// kindTally is one kind's figures for a repetition.
type kindTally struct {
	hist     *hdrhistogram.Histogram // latency from the intended time, per delivery
	events   uint64                  // deliveries
	units    uint64                  // expirations, signals, posts (fd: firings)
	starve   int64                   // ns, the largest of the repetition
	lastPass int64                   // the last Wait return that served other kinds and not this one
	// Exactly-once, this repetition and (tot*) the row so far.
	gen, col, lost, dup uint64
	totLost, totDup     uint64
}

// mixedCollector is the collector thread's state.
type mixedCollector struct {
	n      notify.Notifier
	ks     notify.KindSources
	src    *sourceSet
	sp     mixedSpec
	wait   string
	events []notify.Event
	work   *work.Loop
	stop   *atomic.Bool // ends the producer's repetition early

	// Written by the producer, read by the collector.
	fireAt        []paddedI64 // fd source i's firing time, stored before the firing
	sigAt, postAt stampRing

	tid     int
	sigID   int
	userID  int
	timers  []mixedTimer
	sigSch  schedule
	userSch schedule
	off     int64 // CLOCK_MONOTONIC less clock.Now
	eps     int64 // uncertainty of off, ns

	// This repetition.
	start, end int64 // clock.Now ns
	led        ledger
	kinds      [4]kindTally // by notify.Kind
	sigCum     uint64       // signals collected
	userCum    uint64       // sum of the user event's Data
	userM      uint64       // posts whose values userCum covers in full
	userVM     uint64       // the sum of those posts' values
	strays     uint64       // events with a token or kind nobody registered
}

// postValue is the k-th post's value (k ≥ 1).
func postValue(k uint64) uint64 { return 1 + k%3 }

// monoOffset measures CLOCK_MONOTONIC less clock.Now (both the same clock
// in Go on Linux, from different origins), bracketing a clock_gettime
// between two clock.Now readings; it returns the offset of the narrowest
// of five brackets and half its width, the offset's uncertainty.
func monoOffset() (off, eps int64, err error) {
	best := int64(math.MaxInt64)
	for range 5 {
		var ts unix.Timespec
		t1 := clock.Now()
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			return 0, 0, fmt.Errorf("clock_gettime(CLOCK_MONOTONIC): %w", err)
		}
		t2 := clock.Now()
		if w := t2 - t1; w < best {
			best, off = w, ts.Nano()-(t1+t2)/2
		}
	}
	return off, best/2 + 1, nil
}

// timerErr is AddTimer's error in a repetition: the timer kind's refusal.
type timerErr struct{ error }

func (e timerErr) Unwrap() error { return e.error }

// mixedOrder is one repetition for the producer.
type mixedOrder struct {
	start, end int64 // clock.Now ns
}

// mixedReport is what the producer did in one repetition.
type mixedReport struct {
	fired, signals, posts, postSum uint64
	usage                          rusage.Usage
	err                            error
}

// rep runs one repetition (or the warm-up) of length d: arm the timers for a start just
// ahead, have the producer fire, raise and post until the end, collect
// until every kind is accounted for (or a grace period has passed: the
// rest is lost), then disarm the timers.
func (c *mixedCollector) rep(d time.Duration, warmup bool, orders chan<- mixedOrder, reports <-chan mixedReport, hasHook bool) (results.Sample, error) {
	c.led.reset(uint64(d.Seconds()*20e6) + 1024)
	c.src.reads = 0
	for i := range c.kinds {
		k := &c.kinds[i]
		k.hist.Reset()
		k.events, k.units, k.starve, k.lastPass = 0, 0, 0, 0
		k.gen, k.col, k.lost, k.dup = 0, 0, 0, 0
	}
	c.sigCum, c.userCum, c.userM, c.userVM, c.strays = 0, 0, 0, 0, 0
	c.start = clock.Now() + int64(mixedLead)
	c.end = c.start + int64(d)
	c.sigSch.start, c.userSch.start = c.start, c.start
	for i := range c.timers {
		t := &c.timers[i]
		t.cum, t.lastAt, t.caught = 0, 0, false
		spec := notify.TimerSpec{Value: time.Duration(c.off + c.start + t.period), Interval: time.Duration(t.period), Abs: true}
		id, err := c.ks.AddTimer(spec, mixedToken(notify.KindTimer, i))
		if err != nil {
			c.removeTimers()
			return results.Sample{}, timerErr{fmt.Errorf("add timer %d (period %v): %w", i, time.Duration(t.period), err)}
		}
		t.id = id
	}
	defer c.removeTimers()
	meter, err := startMeter(c.n, hasHook)
	if err != nil {
		return results.Sample{}, err
	}
	orders <- mixedOrder{start: c.start, end: c.end}
	var report *mixedReport
	defer func() {
		if report == nil {
			// Leaving early (an error): the producer must be done with the
			// sources before anyone closes them.
			c.stop.Store(true)
			<-reports
		}
	}()

	var waits, notes uint64
	var finishBy int64
	lastEvent := c.start
	policy := waitPolicy{wait: c.wait}
	for {
		if report == nil {
			select {
			case r := <-reports:
				report = &r
				if r.err != nil {
					return results.Sample{}, r.err
				}
				finishBy = clock.Now() + int64(repGrace)
			default:
			}
		}
		if report != nil && (c.complete(report) || clock.Now() > finishBy) {
			break
		}
		timeout := policy.timeout()
		if report != nil {
			timeout = 20 * time.Millisecond
		}
		k, err := c.collect(timeout)
		waits++
		if err != nil {
			return results.Sample{}, err
		}
		policy.observe(k)
		if k > 0 {
			notes += uint64(k)
			lastEvent = clock.Now()
		}
	}
	s, sys := meter.sample(&c.led, report.fired, report.usage)
	c.settle(report, &s)
	if warmup {
		return s, nil // its accounting is all a warm-up keeps
	}

	var deliveries uint64
	for i := range c.kinds {
		deliveries += c.kinds[i].events
	}
	ev := float64(max(deliveries, 1))
	elapsed := time.Duration(lastEvent - c.start)
	s.Values["events/s"] = float64(deliveries) / elapsed.Seconds()
	s.Values["events/wait"] = float64(notes) / float64(max(waits, 1))
	s.Values["syscalls/event"] = float64(sys.Collector()) / ev
	s.Values["io-syscalls/event"] = float64(c.src.reads) / ev
	if others := deliveries - c.kinds[notify.KindFD].events; others > 0 {
		s.Values["drain-syscalls/event"] = float64(sys[notify.CallDrain]) / float64(others)
	}
	s.Values["consumer-cpu-ns/event"] = float64(s.Consumer.CPUNs()) / ev
	s.Values["producer-cpu-ns/event"] = float64(s.Producer.CPUNs()) / ev
	total := s.Consumer.CPUNs() + s.Producer.CPUNs()
	if h := s.Helper; h != nil {
		s.Values["helper-cpu-ns/event"] = float64(h.CPUNs()) / ev
		total += h.CPUNs()
	}
	s.Values["total-cpu-ns/event"] = float64(total) / ev
	s.Values["spurious/event"] = float64(c.led.spurious) / ev
	s.Histograms = map[string]string{}
	worstP99, worstStarve := -1.0, -1.0
	for _, kind := range mixedKinds {
		if !c.sp.needKinds.Has(kind) {
			continue
		}
		t := &c.kinds[kind]
		p := kind.String() + "-"
		s.Values[p+"events/s"] = float64(t.events) / elapsed.Seconds()
		if kind != notify.KindFD && t.events > 0 {
			s.Values[p+"per-event"] = float64(t.units) / float64(t.events)
		}
		putPercentiles(s.Values, t.hist, p, "")
		if t.hist.TotalCount() > 0 {
			enc, err := encodeHist(t.hist)
			if err != nil {
				return results.Sample{}, err
			}
			s.Histograms[p+"latency-ns"] = enc
			s.Values[p+"starve-ns"] = float64(t.starve)
			worstP99 = max(worstP99, s.Values[p+"p99-ns"])
			worstStarve = max(worstStarve, float64(t.starve))
		}
	}
	if worstP99 >= 0 {
		s.Values["worst-p99-ns"] = worstP99
		s.Values["worst-starve-ns"] = worstStarve
	}
	return s, nil
}

// complete: every kind has what the producer reports, and every timer has
// been caught up at some moment after the end (see Mixed).
func (c *mixedCollector) complete(r *mixedReport) bool {
	done := c.led.distinct >= r.fired && c.sigCum >= r.signals && c.userCum >= r.postSum
	now := clock.Now()
	for i := range c.timers {
		t := &c.timers[i]
		// The most expirations that can have been programmed by now
		// (eps: the clocks' offset is known to eps).
		if !t.caught && now >= c.end && t.cum >= uint64((now-c.start+c.eps)/t.period) {
			t.caught = true
		}
		done = done && t.caught
	}
	return done
}

// settle does each kind's exactly-once accounting for the repetition and
// folds it into the sample (whose fd figures meter.sample has set).
func (c *mixedCollector) settle(r *mixedReport, s *results.Sample) {
	fd := &c.kinds[notify.KindFD]
	fd.gen, fd.col, fd.lost, fd.dup = s.Generated, s.Collected, s.Lost, s.Dup+c.strays

	tm := &c.kinds[notify.KindTimer]
	for i := range c.timers {
		t := &c.timers[i]
		tm.col += t.cum
		tm.gen += t.cum
		if !t.caught {
			// Owed at its last delivery (the fewest expirations that had
			// certainly been programmed by then), at least one.
			at := max(t.lastAt, c.end)
			lost := max(uint64(max(at-c.start-c.eps, 0)/t.period), t.cum+1) - t.cum
			tm.gen += lost
			tm.lost += lost
		}
	}
	counted := func(k notify.Kind, gen, col uint64) {
		t := &c.kinds[k]
		t.gen, t.col = gen, min(gen, col)
		if col < gen {
			t.lost = gen - col
		} else {
			t.dup += col - gen
		}
	}
	counted(notify.KindSignal, r.signals, c.sigCum)
	counted(notify.KindUser, r.postSum, c.userCum)

	s.Generated, s.Collected, s.Lost, s.Dup = 0, 0, 0, 0
	for i := range c.kinds {
		t := &c.kinds[i]
		s.Generated += t.gen
		s.Collected += t.col
		s.Lost += t.lost
		s.Dup += t.dup
		t.totLost += t.lost
		t.totDup += t.dup
	}
}

// violations names each kind's losses and duplicates so far, in one line.
func (c *mixedCollector) violations() string {
	var parts []string
	for _, k := range mixedKinds {
		t := &c.kinds[k]
		if t.totLost == 0 && t.totDup == 0 {
			continue
		}
		unit := map[notify.Kind]string{notify.KindFD: "firings", notify.KindTimer: "expirations",
			notify.KindSignal: "signals", notify.KindUser: "of posted value"}[k]
		parts = append(parts, fmt.Sprintf("%v: %d lost, %d duplicated %s", k, t.totLost, t.totDup, unit))
	}
	if len(parts) == 0 {
		return ""
	}
	return "exactly-once violated: " + strings.Join(parts, "; ")
}

func (c *mixedCollector) clearViolations() {
	for i := range c.kinds {
		c.kinds[i].totLost, c.kinds[i].totDup = 0, 0
	}
}

// collect is the hot loop's body: one Wait, then every event accounted to
// its kind, its latency and starvation recorded. It allocates nothing.
func (c *mixedCollector) collect(timeout time.Duration) (int, error) {
	k, err := c.n.Wait(c.events, 1, timeout)
	if err != nil {
		return 0, fmt.Errorf("Wait: %w", err)
	}
	if k == 0 {
		return 0, nil
	}
	now := clock.Now()
	var present notify.Kinds
	for _, e := range c.events[:k] {
		kind, err := c.take(e, now)
		if err != nil {
			return k, err
		}
		present |= notify.KindsOf(kind)
		if c.work != nil {
			c.work.Do()
		}
	}
	// A return that served other kinds and not this one passes it over.
	for _, kind := range mixedKinds {
		if !present.Has(kind) {
			c.kinds[kind].lastPass = now
		}
	}
	return k, nil
}

// delivered records one delivery of kind: latency from intended, and
// starvation from due.
func (c *mixedCollector) delivered(kind notify.Kind, now, intended, due int64, units uint64) {
	t := &c.kinds[kind]
	t.events++
	t.units += units
	record(t.hist, now-intended)
	if t.lastPass >= due {
		t.starve = max(t.starve, t.lastPass-due)
	}
}

// take accounts one event and reports its kind. An event whose token and
// kind do not name a registered source is a stray (a duplicate of sorts).
func (c *mixedCollector) take(e notify.Event, now int64) (notify.Kind, error) {
	idx := int(e.Token & (1<<mixedTokShift - 1))
	switch kind := notify.Kind(e.Token >> mixedTokShift); {
	case kind == notify.KindFD && idx < c.sp.S && (e.Kind == notify.KindFD || e.Kind == notify.KindUser):
		seq := c.src.take(idx)
		// Pairs with the producer's Store before it fired: the number read
		// from the source is that firing's, so its time is in place.
		fired := c.fireAt[idx].v.Load()
		c.led.mark(seq)
		if seq != 0 {
			c.delivered(notify.KindFD, now, fired, fired, 1)
		}
		if err := c.src.rearm(idx); err != nil {
			return kind, fmt.Errorf("re-arm source %d: %w", idx, err)
		}
		// Pairs with the producer's Load: the firing and its time are
		// taken, the source may fire again.
		c.src.busy[idx].v.Store(0)
		return kind, nil
	case kind != e.Kind:
	case kind == notify.KindTimer && idx < len(c.timers):
		t := &c.timers[idx]
		first := t.cum + 1
		t.cum += e.Data
		t.lastAt = now
		// No more expirations than were due by now (eps: the offset
		// between the clocks is known to eps).
		if allowed := uint64(max(now-c.start+c.eps, 0) / t.period); t.cum > allowed {
			c.kinds[notify.KindTimer].dup += t.cum - allowed
			t.cum = allowed
		}
		if e.Data == 0 {
			c.kinds[notify.KindTimer].dup++ // a delivery of nothing
		}
		if t.cum >= first {
			c.delivered(kind, now, c.start+int64(t.cum)*t.period, c.start+int64(first)*t.period, t.cum-first+1)
		}
		return kind, nil
	case kind == notify.KindSignal && idx == 0:
		first := c.sigCum + 1
		c.sigCum += e.Data
		if e.Data == 0 {
			c.kinds[kind].dup++
			return kind, nil
		}
		c.delivered(kind, now, c.sigSch.at(c.sigCum), c.sigAt.due(first, c.sigSch), e.Data)
		return kind, nil
	case kind == notify.KindUser && idx == 0:
		if e.Data == 0 {
			c.kinds[kind].dup++
			return kind, nil
		}
		c.userCum += e.Data
		m0 := c.userM
		// Posts the sum now covers in full; a post is collected at most
		// once past the producer's published count (Post may return
		// after the collector has its value).
		for limit := c.postAt.n.Load() + 1; c.userM < limit && c.userVM+postValue(c.userM+1) <= c.userCum; {
			c.userM++
			c.userVM += postValue(c.userM)
		}
		if c.userM > m0 {
			c.delivered(kind, now, c.userSch.at(c.userM), c.postAt.due(m0+1, c.userSch), c.userM-m0)
		}
		return kind, nil
	}
	c.strays++
	return e.Kind, nil
}

// removeTimers disarms this repetition's timers.
func (c *mixedCollector) removeTimers() {
	for i := range c.timers {
		if t := &c.timers[i]; t.id >= 0 {
			c.ks.RemoveSource(t.id)
			t.id = -1
		}
	}
}

// removeSources unregisters everything but the fd sources (openPinned's).
func (c *mixedCollector) removeSources() {
	c.removeTimers()
	if c.sigID >= 0 {
		c.ks.RemoveSource(c.sigID)
		c.sigID = -1
	}
	if c.userID >= 0 {
		c.ks.RemoveSource(c.userID)
		c.userID = -1
	}
}

// mixedProducer is the producer's pinned thread for a row: fd firings as
// fast as the collector takes them back, signals and posts on their
// schedules.
type mixedProducer struct {
	c    *mixedCollector
	stop *atomic.Bool
	next int // round-robin cursor over the fd sources
}

func (p *mixedProducer) run(cpuID int, orders <-chan mixedOrder, reports chan<- mixedReport) {
	unpin, ok := pinProducer(cpuID, "producer", orders, reports, func(err error) mixedReport { return mixedReport{err: err} })
	if !ok {
		return
	}
	defer unpin()
	for o := range orders {
		before, _ := rusage.Thread()
		var r mixedReport
		r.err = p.rep(o, &r)
		after, _ := rusage.Thread()
		r.usage = after.Sub(before)
		reports <- r
		// The collector may be asleep with everything collected: wake it
		// so it reads the report.
		p.c.n.Wake()
	}
}

// rep fires, raises and posts from o.start to o.end.
func (p *mixedProducer) rep(o mixedOrder, r *mixedReport) error {
	c := p.c
	for clock.Now() < o.start && !p.stop.Load() {
		yield()
	}
	S := len(c.src.busy)
	for {
		now := clock.Now()
		if now >= o.end || p.stop.Load() {
			return nil
		}
		for c.sigSch.iv > 0 && c.sigSch.at(r.signals+1) <= now {
			k := r.signals + 1
			// Pairs with stampRing.due's slot Load.
			c.sigAt.at[k%stampSlots].Store(clock.Now())
			if err := notify.RaiseSignal(c.tid, c.sp.sig); err != nil {
				if errors.Is(err, unix.EAGAIN) {
					break // the queue is full: raise k again next pass
				}
				return fmt.Errorf("raise signal %d: %w", k, err)
			}
			r.signals = k
			// Pairs with stampRing.due's Load.
			c.sigAt.n.Store(k)
		}
		for c.userSch.iv > 0 && c.userSch.at(r.posts+1) <= now {
			k := r.posts + 1
			// Pairs with stampRing.due's slot Load.
			c.postAt.at[k%stampSlots].Store(clock.Now())
			if err := c.ks.Post(c.userID, postValue(k)); err != nil {
				return fmt.Errorf("post %d: %w", k, err)
			}
			r.posts, r.postSum = k, r.postSum+postValue(k)
			// Pairs with stampRing.due's Load and the collector's bound
			// on the posts a sum covers.
			c.postAt.n.Store(k)
		}
		fired := false
		for range S {
			i := p.next
			if p.next++; p.next == S {
				p.next = 0
			}
			// Pairs with the collector's Store(0) once it has taken the
			// firing and its time.
			if c.src.busy[i].v.Load() != 0 {
				continue
			}
			c.src.busy[i].v.Store(1)
			// Pairs with the collector's Load once it has read the
			// firing's number from the source.
			c.fireAt[i].v.Store(clock.Now())
			r.fired++
			if err := c.src.fire(i, r.fired); err != nil {
				return fmt.Errorf("fire source %d: %w", i, err)
			}
			fired = true
			break
		}
		if !fired {
			// Every source is outstanding: let a collector sharing this
			// CPU run (placement=same).
			yield()
		}
	}
}
