package workloads

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/notify"
	"kbench/results"
)

// Scale: does collection or registration get dearer as the registered set
// grows, while the ready set stays small? That is what separated epoll from
// poll and select, and what a ring sized per source could lose.
var Scale = Workload{
	Name:  "scale",
	Order: 50,
	Desc: "N registered sources (100, 1k, 10k, … n_max), A of them fired: collection CPU and system calls per event, add/modify/remove rates, against N; " +
		"a repetition registers all N, collects for duration/16, modifies and removes all N",
	Params: []Param{
		{Name: "n_max", Default: 10000, Quick: 1000, Min: 1, Max: 1_000_000, Help: "largest N: points 100, 1000, 10000, … up to n_max (100000 adds the 100k point); fd sources are capped by RLIMIT_NOFILE"},
		{Name: "n_active", Default: 16, Quick: 16, Min: 1, Max: 65536, Help: "sources the producer fires, spread evenly over the N"},
		{Name: "ctl_batch", Default: 64, Quick: 64, Min: 1, Max: 4096, Help: "fd registrations per control call for backends that take arrays (notify.Batcher: kevent_ctl); 1 is one call per add, modify or remove, as the others always make"},
	},
}

func init() {
	Scale.Run = runScale
	register(&Scale)
}

// scaleMetrics are measured at every N; a row's units are these with "@N".
var scaleMetrics = []results.Unit{
	{Name: "collect-ns/event", Better: "lower"}, // consumer CPU per collected event
	{Name: "syscalls/event", Better: "lower"},   // collector system calls per collected event
	{Name: "events/s", Better: "higher"},
	{Name: "adds/s", Better: "higher"}, // registering all N, the flushing Wait included
	{Name: "mods/s", Better: "higher"},
	{Name: "dels/s", Better: "higher"},
	{Name: "reg-syscalls/op", Better: "lower"}, // system calls per add, modify or remove
}

// scaleBatch is the events slice passed to Wait.
const scaleBatch = 256

// scaleMetric names metric m measured at N sources ("adds/s@10000").
func scaleMetric(m string, n int) string { return m + "@" + strconv.Itoa(n) }

// scalePoints are the decades from 100 below nmax, then nmax itself.
func scalePoints(nmax int) []int {
	var pts []int
	for n := 100; n < nmax; n *= 10 {
		pts = append(pts, n)
	}
	return append(pts, nmax)
}

func runScale(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	nmax, active := cfg.param(Scale, "n_max"), cfg.param(Scale, "n_active")
	res := results.Result{Workload: "scale", Backend: v.Backend, Variant: v.Name}
	res.Params = cfg.baseParams(v)
	res.Params["n_max"] = strconv.Itoa(nmax)
	res.Params["n_active"] = strconv.Itoa(active)
	res.Params["ctl_batch"] = strconv.Itoa(cfg.param(Scale, "ctl_batch"))
	res.Params["batch"] = strconv.Itoa(scaleBatch)
	if nmax < 1 || active < 1 {
		return fail(res, fmt.Errorf("n_max %d and n_active %d must both be at least 1", nmax, active))
	}
	if b := cfg.param(Scale, "ctl_batch"); b < 1 || b > 4096 {
		return fail(res, fmt.Errorf("ctl_batch %d outside [1, 4096]", b))
	}
	pts := scalePoints(nmax)
	for _, n := range pts {
		for _, u := range scaleMetrics {
			res.Units = append(res.Units, results.Unit{Name: scaleMetric(u.Name, n), Better: u.Better})
		}
	}
	out := make(chan results.Result, 1)
	go func() { out <- scaleConsumer(ctx, v, cfg, pts, active, res) }()
	return <-out
}

// scaleConsumer runs on the consumer's pinned thread and measures the points
// in turn, each with its own Notifier sized for it: a point the machine
// refuses (fs.aio-max-nr for a large AIO context) is skipped with the
// reason, the others are still measured.
func scaleConsumer(ctx context.Context, v notify.Variant, cfg Config, pts []int, active int, res results.Result) results.Result {
	unpin, err := cpu.Pin(cfg.ConsumerCPU)
	if err != nil {
		return skip(res, fmt.Errorf("pin consumer: %w", err))
	}
	defer unpin()
	var lease *fdLease
	var dirty []int
	if v.Sources == notify.SourceFD {
		if lease, err = efdPool.get(pts[len(pts)-1]); err != nil {
			return fail(res, err)
		}
		defer func() { efdPool.put(lease, dirty) }()
		if lease.limit.raisedFrom != 0 {
			res.Params["nofile_raised"] = fmt.Sprintf("%d->%d", lease.limit.raisedFrom, lease.limit.soft)
		}
	}
	samples := make([]results.Sample, cfg.Reps)
	for i := range samples {
		samples[i] = results.Sample{Rep: i, Values: map[string]float64{}, Syscalls: map[string]uint64{}}
	}
	var notes []string
	measured, skipped := 0, 0
	capped := false
	for _, want := range pts {
		if ctx.Err() != nil {
			notes = append(notes, "interrupted")
			break
		}
		n := want
		if lease != nil && n > len(lease.fds) {
			if capped {
				notes = append(notes, fmt.Sprintf("N=%d not run: capped like the point before", want))
				break
			}
			capped, n = true, len(lease.fds)
			notes = append(notes, fmt.Sprintf("N=%d capped to %d: %s", want, n, lease.note))
			res.Params["n@"+strconv.Itoa(want)] = strconv.Itoa(n)
			if n == 0 {
				skipped++
				continue
			}
		}
		p := newScalePoint(v, want, n, min(active, n))
		if lease != nil {
			p.fds = lease.fds[:n]
			for _, j := range p.act {
				dirty = append(dirty, p.fds[j])
			}
		}
		// One warm-up, before the first point: the threads, the pool and
		// the code are warm after it, and a warm-up at 10k sources would
		// cost as much as a repetition.
		pcfg := cfg
		if measured+skipped > 0 {
			pcfg.Warmup = 0
		}
		err := p.run(ctx, v, pcfg, samples)
		if p.emulated {
			res.Params["emulated"] = "true"
		}
		var na naReason
		switch {
		case errors.As(err, &na):
			res = notApplicable(res, string(na))
			return res
		case notify.IsUnavailable(err):
			notes = append(notes, fmt.Sprintf("N=%d skipped: %v", want, err))
			skipped++
		case err != nil:
			res.Samples = withValues(samples)
			return fail(res, fmt.Errorf("N=%d: %w", want, err))
		default:
			measured++
		}
	}
	res.Reason = strings.Join(notes, "; ")
	res.Samples = withValues(samples)
	if measured == 0 && skipped > 0 {
		res.Status = results.StatusSkipped
		return res
	}
	return finish(res)
}

// scalePoint is one N: its sources, the active subset the producer fires
// (through fan-in's producer and collector), and the timed registration.
type scalePoint struct {
	cb       *ctlBatcher
	want, n  int // the point's label and the N it runs with
	trig     notify.Trigger
	nt       notify.Notifier
	emulated bool // nt.Caps().Emulated (the row records it)
	us       notify.UserSources
	fds      []int    // fd sources: n eventfds, lent by efdPool
	ids      []int    // user sources: the current ids
	tok      []uint64 // each source's token: the active ones 0..A-1, as fan-in's collector expects
	act      []int    // indexes of the active sources
	src      *sourceSet
	c        *faninCollector
	events   []notify.Event // room for N: see flush
}

func newScalePoint(v notify.Variant, want, n, active int) *scalePoint {
	p := &scalePoint{want: want, n: n, trig: v.Trigger, tok: make([]uint64, n), act: make([]int, active)}
	for j := range p.tok {
		p.tok[j] = uint64(active + j) // idle: never fired, never collides with an active token
	}
	for k := range p.act {
		j := k * n / active
		p.act[k] = j
		p.tok[j] = uint64(k)
	}
	return p
}

// naReason is a row's "not applicable" reason carried as an error.
type naReason string

func (r naReason) Error() string { return string(r) }

// openForSources opens v's Notifier on the calling (pinned) thread and
// checks that it can register v's sources at all: a trigger the backend
// lacks, or user sources on a backend without them, is a naReason.
func openForSources(v notify.Variant, o notify.Options) (notify.Notifier, error) {
	n, err := v.Open(o)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", v.ID(), err)
	}
	if !n.Caps().Triggers.Has(v.Trigger) {
		n.Close()
		return nil, naReason(fmt.Sprintf("backend does not support trigger %v", v.Trigger))
	}
	if _, ok := n.(notify.UserSources); v.Sources == notify.SourceUser && !ok {
		n.Close()
		return nil, naReason("backend has no user sources")
	}
	return n, nil
}

// registration errors that say "this backend cannot" rather than "broke".
func naOr(err error) error {
	if errors.Is(err, errors.ErrUnsupported) {
		return naReason(err.Error())
	}
	return err
}

func (p *scalePoint) run(ctx context.Context, v notify.Variant, cfg Config, samples []results.Sample) error {
	nt, err := openForSources(v, cfg.options(v, p.n))
	if err != nil {
		return err
	}
	defer nt.Close()
	p.nt = nt
	p.emulated = nt.Caps().Emulated
	p.events = make([]notify.Event, max(p.n, scaleBatch))
	A := len(p.act)
	p.src = &sourceSet{n: nt, kind: v.Sources, trig: v.Trigger, busy: make([]paddedU32, A)}
	if v.Sources == notify.SourceUser {
		p.us = nt.(notify.UserSources)
		p.ids = make([]int, p.n)
		p.src.us, p.src.ids, p.src.slots = p.us, make([]int, A), make([]paddedU64, A)
	} else {
		p.src.fds = make([]int, A)
		for k, j := range p.act {
			p.src.fds[k] = p.fds[j]
		}
	}
	p.c = &faninCollector{n: nt, src: p.src, wait: cfg.Wait, events: p.events[:scaleBatch]}
	p.cb = newCtlBatcher(nt, cfg.param(Scale, "ctl_batch"))

	orders := make(chan repOrder)
	reports := make(chan repReport, 1) // buffered: the producer reports, then wakes a sleeping consumer
	var stop atomic.Bool
	go faninProducer(cfg.ProducerCPU, p.src, nt, orders, reports, &stop)
	defer close(orders)
	hasHook := notify.HasHelper(nt)

	window := func(d time.Duration) time.Duration { return max(d/16, time.Millisecond) }
	for rep := -1; rep < len(samples); rep++ { // rep -1 is the warm-up
		d := window(cfg.Duration)
		if rep < 0 {
			if cfg.Warmup <= 0 {
				continue
			}
			d = window(cfg.Warmup)
		}
		if ctx.Err() != nil {
			return nil
		}
		stopWatch := context.AfterFunc(ctx, func() { stop.Store(true) })
		s, err := p.rep(d, orders, reports, hasHook)
		stopWatch()
		stop.Store(false)
		if err != nil {
			return err
		}
		if rep < 0 {
			if s.Lost != 0 || s.Dup != 0 {
				return fmt.Errorf("warm-up lost %d and duplicated %d firings", s.Lost, s.Dup)
			}
			continue
		}
		mergeSample(&samples[rep], s)
	}
	return nil
}

// rep registers all N (timed), collects the active ones' firings for d,
// then modifies all N and removes all N (each timed). Backends that queue
// registrations for their next submission (AIO, io_uring) are flushed by a
// non-blocking Wait inside each timed phase, so the rates include the
// system calls that carry the operations to the kernel.
func (p *scalePoint) rep(d time.Duration, orders chan<- repOrder, reports <-chan repReport, hasHook bool) (results.Sample, error) {
	sys0 := p.nt.Syscalls()
	t0 := clock.Now()
	if err := p.addAll(); err != nil {
		return results.Sample{}, err
	}
	t1 := clock.Now()
	sys1 := p.nt.Syscalls()
	if p.us != nil {
		for k, j := range p.act {
			p.src.ids[k] = p.ids[j]
		}
	}
	s, err := p.c.rep(d, orders, reports, hasHook)
	if err != nil {
		return s, fmt.Errorf("collect: %w", err)
	}
	sys2 := p.nt.Syscalls()
	t2 := clock.Now()
	if err := p.modifyAll(); err != nil {
		return s, err
	}
	t3 := clock.Now()
	if err := p.removeAll(); err != nil {
		return s, err
	}
	t4 := clock.Now()
	sys3 := p.nt.Syscalls()

	reg := sys1.Sub(sys0).Collector() + sys3.Sub(sys2).Collector()
	rate := func(a, b int64) float64 { return float64(p.n) / time.Duration(max(b-a, 1)).Seconds() }
	vals := map[string]float64{
		"collect-ns/event": s.Values["consumer-cpu-ns/event"],
		"syscalls/event":   s.Values["syscalls/event"],
		"events/s":         s.Values["events/s"],
		"adds/s":           rate(t0, t1),
		"mods/s":           rate(t2, t3),
		"dels/s":           rate(t3, t4),
		"reg-syscalls/op":  float64(reg) / float64(3*p.n),
	}
	s.Values = make(map[string]float64, len(vals))
	for k, v := range vals {
		s.Values[scaleMetric(k, p.want)] = v
	}
	s.Syscalls = sys3.Sub(sys0).Map()
	return s, nil
}

func (p *scalePoint) addAll() error {
	if p.cb == nil {
		p.cb = newCtlBatcher(p.nt, 1) // a point made without run: one call per change
	}
	for j := 0; j < p.n; j++ {
		var err error
		if p.us != nil {
			p.ids[j], err = p.us.AddUser(p.tok[j], p.trig)
		} else {
			err = p.cb.do(notify.Change{Op: notify.OpAdd, FD: p.fds[j], Token: p.tok[j], In: notify.Readable, Tr: p.trig})
		}
		if err != nil {
			return naOr(fmt.Errorf("add source %d of %d: %w", j, p.n, err))
		}
	}
	if err := p.cb.flush(); err != nil {
		return naOr(fmt.Errorf("add sources: %w", err))
	}
	return p.flush()
}

func (p *scalePoint) modifyAll() error {
	if p.cb == nil {
		p.cb = newCtlBatcher(p.nt, 1) // a point made without run: one call per change
	}
	for j := 0; j < p.n; j++ {
		var err error
		if p.us != nil {
			err = p.us.ModifyUser(p.ids[j], p.tok[j], p.trig)
		} else {
			err = p.cb.do(notify.Change{Op: notify.OpModify, FD: p.fds[j], Token: p.tok[j], In: notify.Readable, Tr: p.trig})
		}
		if err != nil {
			return fmt.Errorf("modify source %d of %d: %w", j, p.n, err)
		}
	}
	if err := p.cb.flush(); err != nil {
		return fmt.Errorf("modify sources: %w", err)
	}
	return p.flush()
}

func (p *scalePoint) removeAll() error {
	if p.cb == nil {
		p.cb = newCtlBatcher(p.nt, 1) // a point made without run: one call per change
	}
	for j := 0; j < p.n; j++ {
		var err error
		if p.us != nil {
			err = p.us.RemoveUser(p.ids[j])
		} else {
			err = p.cb.do(notify.Change{Op: notify.OpRemove, FD: p.fds[j]})
		}
		if err != nil {
			return fmt.Errorf("remove source %d of %d: %w", j, p.n, err)
		}
	}
	if err := p.cb.flush(); err != nil {
		return fmt.Errorf("remove sources: %w", err)
	}
	return p.flush()
}

// ctlBatcher hands fd registration changes to a backend with
// notify.Batcher (kevent_ctl's arrays) size at a time; without one, or
// with size 1, each change is its own Add, Modify or Remove call.
type ctlBatcher struct {
	n  notify.Notifier
	b  notify.Batcher
	cs []notify.Change
}

func newCtlBatcher(n notify.Notifier, size int) *ctlBatcher {
	c := &ctlBatcher{n: n}
	if b, ok := n.(notify.Batcher); ok && size > 1 {
		c.b, c.cs = b, make([]notify.Change, 0, size)
	}
	return c
}

func (c *ctlBatcher) do(ch notify.Change) error {
	if c.b == nil {
		switch ch.Op {
		case notify.OpAdd:
			return c.n.Add(ch.FD, ch.Token, ch.In, ch.Tr)
		case notify.OpModify:
			return c.n.Modify(ch.FD, ch.Token, ch.In, ch.Tr)
		default:
			return c.n.Remove(ch.FD)
		}
	}
	c.cs = append(c.cs, ch)
	if len(c.cs) == cap(c.cs) {
		return c.flush()
	}
	return nil
}

// flush sends what do gathered.
func (c *ctlBatcher) flush() error {
	if len(c.cs) == 0 {
		return nil
	}
	err := c.b.Batch(c.cs)
	c.cs = c.cs[:0]
	return err
}

// flush hands queued registrations to the kernel and reaps what the
// operations completed. Backends reap at most as many completions per Wait
// as the slice has room for, so it gets room for all N: AIO's ten thousand
// cancellations are consumed here, in the timed phase, and not by the next
// repetition's collection. Nothing is ready (every firing was collected), so
// what it reports is at most a Wake's early return.
func (p *scalePoint) flush() error {
	if _, err := p.nt.Wait(p.events, 0, 0); err != nil {
		return fmt.Errorf("flushing Wait: %w", err)
	}
	return nil
}

// mergeSample adds one point's repetition to the row's repetition.
func mergeSample(dst *results.Sample, s results.Sample) {
	dst.Generated += s.Generated
	dst.Collected += s.Collected
	dst.Lost += s.Lost
	dst.Dup += s.Dup
	dst.Producer = dst.Producer.Add(s.Producer)
	dst.Consumer = dst.Consumer.Add(s.Consumer)
	if s.Helper != nil {
		h := *s.Helper
		if dst.Helper != nil {
			h = h.Add(*dst.Helper)
		}
		dst.Helper = &h
	}
	for k, v := range s.Syscalls {
		dst.Syscalls[k] += v
	}
	for k, v := range s.Values {
		dst.Values[k] = v
	}
}

// withValues drops repetitions no point reached (an interrupted run).
func withValues(samples []results.Sample) []results.Sample {
	var out []results.Sample
	for _, s := range samples {
		if len(s.Values) > 0 {
			out = append(out, s)
		}
	}
	return out
}
