package workloads

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"kbench/impls/epoll"
	"kbench/impls/iouring"
	"kbench/impls/kevent"
	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/internal/rawsys"
	"kbench/internal/rusage"
	"kbench/notify"
	"kbench/results"
)

// Herd: W waiter threads collect S eventfds fired by one producer (or by
// P, one per entry of Config.Producers(), each firing its own share of
// the sources: herdProds), in three arrangements (herdArrangements): one instance W threads block on
// (shared), W instances each watching every source (replicated, with the
// mechanism's wake-up policy between instances: EPOLLEXCLUSIVE or not,
// kevent's first waker or WAKEUP_ALL), and the sources split between W
// instances (sharded, the shared-nothing baseline). Every waiter blocks in
// Wait (--wait does not apply: wasted wake-ups are a blocking waiter's), so
// the rows compare what the policies cost in wake-ups that find nothing.
//
// A firing is collected by the waiter whose read of the eventfd returns its
// number: the read is atomic, so however many waiters are told, exactly one
// takes it, and the others' reports are stale copies. The ledgers of all
// waiters are merged to check every firing taken exactly once; the
// producers number their firings from one shared counter, so the ledger
// is the same with one producer or several.
//
// Each row (a variant in an arrangement at a W, herdRows) is a row of the
// engine's like any variant's: every trial sets it up afresh, trials go in
// the engine's shuffled rounds across all rows, and each is metered alone.
var Herd = Workload{
	Name:       "herd",
	Order:      65,
	Collectors: true,
	Producers:  true,
	Desc:       "W waiters on S eventfds, per arrangement (shared instance, replicated instances, sharded sources) and wake-up policy: events/s, wasted wake-ups, context switches, latency, fairness and CPU per event",
	Params: []Param{
		{Name: "waiters", Default: 2, Quick: 2, Min: 1, Max: herdMaxWaiters,
			Help: "largest W: rows at W=1 (one waiter, the baseline), 2, 4, … and W itself; waiters take the collector CPUs (--cpus) round-robin"},
		{Name: "sources", Default: 64, Quick: 16, Min: 1, Max: 65536, Help: "eventfds, each with at most one firing outstanding"},
		{Name: "batch", Default: 64, Quick: 64, Min: 1, Max: 65536, Help: "events slice length each waiter passes to Wait"},
		{Name: "interval_us", Default: 100, Quick: 100, Min: 0, Max: 1_000_000,
			Help: "µs each producer sleeps after each firing (round-robin over its sources), so that each firing meets sleeping waiters (the herd); 0: fire every source as soon as its last firing is taken (saturation)"},
	},
}

// herdMaxWaiters bounds W: each waiter is a locked OS thread, and the Go
// runtime stops the process at 10000 threads (runtime/debug.SetMaxThreads).
const herdMaxWaiters = 1024

func init() {
	Herd.Rows = herdRows(Herd)
	register(&Herd)
	Suites["herd"] = struct {
		Desc      string
		Workloads []string
		Params    map[string]int
	}{Desc: "many waiters: shared, replicated and sharded arrangements and their wake-up policies, W up to 8",
		Workloads: []string{"herd"}, Params: map[string]int{"waiters": 8}}
}

// herdDefault are the variants herd measures when --impl does not narrow:
// each backend's fd rows whose arrangements differ (epoll level and edge;
// kevent edge, whose first waker is always the first queue, and oneshot,
// whose fired kevent leaves the storage so the next queue is first; AIO
// reaped from its ring, and with io_getevents where several waiters
// share the context).
var herdDefault = []string{"epoll/lt", "epoll/et", "aioring/ring", "aioring/syscall", "iouring/plain-multishot",
	"kevent/syscall-fd", "kevent/syscall-fd-oneshot"}

// herdDefaultOnly narrows a default variant to one arrangement: the AIO
// context reaped with io_getevents is measured where the mmap'd ring
// cannot be, shared; its replicated and sharded rows would be
// aioring/ring's with another reaping path (--impl=aioring/syscall runs
// them).
var herdDefaultOnly = map[string]string{"aioring/syscall": "shared"}

// herdArr is one arrangement of W waiters; policy is the registration
// option it sets (epoll exclusive, kevent wakeup_all), if any.
type herdArr struct {
	name   string // the row's label
	kind   string // shared, replicated, sharded
	option string // "", epoll.ParamExclusive or kevent.ParamWakeupAll
	// maccept: each waiter's own io_uring ring accepts with one multishot
	// IORING_OP_ACCEPT on the listener (iouring.Acceptor) instead of
	// waiting for readiness and calling accept4 (the accept herd only).
	maccept bool
}

// herdArrangements lists what a backend is run in (accept: the accept
// herd's). shared needs a backend that lets several goroutines block on
// one instance (notify.SharedWaiter); the others need only instances.
func herdArrangements(backend string, accept bool) []herdArr {
	out := []herdArr{{name: "shared", kind: "shared"}, {name: "repl", kind: "replicated"}}
	switch backend {
	case "epoll":
		out = append(out, herdArr{name: "repl-excl", kind: "replicated", option: epoll.ParamExclusive})
	case "kevent":
		// WAKEUP_ALL on a shared queue: the patch's flag chooses among a
		// storage's kevents, one per queue, so the row shows it changes
		// nothing there (impls/kevent/waiters.go).
		out = append(out, herdArr{name: "shared-all", kind: "shared", option: kevent.ParamWakeupAll},
			herdArr{name: "repl-all", kind: "replicated", option: kevent.ParamWakeupAll})
	case "iouring":
		if accept {
			out = append(out, herdArr{name: "maccept", kind: "replicated", maccept: true})
		}
	}
	return append(out, herdArr{name: "shard", kind: "sharded"})
}

// herdWs are the W of the rows: 1, the powers of two below max, and max.
func herdWs(max int) []int {
	var ws []int
	for w := 1; w < max; w *= 2 {
		ws = append(ws, w)
	}
	return append(ws, max)
}

// herdRow is one row: a variant in an arrangement with W waiters.
type herdRow struct {
	wl     Workload // Herd or Accept
	v      notify.Variant
	arr    herdArr
	W      int
	S      int  // eventfds, or listening sockets (accept)
	accept bool // the accept herd's row
}

var herdUnits = append([]results.Unit{
	{Name: "events/s", Better: "higher"},
	{Name: "wasted/event", Better: "lower"},
	{Name: "empty/event", Better: "lower"},
	{Name: "stale/event", Better: "lower"},
	{Name: "copies/event", Better: "lower"},
	{Name: "csw/event", Better: "lower"},
	{Name: "waits/event", Better: "lower"},
	{Name: "fairness", Better: "higher"},
	{Name: "syscalls/event", Better: "lower"},
	{Name: "waiter-cpu-ns/event", Better: "lower"},
	{Name: "total-cpu-ns/event", Better: "lower"},
}, percentileUnits("", "")...)

// herdRows expands the variants into herd's or the accept herd's rows (wl
// says which): each variant in each arrangement at each W. The engine runs
// their trials in its shuffled rounds, as it runs any workload's.
func herdRows(wl Workload) func(cfg Config, variants []notify.Variant, narrowed bool) []Row {
	return func(cfg Config, variants []notify.Variant, narrowed bool) []Row {
		if !narrowed {
			var vs []notify.Variant
			for _, v := range variants {
				if slices.Contains(herdDefault, v.ID()) {
					vs = append(vs, v)
				}
			}
			variants = vs
		}
		accept := wl.Name == Accept.Name
		var rows []Row
		for _, v := range variants {
			for _, W := range herdWs(cfg.param(wl, "waiters")) {
				for _, a := range herdArrangements(v.Backend, accept) {
					if W == 1 && a.kind != "sharded" && !a.maccept {
						continue // one waiter: every readiness arrangement is the same
					}
					if only, ok := herdDefaultOnly[v.ID()]; ok && !narrowed && a.kind != only {
						continue
					}
					S := 0
					switch {
					case !accept:
						S = cfg.param(Herd, "sources")
					case a.kind == "sharded":
						S, a.name = W, "reuseport" // a listener per waiter
					default:
						S = 1 // the one listening socket
					}
					r := &herdRow{wl: wl, v: v, arr: a, W: W, S: S, accept: accept}
					rows = append(rows, Row{Name: v.Backend + "/" + r.name(), Run: func(ctx context.Context, cfg Config) results.Result {
						return herdTrial(ctx, r, cfg)
					}})
				}
			}
		}
		return rows
	}
}

// name is the row's variant label: the variant, the arrangement and W.
func (r *herdRow) name() string { return fmt.Sprintf("%s %s W%d", r.v.Name, r.arr.name, r.W) }

// result is the row as a trial reports it, its parameters recorded.
func (r *herdRow) result(cfg Config) results.Result {
	wl, v, a, W, S := r.wl, r.v, r.arr, r.W, r.S
	collectors := cfg.Collectors()
	res := results.Result{Workload: wl.Name, Backend: v.Backend, Variant: r.name(), Units: herdUnits}
	res.Params = cfg.baseParams(v)
	res.Params["wait"] = WaitBlock
	res.Params["arrangement"] = a.kind
	res.Params["waiters"] = strconv.Itoa(W)
	res.Params["sources"] = strconv.Itoa(S)
	res.Params["batch"] = strconv.Itoa(cfg.param(wl, "batch"))
	res.Params["interval_us"] = strconv.Itoa(cfg.param(wl, "interval_us"))
	var cs []string
	distinct := map[int]bool{}
	for w := 0; w < W && w < len(collectors); w++ {
		cs = append(cs, strconv.Itoa(collectors[w]))
		distinct[collectors[w]] = true
	}
	res.Params["collector_cpus"] = strings.Join(cs, ",")
	// The row says when waiters share CPUs (with each other or, on a
	// machine this small, with a producer).
	producers := cfg.Producers()
	shared := W > len(distinct)
	for c := range distinct {
		shared = shared || slices.Contains(producers, c)
	}
	res.Params["waiters_share_cpus"] = strconv.FormatBool(shared)
	if len(producers) > 1 {
		// Several producers (with one, the row is as it always was:
		// producer_cpu says where). Each fires its own share of the
		// sources (the accept herd: opens connections); the row says
		// when they share CPUs, with each other or with waiters.
		var ps []string
		pdistinct := map[int]bool{}
		pshared := false
		for _, c := range producers {
			ps = append(ps, strconv.Itoa(c))
			pdistinct[c] = true
			pshared = pshared || distinct[c]
		}
		res.Params["producers"] = strconv.Itoa(len(producers))
		res.Params["producer_cpus"] = strings.Join(ps, ",")
		res.Params["producers_share_cpus"] = strconv.FormatBool(pshared || len(producers) > len(pdistinct))
	}
	if a.option != "" {
		res.Params[a.option] = "1"
	}
	if r.accept {
		res.Units = append(slices.Clip(herdUnits), results.Unit{Name: "connect-resets", Better: "lower"})
		res.Params["listeners"] = strconv.Itoa(S)
		delete(res.Params, "sources")
		res.Params["accept_op"] = "accept4" // after readiness
		if a.maccept {
			res.Params["accept_op"] = "io_uring-multishot"
		}
	}
	return res
}

// herdTimeout bounds each Wait, so that a waiter no firing reaches (the
// queues behind kevent's first waker) still sees the end of a repetition.
// A Wait that returns nothing at its timeout is not a wasted wake-up (it
// is counted as a timeout); one that returns nothing sooner is.
const herdTimeout = 50 * time.Millisecond

// herdSrc is the S eventfds and what the producer and the waiters share
// about each: its credit (busy) and the firing's time (stamp).
type herdSrc struct {
	fds    []int
	busy   []paddedU32
	stamps []paddedI64
}

type paddedI64 struct {
	v atomic.Int64
	_ [56]byte
}

func newHerdSrc(S int) (*herdSrc, error) {
	if _, err := noFileBudget(S + 8); err != nil {
		return nil, fmt.Errorf("%d eventfd sources: %w", S, err)
	}
	s := &herdSrc{busy: make([]paddedU32, S), stamps: make([]paddedI64, S)}
	for i := 0; i < S; i++ {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("eventfd %d: %w", i, err)
		}
		s.fds = append(s.fds, fd)
	}
	return s, nil
}

func (s *herdSrc) close() {
	for _, fd := range s.fds {
		unix.Close(fd)
	}
	s.fds = nil
}

// herdState is one trial's, shared by the coordinator, the producer and
// the waiters.
type herdState struct {
	src  *herdSrc
	trig notify.Trigger
	stop atomic.Bool // end of the repetition: set by the coordinator, read by the waiters
	// started has a send from each waiter once it has cleared the last
	// repetition's leftovers: the producer starts after all of them, so
	// that no firing is mistaken for a leftover.
	started   chan struct{}
	collected atomic.Uint64 // firings taken by all waiters; added once per Wait that took any
	// seqs numbers the repetition's firings (connections) across its
	// producers: each takes the next with Add (zeroed by the coordinator
	// while they are idle). A line of its own: the producers' traffic.
	seqs paddedU64
	acc  *acceptSrc // the accept herd's connections (herd_accept.go); nil: eventfd firings
}

// herdWaiter is one waiting thread and its counts for a repetition, which
// the coordinator reads once the waiter has reported (the channel orders
// them).
type herdWaiter struct {
	id     int
	cpu    int
	n      notify.Notifier // the instance it registered with (its own, or the shared one)
	own    bool            // n is this waiter's to register, re-arm and close
	w      notify.Waiter
	srcs   []int // source indexes it registers (own instance)
	events []notify.Event
	buf    [8]byte               // its eventfd read buffer
	sa     unix.RawSockaddrInet4 // accept4's peer address (the accept herd)
	salen  uint32
	macc   *iouring.Acceptor // the maccept arrangement's ring (instead of n)
	accFDs []int             // what its Accept returns
	// turn is closed when the previous waiter has registered, setUp when
	// this one has: the waiters register one after the other, so every
	// source's registrations are in waiter order — kevent's first waker
	// (the first kevent on a storage) is waiter 0's for every source, not
	// whichever thread the scheduler ran first.
	turn, setUp chan struct{}

	led                             ledger
	hist                            *hdrhistogram.Histogram
	waits, reports, empty, allStale uint64
	stale, timeouts                 uint64
	last                            int64 // clock.Now of its last take
	usage                           rusage.Usage
	err                             error
}

// take reads source i's firing number; 0: another waiter took it (EAGAIN).
// A raw call for the reason sourceSet.take gives.
func (w *herdWaiter) take(fd int) uint64 {
	if _, e := rawsys.Syscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&w.buf[0])), 8); e != 0 {
		return 0
	}
	return binary.NativeEndian.Uint64(w.buf[:])
}

// rearm re-enables a oneshot source on the waiter's own instance.
func (w *herdWaiter) rearm(h *herdState, i int) {
	if h.trig == notify.Oneshot && w.own {
		if err := w.n.Modify(h.src.fds[i], uint64(i), notify.Readable, notify.Oneshot); err != nil {
			w.err = fmt.Errorf("waiter %d: re-arm source %d: %w", w.id, i, err)
		}
	}
}

// drain takes what the last repetition left before the meter starts:
// the Wakes the coordinator sent as it ended, stale copies, and what the
// repetition lost (its ledger counted it; an accept ring's leftovers are
// connections). A source a leftover reports is emptied (its firing read,
// its connections accepted and closed, their numbers cleared so that the
// producer closes their clients) and a oneshot one re-armed: a report
// drained is a delivery, after which the source would stay disarmed on
// this waiter's instance for the rest of the trial (a replicated
// instance that no longer sees the herd, a reuseport listener nobody
// accepts from). What it marks in the ledger the caller's reset clears.
func (w *herdWaiter) drain(h *herdState) {
	S := uint64(len(h.src.fds))
	for {
		var k int
		var err error
		if w.macc != nil {
			k, err = w.macc.Accept(w.accFDs, 0)
			for _, fd := range w.accFDs[:k] {
				w.accepted(h, fd)
			}
		} else {
			k, err = w.w.Wait(w.events, 0, 0)
			for _, e := range w.events[:max(k, 0)] {
				if e.Token >= S {
					continue // a Wake
				}
				i := int(e.Token)
				if h.acc != nil {
					w.accepts(h, h.src.fds[i])
				} else if w.take(h.src.fds[i]) != 0 {
					// Pairs with the producer's Load: the source may
					// fire again.
					h.src.busy[i].v.Store(0)
				}
				w.rearm(h, i)
			}
		}
		if err != nil || k == 0 {
			break
		}
	}
}

// rep collects until the coordinator says stop. It allocates nothing.
func (w *herdWaiter) rep(h *herdState, expect uint64) {
	w.err = nil
	w.drain(h) // a failed re-arm or accept4 is the repetition's error
	w.led.reset(expect)
	w.hist.Reset()
	w.waits, w.reports, w.empty, w.allStale, w.stale, w.timeouts, w.last = 0, 0, 0, 0, 0, 0, 0
	u0, _ := rusage.Thread()
	h.started <- struct{}{}
	S := uint64(len(h.src.fds))
	for w.err == nil && !h.stop.Load() {
		t0 := clock.Now()
		var k int
		var err error
		if w.macc != nil {
			k, err = w.macc.Accept(w.accFDs, herdTimeout)
		} else {
			k, err = w.w.Wait(w.events, 1, herdTimeout)
		}
		w.waits++
		if err != nil {
			w.err = fmt.Errorf("waiter %d: Wait: %w", w.id, err)
			break
		}
		if k == 0 {
			if h.stop.Load() {
				break // the coordinator's Wake
			}
			if clock.Now()-t0 < int64(herdTimeout) {
				w.empty++
			} else {
				w.timeouts++
			}
			continue
		}
		w.reports += uint64(k)
		took := uint64(0)
		if w.macc != nil {
			for _, fd := range w.accFDs[:k] {
				took += w.accepted(h, fd)
			}
			k = 0 // no readiness events
		}
		for _, e := range w.events[:k] {
			if e.Token >= S {
				w.led.dup++ // a token nobody registered
				continue
			}
			i := int(e.Token)
			if h.acc != nil {
				// A listener: accept what is queued (accepts, below).
				n := w.accepts(h, h.src.fds[i])
				if n == 0 {
					w.stale++
				}
				took += n
				w.rearm(h, i)
				continue
			}
			seq := w.take(h.src.fds[i])
			if seq == 0 {
				w.stale++
			} else {
				now := clock.Now()
				// Pairs with the producer's Store before its write: the
				// stamp is this firing's, since the source cannot fire
				// again before busy is cleared below.
				record(w.hist, now-h.src.stamps[i].v.Load())
				w.led.mark(seq)
				w.last = now
				took++
			}
			w.rearm(h, i)
			if seq != 0 {
				// Pairs with the producer's Load: the firing is taken.
				h.src.busy[i].v.Store(0)
			}
		}
		if took == 0 {
			w.allStale++
		} else {
			h.collected.Add(took)
		}
		if w.err != nil {
			break
		}
	}
	u1, _ := rusage.Thread()
	w.usage = u1.Sub(u0)
}

// herdProd is one producer thread of a trial: its CPU, the sources it
// fires (its share: source i is producer i mod P's, so that each source
// has one producer and at most one firing outstanding), and what it
// fired in the last repetition, which the coordinator reads once the
// producer has reported (the channel orders them).
type herdProd struct {
	id, cpu int
	share   []int // source indexes (herd; the accept herd's producers share the port)
	orders  chan time.Duration
	reports chan repReport
	// fired is a bitmap by source index of the sources it fired in the
	// last repetition (herd): the coordinator checks that no source had
	// two producers.
	fired []uint64
}

// herdProds makes the trial's producers, one per entry of
// cfg.Producers(), and splits S sources between them round-robin (S 0:
// no sources to split, the accept herd).
func herdProds(cfg Config, S int) []*herdProd {
	cpus := cfg.Producers()
	prods := make([]*herdProd, len(cpus))
	for p, c := range cpus {
		pr := &herdProd{id: p, cpu: c, orders: make(chan time.Duration), reports: make(chan repReport, 1)}
		for i := p; i < S; i += len(cpus) {
			pr.share = append(pr.share, i)
		}
		if S > 0 {
			pr.fired = make([]uint64, S/64+1)
		}
		prods[p] = pr
	}
	return prods
}

// herdProducer fires its share of the sources for each order's duration:
// with interval 0, every source of its share whose last firing was taken,
// over and over; otherwise one firing to the next source of its share
// whose last firing was taken (none free: none), then a sleep of interval.
// Each firing takes the next number from seqs, which every producer of
// the trial shares (the ledger wants 1..generated), and is stamped first.
func herdProducer(p *herdProd, src *herdSrc, seqs *atomic.Uint64, interval time.Duration, stop *atomic.Bool) {
	unpin, ok := pinProducer(p.cpu, fmt.Sprintf("producer %d", p.id), p.orders, p.reports, func(err error) repReport { return repReport{err: err} })
	if !ok {
		return
	}
	defer unpin()
	var buf [8]byte
	share := p.share
	S := len(share)
	ts := unix.NsecToTimespec(int64(interval))
	for d := range p.orders {
		before, _ := rusage.Thread()
		clear(p.fired)
		var n uint64 // firings of this producer
		var ferr error
		fire := func(i int) bool {
			// Pairs with the waiter's Store(0) once it has taken the
			// firing: at most one outstanding per source (and the
			// source is this producer's alone).
			if src.busy[i].v.Load() != 0 {
				return false
			}
			src.busy[i].v.Store(1)
			// Pairs with the other producers' Adds: each number once.
			seq := seqs.Add(1)
			n++
			p.fired[i/64] |= 1 << (i % 64)
			src.stamps[i].v.Store(clock.Now())
			binary.NativeEndian.PutUint64(buf[:], seq)
			if _, e := rawsys.Syscall(unix.SYS_WRITE, uintptr(src.fds[i]), uintptr(unsafe.Pointer(&buf[0])), 8); e != 0 {
				ferr = fmt.Errorf("producer %d: fire source %d: %w", p.id, i, e)
			}
			return true
		}
		if S == 0 {
			ferr = fmt.Errorf("producer %d has no sources to fire", p.id) // herdTrial refuses fewer sources than producers
		}
		deadline := clock.Now() + int64(d)
		next := 0
		for ferr == nil && clock.Now() < deadline && !stop.Load() {
			if interval > 0 {
				for k := 0; k < S && !fire(share[next]); k++ {
					next = (next + 1) % S
				}
				next = (next + 1) % S
				// A sleep after each firing, never a burst to catch up
				// (a late timer would fire several at once, and the
				// waiters would find them together): the rate is what
				// the rows' events/s says. nanosleep on the locked
				// thread, not time.Sleep: the runtime's timers are
				// coarser than the interval on a busy machine.
				unix.Nanosleep(&ts, nil)
				continue
			}
			fired := false
			for k := 0; k < S && ferr == nil; k++ {
				fired = fire(share[k]) || fired
			}
			if !fired {
				yield() // every source outstanding: let a waiter on this CPU run
			}
		}
		after, _ := rusage.Thread()
		p.reports <- repReport{generated: n, usage: after.Sub(before), err: ferr}
	}
}

// keventPath is the collection path of a kevent variant, from its name.
func keventPath(name string) (kevent.Path, bool) {
	for _, p := range []kevent.Path{kevent.PathSyscall, kevent.PathTake29, kevent.PathZach} {
		if strings.HasPrefix(name, p.String()+"-") {
			return p, true
		}
	}
	return 0, false
}

// herdTrial runs one trial of a row from scratch: sources, instances and
// waiters set up, a warm-up and the metered repetitions (the engine asks
// for one), everything torn down. It returns the row with its samples, or
// its verdict.
func herdTrial(ctx context.Context, r *herdRow, cfg Config) results.Result {
	res := r.result(cfg)
	W, v, S, batch := r.W, r.v, r.S, cfg.param(r.wl, "batch")
	switch {
	case v.Sources != notify.SourceFD:
		return notApplicable(res, "herd's sources are fds (eventfds, listening sockets) that several instances watch; this variant registers user sources (see its fd row)")
	case r.arr.kind == "sharded" && S < W:
		return notApplicable(res, fmt.Sprintf("sharded needs a source per waiter: sources=%d < waiters=%d", S, W))
	case !r.accept && S < len(cfg.Producers()):
		return notApplicable(res, fmt.Sprintf("each producer fires sources of its own: sources=%d < producers=%d", S, len(cfg.Producers())))
	case r.arr.maccept && !strings.HasPrefix(v.Name, iouring.Plain.String()+"-"):
		return notApplicable(res, "the multishot accept rings are plain (no task-running flags): see the plain variants' maccept rows")
	}
	var src *herdSrc
	var acc *acceptSrc
	var err error
	if r.accept {
		acc, err = newAcceptSrc(S, r.arr.kind == "sharded")
		if err == nil {
			src = &acc.herdSrc
		}
	} else {
		src, err = newHerdSrc(S)
	}
	if err != nil {
		return fail(res, err)
	}
	defer src.close()
	h := &herdState{src: src, trig: v.Trigger, started: make(chan struct{}, W), acc: acc}

	opts := cfg.options(v, S)
	if r.arr.option != "" {
		opts.Params[r.arr.option] = 1
	}
	var kern *kevent.Kernel
	var kpath kevent.Path
	if v.Backend == "kevent" {
		var ok bool
		if kpath, ok = keventPath(v.Name); !ok {
			return fail(res, fmt.Errorf("kevent variant %s: no collection path in its name", v.Name))
		}
		// Every arrangement opens its queues in one Kernel: one hook
		// thread, and the fd storages the replicated queues share.
		kern = kevent.NewKernel(cfg.HelperCPU)
		defer kern.Close() // after the queues (deferred later, run sooner)
	}
	open := func() (notify.Notifier, error) {
		switch {
		case kern != nil && kpath == kevent.PathSyscall:
			// kevent_get_events: several threads may sleep on one queue.
			s, err := kern.OpenShared(opts)
			if err != nil {
				return nil, err
			}
			return s, nil
		case kern != nil:
			return kern.Open(kpath, opts)
		}
		return v.Open(opts)
	}
	collectors := cfg.Collectors()

	var shared notify.Notifier
	if r.arr.kind == "shared" {
		n, verdict := herdOpenShared(res, open, v, src, collectors[0])
		if verdict != nil {
			return *verdict
		}
		shared = n
		defer shared.Close()
	}

	// The waiters: each pins itself, opens and registers its instance
	// there (io_uring's SINGLE_ISSUER binds a ring to its creator), and
	// then runs the repetitions it is ordered to.
	waiters := make([]*herdWaiter, W)
	orders := make([]chan uint64, W)
	done := make(chan *herdWaiter, W)
	ready := make(chan error, W)
	var turn chan struct{}
	for i := range waiters {
		w := &herdWaiter{id: i, cpu: collectors[i%len(collectors)], events: make([]notify.Event, batch), hist: newHist(),
			turn: turn, setUp: make(chan struct{})}
		turn = w.setUp
		switch {
		case r.arr.maccept:
			w.accFDs = make([]int, batch) // its Acceptor opens on its thread
		case r.arr.kind == "shared":
			w.n, w.w = shared, shared.(notify.SharedWaiter).NewWaiter()
		case r.arr.kind == "replicated":
			w.own = true
			for s := 0; s < S; s++ {
				w.srcs = append(w.srcs, s)
			}
		case r.arr.kind == "sharded":
			w.own = true
			for s := i; s < S; s += W {
				w.srcs = append(w.srcs, s)
			}
		}
		waiters[i], orders[i] = w, make(chan uint64)
		go w.thread(open, v, h, orders[i], ready, done)
	}
	var openErr error
	for range waiters {
		if err := <-ready; err != nil && openErr == nil {
			openErr = err
		}
	}
	defer func() {
		for _, o := range orders {
			close(o)
		}
		for range waiters {
			<-done // closed its instance
		}
	}()
	if openErr != nil {
		return naSkipOrFail(res, openErr)
	}
	var insts []herdInst
	switch {
	case shared != nil:
		insts = []herdInst{shared}
	case r.arr.maccept:
		for _, w := range waiters {
			insts = append(insts, w.macc)
		}
	default:
		for _, w := range waiters {
			insts = append(insts, w.n)
		}
	}
	if n, ok := insts[0].(notify.Notifier); ok {
		noteEmulated(res.Params, n)
	}

	split := S
	if r.accept {
		split = 0 // every producer connects to the listeners' port
	}
	prods := herdProds(cfg, split)
	var prodStop atomic.Bool
	for _, p := range prods {
		if acc != nil {
			go acceptProducer(p, acc, &h.seqs.v, time.Duration(cfg.param(Accept, "interval_us"))*time.Microsecond, &prodStop)
		} else {
			go herdProducer(p, src, &h.seqs.v, time.Duration(cfg.param(Herd, "interval_us"))*time.Microsecond, &prodStop)
		}
	}
	defer func() {
		for _, p := range prods {
			close(p.orders)
		}
	}()

	// Half-length repetitions: the producer paces the firings (interval_us),
	// so a repetition's count is set by its length, not by the mechanism,
	// and 30 ms give ~160 firings at the default pace; herd stays in the
	// default suite's budget that way (README).
	loop := repLoop{stop: &prodStop, failWarmup: true, half: true}
	if !loop.run(ctx, cfg, &res, func(_ int, d time.Duration) (results.Sample, bool, error) {
		s, err := herdRep(h, d, waiters, orders, done, insts, kern, prods)
		return s, s.Lost == 0 && s.Dup == 0, err
	}) {
		return res
	}
	return finish(res)
}

// herdNoShare says why a backend's instance has one waiter.
var herdNoShare = map[string]string{
	"aioring": "the mmap'd completion ring is reaped by one thread, without a lock (aioring/syscall shares its context)",
	// io_uring's plain rings are shared (iouring.Shared); the others are not.
	"iouring/coop":   "a coop ring (SINGLE_ISSUER|DEFER_TASKRUN) takes io_uring_enter from its creator only (iouring/plain-multishot shares its ring)",
	"iouring/sqpoll": "kbench shares plain rings only: an SQPOLL ring's submissions are its kernel thread's (iouring/plain-multishot shares its ring)",
	// kevent's syscall path is shared (kevent.Shared); its rings are not.
	"kevent/take29": "take29's ring has one user index (kevent_commit's), read without a lock (kevent/syscall-fd shares its queue)",
	"kevent/zach":   "Zach's ring has one consumer index, read without a lock (kevent/syscall-fd shares its queue)",
}

// herdOpenShared opens the one instance all waiters block on and
// registers every source, or returns the row's verdict: n/a for a backend
// that allows one waiter per instance, and for oneshot sources, whose
// re-arm (Modify) is the instance owner's, not a Waiter's.
func herdOpenShared(res results.Result, open func() (notify.Notifier, error), v notify.Variant, src *herdSrc, cpuID int) (notify.Notifier, *results.Result) {
	unpin, err := cpu.Pin(cpuID)
	if err != nil {
		r := skip(res, fmt.Errorf("pin collector: %w", err))
		return nil, &r
	}
	defer unpin()
	n, err := open()
	if err != nil {
		r := skipOrFail(res, fmt.Errorf("open %s: %w", v.ID(), err))
		return nil, &r
	}
	if _, ok := n.(notify.SharedWaiter); !ok {
		n.Close()
		why, ok := herdNoShare[v.Backend+"/"+strings.SplitN(v.Name, "-", 2)[0]]
		if !ok {
			why = herdNoShare[v.Backend]
		}
		if why == "" {
			why = "one waiter per instance"
		}
		r := notApplicable(res, v.Backend+": "+why+" (no notify.SharedWaiter); its several-waiter rows are replicated and sharded")
		return nil, &r
	}
	if v.Trigger == notify.Oneshot {
		n.Close()
		r := notApplicable(res, "oneshot sources on a shared instance: the re-arm (Modify) is the instance owner's, not any waiter's")
		return nil, &r
	}
	for i, fd := range src.fds {
		if err := n.Add(fd, uint64(i), notify.Readable, v.Trigger); err != nil {
			n.Close()
			r := fail(res, fmt.Errorf("register eventfd %d: %w", i, err))
			return nil, &r
		}
	}
	return n, nil
}

// thread is a waiter's locked OS thread for the trial.
// It answers on done once per order (the repetition's counts are then
// the coordinator's to read) and once more when it has closed its
// instance, after orders closes. A waiter whose setup failed answers
// every order with that error.
func (w *herdWaiter) thread(open func() (notify.Notifier, error), v notify.Variant, h *herdState, orders <-chan uint64, ready chan<- error, done chan<- *herdWaiter) {
	defer func() { done <- w }()
	if w.turn != nil {
		<-w.turn
	}
	var undo []func()
	defer func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}()
	err := w.setUpOn(open, v, h, &undo)
	close(w.setUp) // the next waiter registers now, whether or not this one could
	ready <- err
	for expect := range orders {
		if err != nil {
			w.err = err
		} else {
			w.rep(h, expect)
		}
		done <- w
	}
}

// setUpOn pins the waiter's thread and opens what it waits on (its
// multishot accept ring, or its own instance with its sources), adding
// each step's undoing to undo.
func (w *herdWaiter) setUpOn(open func() (notify.Notifier, error), v notify.Variant, h *herdState, undo *[]func()) error {
	unpin, err := cpu.Pin(w.cpu)
	if err != nil {
		return fmt.Errorf("pin waiter %d: %w", w.id, err)
	}
	*undo = append(*undo, unpin)
	if w.accFDs != nil {
		a, err := iouring.NewAcceptor(h.src.fds[0])
		if err != nil {
			return fmt.Errorf("waiter %d: %w", w.id, err)
		}
		w.macc = a
		*undo = append(*undo, func() { a.Close() })
	}
	if w.own {
		if err := w.openOwn(open, v, h.src); err != nil {
			return err
		}
		*undo = append(*undo, func() { w.n.Close() })
		w.w = w.n
	}
	return nil
}

// openOwn opens the waiter's instance on its thread and registers its
// sources.
func (w *herdWaiter) openOwn(open func() (notify.Notifier, error), v notify.Variant, src *herdSrc) error {
	n, err := open()
	if err != nil {
		return fmt.Errorf("open %s for waiter %d: %w", v.ID(), w.id, err)
	}
	if !n.Caps().Triggers.Has(v.Trigger) {
		n.Close()
		return fmt.Errorf("backend does not support trigger %v: %w", v.Trigger, errors.ErrUnsupported)
	}
	for _, i := range w.srcs {
		if err := n.Add(src.fds[i], uint64(i), notify.Readable, v.Trigger); err != nil {
			n.Close()
			return fmt.Errorf("waiter %d: register eventfd %d: %w", w.id, i, err)
		}
	}
	w.n = n
	return nil
}

// herdRep runs one repetition: every waiter starts collecting, the
// producer fires for d, and once everything it fired is taken (or nothing
// more has been for repGrace) the waiters stop and report.
func herdRep(h *herdState, d time.Duration, waiters []*herdWaiter, orders []chan uint64, done <-chan *herdWaiter,
	insts []herdInst, kern *kevent.Kernel, prods []*herdProd) (results.Sample, error) {
	h.stop.Store(false)
	h.collected.Store(0)
	h.seqs.v.Store(0) // the producers are idle between repetitions
	expect := uint64(d.Seconds()*20e6) + 1024
	for _, o := range orders {
		o <- expect
	}
	for range waiters {
		<-h.started
	}
	sys0 := herdSyscalls(insts)
	var hook0 rusage.Usage
	if kern != nil {
		hook0 = kern.HookUsage()
	}
	start := clock.Now()
	for _, p := range prods {
		p.orders <- d
	}
	rep, fired := herdProdReports(prods)
	last, lastProgress := h.collected.Load(), clock.Now()
	for rep.err == nil && last < rep.generated {
		time.Sleep(200 * time.Microsecond)
		if c := h.collected.Load(); c != last {
			last, lastProgress = c, clock.Now()
		} else if time.Duration(clock.Now()-lastProgress) > repGrace {
			break // the rest is lost
		}
	}
	h.stop.Store(true)
	wake := func() {
		for _, n := range insts {
			if wk, ok := n.(interface{ Wake() error }); ok {
				wk.Wake()
			}
		}
	}
	// A Wake returns one waiter of a shared instance (WakeOne), so the
	// instances are woken again each millisecond until every waiter has
	// reported; one no Wake reaches sees stop at its timeout anyway. What
	// is left over goes before the next repetition's meter starts.
	wake()
	tick := time.NewTicker(time.Millisecond)
	for left := len(waiters); left > 0; {
		select {
		case <-done:
			left--
		case <-tick.C:
			wake()
		}
	}
	tick.Stop()
	if rep.err != nil {
		return results.Sample{}, rep.err
	}
	sys := herdSyscalls(insts).Sub(sys0)

	var led ledger
	led.reset(rep.generated)
	hist := newHist()
	var s results.Sample
	var empty, allStale, stale, reports, waits uint64
	minTook, maxTook := ^uint64(0), uint64(0)
	end := start
	for _, w := range waiters {
		if w.err != nil {
			return results.Sample{}, w.err
		}
		minTook, maxTook = min(minTook, w.led.distinct), max(maxTook, w.led.distinct)
		led.absorb(&w.led)
		if err := mergeHist(hist, w.hist); err != nil {
			return results.Sample{}, err
		}
		empty, allStale, stale, reports, waits = empty+w.empty, allStale+w.allStale, stale+w.stale, reports+w.reports, waits+w.waits
		s.Consumer = s.Consumer.Add(w.usage)
		end = max(end, w.last)
	}
	lost, dup := led.settle(rep.generated)
	s.Generated, s.Collected, s.Lost, s.Dup = rep.generated, led.distinct, lost, dup
	s.Producer = rep.usage
	s.Syscalls = sys.Map()
	s.Values = map[string]float64{}
	total := s.Consumer.CPUNs() + s.Producer.CPUNs()
	if kern != nil {
		hu := kern.HookUsage().Sub(hook0)
		s.Helper = &hu
		total += hu.CPUNs()
	}
	ev := float64(max(led.distinct, 1))
	if end > start {
		s.Values["events/s"] = float64(led.distinct) / time.Duration(end-start).Seconds()
	}
	s.Values["wasted/event"] = float64(empty+allStale) / ev
	s.Values["empty/event"] = float64(empty) / ev
	s.Values["stale/event"] = float64(stale) / ev
	s.Values["copies/event"] = float64(reports) / ev
	s.Values["csw/event"] = float64(s.Consumer.Nvcsw) / ev
	s.Values["waits/event"] = float64(waits) / ev
	if maxTook > 0 {
		s.Values["fairness"] = float64(minTook) / float64(maxTook)
	}
	s.Values["syscalls/event"] = float64(sys.Collector()) / ev
	s.Values["waiter-cpu-ns/event"] = float64(s.Consumer.CPUNs()) / ev
	s.Values["total-cpu-ns/event"] = float64(total) / ev
	putPercentiles(s.Values, hist, "", "")
	if hist.TotalCount() > 0 {
		enc, err := encodeHist(hist)
		if err != nil {
			return results.Sample{}, err
		}
		s.Histograms = map[string]string{"latency-ns": enc} // fire (or connect) to take
	}
	if h.acc != nil {
		s.Values["connect-resets"] = float64(h.acc.resets.Swap(0))
	}
	if len(prods) > 1 {
		for p, n := range fired {
			s.Values[fmt.Sprintf("fired-p%d", p)] = float64(n)
		}
	}
	return s, nil
}

// herdProdReports waits for every producer's report of a repetition and
// sums them: what they fired (each producer's count in fired), the CPU
// they used, the first error. A source fired by two producers is an
// error: their firings could have met in its counter (herdProds splits
// the sources).
func herdProdReports(prods []*herdProd) (sum repReport, fired []uint64) {
	fired = make([]uint64, len(prods))
	var seen []uint64
	for i, p := range prods {
		r := <-p.reports
		fired[i] = r.generated
		sum.generated += r.generated
		sum.usage = sum.usage.Add(r.usage)
		if sum.err == nil {
			sum.err = r.err
		}
		if seen == nil {
			seen = make([]uint64, len(p.fired))
		}
		for w, word := range p.fired {
			if both := seen[w] & word; both != 0 && sum.err == nil {
				sum.err = fmt.Errorf("producer %d fired source %d, another producer's", p.id, w*64+bits.TrailingZeros64(both))
			}
			seen[w] |= word
		}
	}
	return sum, fired
}

// herdInst is what the coordinator reads of an instance: a Notifier, or a
// waiter's multishot accept ring.
type herdInst interface{ Syscalls() notify.SyscallCounts }

// herdSyscalls sums the instances' counters.
func herdSyscalls(insts []herdInst) notify.SyscallCounts {
	var sum notify.SyscallCounts
	for _, n := range insts {
		c := n.Syscalls()
		for k := range sum {
			sum[k] += c[k]
		}
	}
	return sum
}
