package workloads

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/internal/rusage"
	"kbench/notify"
	"kbench/results"
)

// Pingpong: tokens passed around chains of sources, libevent's bench
// style: collecting a token's event on chain position p fires position p+1,
// and a round trip is K hops, from firing position 0 to collecting K-1.
//
// Placements: "within" — one Notifier and its collector on one thread, so a
// hop is a firing the same thread's next Wait finds; "cross" — two pinned
// threads, each with its own Notifier, position p belonging to thread p%2,
// so every hop crosses to the other CPU (K is rounded up to even, to keep
// the parity around the wrap). Loads: one token, and `active` tokens, each
// on its own chain of K sources, so that tokens never meet and every
// firing lands on an idle source (a source holds one firing's number).
//
// Exactly-once: hop h of token j carries firing number h·T+j+1 (T tokens).
// The thread that collects position K-1 ends the rounds: after the
// repetition's time is up it lets every token finish the round count of
// the furthest one, so the numbers 1..G are fired with no gap, and each
// thread's ledger, merged at the end, must show each exactly once.
//
// Row layout: one row per variant; figures per (placement, load) as Values
// suffixed "@within-1", "@within-many", "@cross-1", "@cross-many":
// "rt-p50-ns@cross-1" … "rt-max-ns@…", "hops/s@…".
var Pingpong = Workload{
	Name:  "pingpong",
	Order: 30,
	Desc:  "tokens passed around chains of K sources (libevent bench style), within one thread and across two pinned threads, 1 and `active` tokens: round-trip latency and hops/s",
	Params: []Param{
		{Name: "chain", Default: 16, Quick: 8, Min: 2, Max: 65536, Help: "K: sources in each token's chain, rounded up to even"},
		{Name: "active", Default: 8, Quick: 4, Min: 1, Max: 4096, Help: "tokens in the many-active runs, each on its own chain (1: single-token runs only)"},
		{Name: "mode", Default: 0, Min: 0, Max: 2, Help: "0: both placements; 1: within one thread only; 2: across two threads only"},
		{Name: "batch", Default: 64, Quick: 16, Min: 1, Max: 65536, Help: "events slice length passed to Wait"},
	},
}

func init() {
	Pingpong.Run = runPingpong
	register(&Pingpong)
}

// ppGrace: with no round finished for this long after the repetition's
// time, a token is taken as lost and the repetition ends.
const ppGrace = time.Second

func runPingpong(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	K := cfg.param(Pingpong, "chain")
	active := cfg.param(Pingpong, "active")
	mode := cfg.param(Pingpong, "mode")
	batch := cfg.param(Pingpong, "batch")
	K += K % 2
	res := results.Result{Workload: "pingpong", Backend: v.Backend, Variant: v.Name}
	res.Params = cfg.baseParams(v)
	res.Params["chain"] = strconv.Itoa(K)
	res.Params["active"] = strconv.Itoa(active)
	res.Params["mode"] = strconv.Itoa(mode)
	res.Params["batch"] = strconv.Itoa(batch)
	if K < 2 || active < 1 || mode < 0 || mode > 2 || batch < 1 {
		return fail(res, fmt.Errorf("pingpong: chain %d, active %d, mode %d, batch %d: want chain ≥ 2, active ≥ 1, mode 0–2, batch ≥ 1", K, active, mode, batch))
	}
	loads := []int{1}
	if active > 1 {
		loads = append(loads, active)
	}
	var groups []*ppGroup
	defer func() {
		for _, g := range groups {
			g.close()
		}
	}()
	for _, place := range []string{"within", "cross"} {
		if mode == 1 && place == "cross" || mode == 2 && place == "within" {
			continue
		}
		g, err := newPPGroup(v, cfg, place, K, active, batch)
		if err != nil {
			return naSkipOrFail(res, err)
		}
		noteEmulated(res.Params, g.threads[0].n)
		groups = append(groups, g)
	}
	for _, g := range groups {
		for _, T := range loads {
			res.Units = append(res.Units, percentileUnits("rt-", "@"+g.label(T))...)
			res.Units = append(res.Units, results.Unit{Name: "hops/s@" + g.label(T), Better: "higher"})
		}
	}
	window := pointWindow(cfg.Duration, len(groups)*len(loads))
	if cfg.Warmup > 0 {
		for _, g := range groups {
			for _, T := range loads {
				r, err := g.run(ctx, T, max(cfg.Warmup/time.Duration(len(groups)*len(loads)), time.Millisecond))
				if err != nil {
					return fail(res, err)
				}
				if r.lost != 0 || r.dup != 0 {
					return fail(res, fmt.Errorf("warm-up %s lost %d and duplicated %d hops", g.label(T), r.lost, r.dup))
				}
			}
		}
	}
	for rep := 0; rep < cfg.Reps; rep++ {
		if ctx.Err() != nil {
			res.Reason = "interrupted"
			break
		}
		s := results.Sample{Rep: rep, Values: map[string]float64{}, Histograms: map[string]string{}}
		var sys notify.SyscallCounts
		for _, g := range groups {
			for _, T := range loads {
				r, err := g.run(ctx, T, window)
				if err != nil {
					return fail(res, err)
				}
				if ctx.Err() != nil {
					// Aborted mid-way: tokens in flight are not lost.
					res.Reason = "interrupted"
					return finish(res)
				}
				L := "@" + g.label(T)
				s.Generated += r.generated
				s.Collected += r.collected
				s.Lost += r.lost
				s.Dup += r.dup
				s.Consumer = s.Consumer.Add(r.usage[0])
				s.Producer = s.Producer.Add(r.usage[1])
				for k, c := range r.sys {
					sys[k] += c
				}
				putPercentiles(s.Values, r.rt, "rt-", L)
				s.Values["hops/s"+L] = float64(r.generated) / max(r.elapsed.Seconds(), 1e-9)
				if s.Histograms["rt"+L], err = encodeHist(r.rt); err != nil {
					return fail(res, err)
				}
			}
		}
		s.Syscalls = sys.Map()
		res.Samples = append(res.Samples, s)
		if s.Lost != 0 || s.Dup != 0 {
			// Stale firings would haunt the next repetition: stop here.
			break
		}
	}
	return finish(res)
}

// ppLayout maps (token j, chain position p) to a source: in set p%step, at
// index j·stride + p/step. Within one thread step is 1 and both sets are
// the same; across two, step is 2 and set i belongs to thread i.
type ppLayout struct {
	K, T   int
	step   int
	stride int // sources a token has in one set
	sets   [2]*sourceSet
}

func (l *ppLayout) loc(j, p int) (*sourceSet, int) {
	return l.sets[p%l.step], j*l.stride + p/l.step
}

// pos inverts loc for a source of the set with the given parity.
func (l *ppLayout) pos(parity, idx int) (j, p int) {
	return idx / l.stride, idx%l.stride*l.step + parity
}

// ppThread is one collecting thread. The driver is the thread that
// collects position K-1: it fires position 0, so it starts the tokens,
// times the round trips and ends the repetition.
type ppThread struct {
	cpu    int
	parity int
	driver bool
	lay    *ppLayout
	n      notify.Notifier
	own    *sourceSet
	wait   string
	events []notify.Event
	led    ledger
	fires  uint64
	done   *atomic.Bool // the repetition is over (or aborted)
	peer   notify.Notifier
	// A repetition's length in ns; closed at teardown.
	orders  chan int64
	reports chan ppReport

	// Driver only.
	rt       *hdrhistogram.Histogram
	t0       []int64 // when token j's current round began (its position-0 firing)
	rounds   []int   // position-0 firings of token j
	stopAt   int     // rounds every token completes; 0 until time is up
	retired  int
	deadline int64
	began    int64
	ended    int64
}

type ppReport struct {
	usage rusage.Usage
	sys   notify.SyscallCounts
	err   error
}

// ppGroup is one placement: its threads and their shared layout.
type ppGroup struct {
	place   string
	lay     *ppLayout
	threads []*ppThread
	done    atomic.Bool
	closed  bool
}

func (g *ppGroup) label(T int) string {
	if T == 1 {
		return g.place + "-1"
	}
	return g.place + "-many"
}

// newPPGroup starts a placement's threads; each opens its Notifier and
// registers its sources on its own pinned thread.
func newPPGroup(v notify.Variant, cfg Config, place string, K, maxT, batch int) (*ppGroup, error) {
	g := &ppGroup{place: place, lay: &ppLayout{K: K, step: 1, stride: K}}
	cpus := []int{cfg.ConsumerCPU}
	if place == "cross" {
		g.lay.step, g.lay.stride = 2, K/2
		// Thread 1 collects the odd positions, K-1 among them: it drives,
		// on the consumer's CPU; thread 0 stands where a producer would.
		cpus = []int{cfg.ProducerCPU, cfg.ConsumerCPU}
	}
	ready := make(chan error, len(cpus))
	for i, c := range cpus {
		t := &ppThread{
			cpu: c, parity: i, lay: g.lay, wait: cfg.Wait, done: &g.done,
			events:  make([]notify.Event, batch),
			orders:  make(chan int64),
			reports: make(chan ppReport, 1),
		}
		t.driver = i == len(cpus)-1
		if t.driver {
			t.rt = newHist()
			t.t0 = make([]int64, maxT)
			t.rounds = make([]int, maxT)
		}
		g.threads = append(g.threads, t)
		go t.main(v, cfg, maxT*g.lay.stride, t.orders, ready)
	}
	var first error
	for range cpus {
		if err := <-ready; err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		g.close()
		return nil, first
	}
	for i, t := range g.threads {
		g.lay.sets[i] = t.own
	}
	if len(g.threads) == 1 {
		g.lay.sets[1] = g.threads[0].own
	} else {
		g.threads[1].peer = g.threads[0].n
	}
	return g, nil
}

// close ends the threads; each closes its own sources and Notifier.
func (g *ppGroup) close() {
	if g.closed {
		return
	}
	g.closed = true
	for _, t := range g.threads {
		close(t.orders)
	}
}

// main is a thread's life: set up, serve repetitions until closed, tear
// down. Setup failures go to ready, and the thread then waits for close.
func (t *ppThread) main(v notify.Variant, cfg Config, nsrc int, orders <-chan int64, ready chan<- error) {
	fail := func(err error) {
		ready <- err
		for range orders {
		}
	}
	unpin, err := cpu.Pin(t.cpu)
	if err != nil {
		fail(fmt.Errorf("pin: %w", err))
		return
	}
	defer unpin()
	n, err := v.Open(cfg.options(v, nsrc))
	if err != nil {
		fail(fmt.Errorf("open %s: %w", v.ID(), err))
		return
	}
	defer n.Close()
	if !n.Caps().Triggers.Has(v.Trigger) {
		fail(fmt.Errorf("backend does not support trigger %v: %w", v.Trigger, errors.ErrUnsupported))
		return
	}
	src, err := newSourceSet(n, v, nsrc)
	if err != nil {
		fail(err)
		return
	}
	defer src.close()
	t.n, t.own = n, src
	ready <- nil
	for d := range orders {
		t.reports <- t.rep(d)
	}
}

// ppResult is one repetition of one placement and load.
type ppResult struct {
	generated, collected, lost, dup uint64
	usage                           [2]rusage.Usage // the driver's, the other thread's
	sys                             notify.SyscallCounts
	rt                              *hdrhistogram.Histogram
	elapsed                         time.Duration
}

// run has every thread of the group pass T tokens for d, then merges their
// accounting.
func (g *ppGroup) run(ctx context.Context, T int, d time.Duration) (ppResult, error) {
	g.lay.T = T
	g.done.Store(false)
	abort := func() {
		g.done.Store(true)
		for _, t := range g.threads {
			t.n.Wake()
		}
	}
	watchdog := time.AfterFunc(d+ppGrace, abort)
	defer watchdog.Stop()
	defer context.AfterFunc(ctx, abort)()
	for _, t := range g.threads {
		t.orders <- int64(d)
	}
	var r ppResult
	var first error
	for i, t := range g.threads {
		rep := <-t.reports
		if rep.err != nil && first == nil {
			first = rep.err
		}
		r.usage[len(g.threads)-1-i] = rep.usage
		for k, c := range rep.sys {
			r.sys[k] += c
		}
		r.generated += t.fires
	}
	if first != nil {
		return r, first
	}
	drv := g.threads[len(g.threads)-1]
	for _, t := range g.threads[:len(g.threads)-1] {
		drv.led.absorb(&t.led)
	}
	r.lost, r.dup = drv.led.settle(r.generated)
	r.collected = drv.led.distinct
	r.rt = drv.rt
	if drv.ended == 0 { // aborted: the tokens never all came home
		drv.ended = clock.Now()
	}
	r.elapsed = time.Duration(drv.ended - drv.began)
	return r, nil
}

// rep runs one repetition on this thread.
func (t *ppThread) rep(d int64) ppReport {
	t.led.reset(uint64(float64(d)/1e9*16e6) + 1024) // room for 16M hops/s; more grows it
	t.fires = 0
	sys0 := t.n.Syscalls()
	u0, err := rusage.Thread()
	if err != nil {
		return ppReport{err: err}
	}
	if t.driver {
		if err := t.kick(d); err != nil {
			return ppReport{err: err}
		}
	}
	policy := waitPolicy{wait: t.wait}
	for !t.done.Load() {
		k, err := t.collect(policy.timeout())
		if err != nil {
			return ppReport{err: err}
		}
		policy.observe(k)
	}
	u1, _ := rusage.Thread()
	return ppReport{usage: u1.Sub(u0), sys: t.n.Syscalls().Sub(sys0)}
}

// kick starts every token at position 0.
func (t *ppThread) kick(d int64) error {
	t.rt.Reset()
	t.stopAt, t.retired, t.ended = 0, 0, 0
	t.began = clock.Now()
	t.deadline = t.began + d
	for j := 0; j < t.lay.T; j++ {
		t.rounds[j] = 1
		t.t0[j] = clock.Now()
		set, i := t.lay.loc(j, 0)
		t.fires++
		if err := set.fire(i, uint64(j)+1); err != nil {
			return fmt.Errorf("fire token %d: %w", j, err)
		}
	}
	return nil
}

// collect is the hot loop's body: one Wait, then each event's hop taken and
// passed on. It allocates nothing.
func (t *ppThread) collect(timeout time.Duration) (int, error) {
	k, err := t.n.Wait(t.events, 1, timeout)
	if err != nil {
		return 0, fmt.Errorf("Wait: %w", err)
	}
	for _, e := range t.events[:k] {
		if e.Token >= uint64(len(t.own.busy)) {
			t.led.dup++ // a token nobody registered
			continue
		}
		if err := t.hop(int(e.Token)); err != nil {
			return k, err
		}
	}
	return k, nil
}

// hop collects source idx's firing and fires the token's next position.
func (t *ppThread) hop(idx int) error {
	seq := t.own.take(idx)
	t.led.mark(seq)
	if err := t.own.rearm(idx); err != nil {
		return fmt.Errorf("re-arm source %d: %w", idx, err)
	}
	j, p := t.lay.pos(t.parity, idx)
	T := uint64(t.lay.T)
	if seq == 0 || (seq-1)%T != uint64(j) {
		return nil // nothing pending, or a number this chain never carried: the ledger has it
	}
	np := p + 1
	if np == t.lay.K {
		np = 0
		now := clock.Now()
		record(t.rt, now-t.t0[j])
		if !t.nextRound(j, now) {
			return nil
		}
		t.t0[j] = clock.Now()
	}
	set, i := t.lay.loc(j, np)
	t.fires++
	if err := set.fire(i, seq+T); err != nil {
		return fmt.Errorf("fire source %d: %w", i, err)
	}
	return nil
}

// nextRound decides whether token j, back at the start, goes round again.
// Once time is up every token completes as many rounds as the furthest
// one had then, so that the hop numbers fired are exactly 1..rounds·K·T.
func (t *ppThread) nextRound(j int, now int64) bool {
	if t.stopAt == 0 && now >= t.deadline {
		t.stopAt = 1
		for _, r := range t.rounds[:t.lay.T] {
			t.stopAt = max(t.stopAt, r)
		}
	}
	if t.stopAt != 0 && t.rounds[j] >= t.stopAt {
		if t.retired++; t.retired == t.lay.T {
			t.ended = now
			t.done.Store(true)
			if t.peer != nil {
				t.peer.Wake() // it may sleep in Wait, with nothing left to collect
			}
		}
		return false
	}
	t.rounds[j]++
	return true
}

// absorb merges o's numbers into l: a number both saw is a duplicate.
func (l *ledger) absorb(o *ledger) {
	if len(o.seen) > len(l.seen) {
		l.seen = append(l.seen, make([]uint64, len(o.seen)-len(l.seen))...)
	}
	for w, word := range o.seen {
		l.dup += uint64(bits.OnesCount64(l.seen[w] & word))
		l.distinct += uint64(bits.OnesCount64(word &^ l.seen[w]))
		l.seen[w] |= word
	}
	l.dup += o.dup
	l.spurious += o.spurious
}

// naSkipOrFail ends a row whose setup failed: n/a when the backend cannot
// do what the workload needs (errors.ErrUnsupported), skipped when the
// machine refuses the mechanism, failed otherwise.
func naSkipOrFail(r results.Result, err error) results.Result {
	if errors.Is(err, errors.ErrUnsupported) {
		r = notApplicable(r, err.Error())
		return r
	}
	return skipOrFail(r, err)
}
