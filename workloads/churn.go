package workloads

import (
	"context"
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

// Churn: registrations change under a running event stream. Every backend
// that keeps readiness somewhere the registration does not (epoll's ready
// list, a posted CQE, a filled AIO or kevent ring slot) must drop what
// belongs to a removed or replaced registration, and must not lose what
// belongs to the current one.
var Churn = Workload{
	Name:  "churn",
	Order: 60,
	Desc: "sources fire while the collector re-arms them, gives them new tokens (Modify) and removes and re-adds them: control operations/s and their cost, " +
		"no lost firing, no stale event; repetitions of duration/2",
	Params: []Param{
		{Name: "sources", Default: 64, Quick: 16, Min: 1, Max: 65536, Help: "registered sources, each with at most one firing outstanding"},
		{Name: "ctl_every", Default: 1, Quick: 1, Min: 1, Max: 1_000_000, Help: "one churn operation per this many collected events, alternately Modify with a new token and Remove+Add"},
		{Name: "ctl_batch", Default: 64, Quick: 64, Min: 1, Max: churnBatch, Help: "oneshot fd re-arms of one collected batch per control call for backends that take arrays (notify.Batcher: kevent_ctl); 1 is one call per re-arm, as the others always make"},
	},
}

func init() {
	Churn.Run = runChurn
	register(&Churn)
}

var churnUnits = []results.Unit{
	{Name: "ctl/s", Better: "higher"},          // control operations per second of the run
	{Name: "ctl-ns/op", Better: "lower"},       // wall time inside control operations, per operation
	{Name: "ctl-syscalls/op", Better: "lower"}, // ctl and submit system calls per operation
	{Name: "events/s", Better: "higher"},       // collected events per second
	{Name: "syscalls/event", Better: "lower"},  // every collector system call, ctl included
	{Name: "consumer-cpu-ns/event", Better: "lower"},
	{Name: "stale", Better: "lower"}, // must be 0
}

// churnBatch is the events slice passed to Wait.
const churnBatch = 64

// A source's state word (sourceSet.busy). The producer fires only a free
// source; the collector removes only a source it has claimed, so a user
// source's id never changes under Fire, and a claimed pending source's
// firing is certainly written when the collector drains it.
//
// Churn must not hide a loss: a Remove drains the pending firing, and a
// Modify makes epoll (and others) re-check readiness, so either would
// repair a backend that dropped an event. The collector therefore touches a
// pending source only while its firing is fresh — announced after the last
// Wait returned, so that Wait could not have reported it. A firing older
// than that is the backend's to report, and it is lost if it never is.
const (
	churnFree    = 0 // no firing outstanding
	churnFiring  = 1 // the producer is writing a firing
	churnPending = 2 // fired, not yet collected
	churnOwned   = 3 // claimed by the collector for Remove+Add
)

// Tokens carry the registration's generation above the source index, so an
// event names the registration it came from.
func churnToken(gen uint32, i int) uint64 { return uint64(gen)<<32 | uint64(uint32(i)) }

func runChurn(ctx context.Context, v notify.Variant, cfg Config) results.Result {
	S, every := cfg.param(Churn, "sources"), cfg.param(Churn, "ctl_every")
	res := results.Result{Workload: "churn", Backend: v.Backend, Variant: v.Name, Units: churnUnits}
	res.Params = cfg.baseParams(v)
	res.Params["sources"] = strconv.Itoa(S)
	res.Params["ctl_every"] = strconv.Itoa(every)
	res.Params["ctl_batch"] = strconv.Itoa(cfg.param(Churn, "ctl_batch"))
	res.Params["batch"] = strconv.Itoa(churnBatch)
	if S < 1 || every < 1 {
		return fail(res, fmt.Errorf("sources %d and ctl_every %d must both be at least 1", S, every))
	}
	if b := cfg.param(Churn, "ctl_batch"); b < 1 || b > churnBatch {
		return fail(res, fmt.Errorf("ctl_batch %d outside [1, %d]", b, churnBatch))
	}
	out := make(chan results.Result, 1)
	go func() { out <- churnConsumer(ctx, v, cfg, S, every, res) }()
	return <-out
}

func churnConsumer(ctx context.Context, v notify.Variant, cfg Config, S, every int, res results.Result) results.Result {
	unpin, err := cpu.Pin(cfg.ConsumerCPU)
	if err != nil {
		return skip(res, fmt.Errorf("pin consumer: %w", err))
	}
	defer unpin()
	n, err := openForSources(v, cfg.options(v, S))
	if na, ok := err.(naReason); ok {
		res = notApplicable(res, string(na))
		return res
	}
	if err != nil {
		return skipOrFail(res, err)
	}
	defer n.Close()
	noteEmulated(res.Params, n)
	src, err := newSourceSet(n, v, S) // tokens 0..S-1: generation 0
	if err != nil {
		if na, ok := naOr(err).(naReason); ok {
			res = notApplicable(res, string(na))
			return res
		}
		return fail(res, err)
	}
	defer src.close()

	orders := make(chan repOrder)
	reports := make(chan repReport, 1) // buffered: the producer reports, then wakes a sleeping consumer
	var stop atomic.Bool
	sh := &churnShared{fired: make([]paddedU64, S)}
	go churnProducer(cfg.ProducerCPU, src, sh, n, orders, reports, &stop)
	defer close(orders)

	c := newChurnCollector(n, src, sh, v.Trigger, cfg.Wait, every)
	c.cb = newCtlBatcher(n, cfg.param(Churn, "ctl_batch"))
	hasHook := notify.HasHelper(n)
	var stale uint64
	loop := repLoop{half: true, stop: &stop}
	if !loop.run(ctx, cfg, &res, func(_ int, d time.Duration) (results.Sample, bool, error) {
		s, err := c.rep(d, orders, reports, hasHook)
		stale += c.stale
		return s, s.Lost == 0 && s.Dup == 0 && c.stale == 0, err
	}) {
		return res
	}
	var broken []string
	if stale > 0 {
		broken = append(broken, fmt.Sprintf("%d stale events (tokens of removed or replaced registrations)", stale))
	}
	if _, _, lost, dup := res.Totals(); lost != 0 || dup != 0 {
		broken = append(broken, fmt.Sprintf("exactly-once violated: %d lost, %d duplicated", lost, dup))
	}
	if len(broken) > 0 {
		res.Status, res.Reason = results.StatusFailed, strings.Join(broken, "; ")
		return res
	}
	return finish(res)
}

// churnShared is what the producer announces before each firing.
type churnShared struct {
	last  atomic.Uint64 // the newest firing number announced
	fired []paddedU64   // per source: its newest firing's number
}

// churnProducer fires every free source, over and over, until the order's
// duration has passed: as faninProducer, but claiming a source with a
// compare-and-swap, because the collector claims sources too, and
// announcing each firing before writing it.
func churnProducer(cpuID int, src *sourceSet, sh *churnShared, n notify.Notifier, orders <-chan repOrder, reports chan<- repReport, stop *atomic.Bool) {
	S := len(src.busy)
	producerLoop(cpuID, n, orders, reports, stop, func(seq *uint64) (bool, error) {
		fired := false
		for i := 0; i < S; i++ {
			b := &src.busy[i].v
			// Pairs with the collector's Store(churnFree) after it took a
			// firing or re-added the source (which also publishes a user
			// source's new id), and with its CompareAndSwap claiming the
			// source: only one side wins a free source.
			if b.Load() != churnFree || !b.CompareAndSwap(churnFree, churnFiring) {
				continue
			}
			*seq++
			// Announce before writing (pairs with the collector's Load of
			// last after each Wait): a firing announced after that Load
			// was written after the Wait returned.
			sh.fired[i].v.Store(*seq)
			sh.last.Store(*seq)
			if err := src.fire(i, *seq); err != nil {
				return fired, fmt.Errorf("fire source %d: %w", i, err)
			}
			// Publishes "written" to the collector's claim (pairs with its
			// CompareAndSwap(churnPending, churnOwned)); fails, harmlessly,
			// when the collector already took the firing and freed it.
			b.CompareAndSwap(churnFiring, churnPending)
			fired = true
		}
		return fired, nil
	})
}

type churnDone struct {
	i    int32
	took bool // a firing was taken: the source goes back to the producer
}

type churnCollector struct {
	cb     *ctlBatcher // the batch's oneshot re-arms
	n      notify.Notifier
	src    *sourceSet
	sh     *churnShared
	trig   notify.Trigger
	wait   string
	every  int
	events []notify.Event
	gen    []uint32    // current registration generation per source
	done   []churnDone // this batch's sources, re-armed and freed after it
	led    ledger
	snap   uint64 // sh.last when the last Wait returned

	since          int // collected events since the last churn operation
	modCur, remCur int // where retoken and readd look next
	step           uint64
	// per repetition
	ops, drained, stale uint64
	ctlNs               int64
}

func newChurnCollector(n notify.Notifier, src *sourceSet, sh *churnShared, trig notify.Trigger, wait string, every int) *churnCollector {
	S := len(src.busy)
	return &churnCollector{cb: newCtlBatcher(n, 1), n: n, src: src, sh: sh, trig: trig, wait: wait, every: every,
		events: make([]notify.Event, churnBatch), gen: make([]uint32, S), done: make([]churnDone, 0, churnBatch)}
}

func (c *churnCollector) rep(d time.Duration, orders chan<- repOrder, reports <-chan repReport, hasHook bool) (results.Sample, error) {
	c.led.reset(uint64(d.Seconds()*20e6) + 1024)
	c.src.reads = 0
	c.ops, c.drained, c.stale, c.ctlNs = 0, 0, 0, 0
	meter, err := startMeter(c.n, hasHook)
	if err != nil {
		return results.Sample{}, err
	}
	start := clock.Now()
	orders <- repOrder{duration: d}
	drv := repDriver{lastProgress: start}
	for {
		if err := drv.poll(reports); err != nil {
			return results.Sample{}, err
		}
		if drv.done(c.led.distinct) {
			break
		}
		before := c.led.distinct
		if _, err := c.collect(drv.timeout(c.wait)); err != nil {
			return results.Sample{}, err
		}
		if c.led.distinct == before {
			if drv.idle() {
				break
			}
			continue
		}
		drv.progress()
	}
	s, sys := meter.sample(&c.led, drv.report.generated, drv.report.usage)
	ev := float64(max(c.led.distinct, 1))
	ops := float64(max(c.ops, 1))
	elapsed := time.Duration(max(drv.lastProgress-start, 1)).Seconds()
	s.Values["ctl/s"] = float64(c.ops) / elapsed
	s.Values["ctl-ns/op"] = float64(c.ctlNs) / ops
	s.Values["ctl-syscalls/op"] = float64(sys[notify.CallCtl]+sys[notify.CallSubmit]) / ops
	s.Values["events/s"] = float64(c.led.distinct) / elapsed
	s.Values["syscalls/event"] = float64(sys.Collector()) / ev
	s.Values["consumer-cpu-ns/event"] = float64(s.Consumer.CPUNs()) / ev
	s.Values["stale"] = float64(c.stale)
	s.Values["drained"] = float64(c.drained) // firings taken from sources at Remove
	s.Values["spurious/event"] = float64(c.led.spurious) / ev
	return s, nil
}

// collect is the hot loop's body: one Wait; each event checked against its
// source's current generation and its firing taken; then, timed together,
// the batch's oneshot re-arms and the churn operations due. It allocates
// nothing.
func (c *churnCollector) collect(timeout time.Duration) (int, error) {
	k, err := c.n.Wait(c.events, 1, timeout)
	if err != nil {
		return 0, fmt.Errorf("Wait: %w", err)
	}
	// Pairs with the producer's Store(seq) before each write.
	c.snap = c.sh.last.Load()
	c.done = c.done[:0]
	for _, e := range c.events[:k] {
		i := int(uint32(e.Token))
		if i >= len(c.gen) || uint32(e.Token>>32) != c.gen[i] {
			c.stale++
			continue
		}
		seq := c.src.take(i)
		c.led.mark(seq)
		c.done = append(c.done, churnDone{i: int32(i), took: seq != 0})
		c.since++
	}
	if len(c.done) == 0 {
		return k, nil
	}
	t0 := clock.Now()
	if c.trig == notify.Oneshot {
		for _, d := range c.done {
			if err := c.rearm(int(d.i)); err != nil {
				return k, fmt.Errorf("re-arm source %d: %w", d.i, err)
			}
		}
		if err := c.cb.flush(); err != nil {
			return k, fmt.Errorf("re-arm sources: %w", err)
		}
	}
	for _, d := range c.done {
		i := int(d.i)
		// A notification with nothing to take leaves the source with the
		// producer: its firing is on the way and will be reported.
		if d.took {
			// Pairs with the producer's CompareAndSwap(churnFree, churnFiring).
			c.src.busy[i].v.Store(churnFree)
		}
	}
	for ; c.since >= c.every; c.since -= c.every {
		c.step++
		if c.step%2 == 1 {
			err = c.retoken()
		} else {
			err = c.readd()
		}
		if err != nil {
			return k, err
		}
	}
	c.ctlNs += clock.Now() - t0
	return k, nil
}

func (c *churnCollector) next(cur *int) int {
	*cur++
	if *cur >= len(c.gen) {
		*cur = 0
	}
	return *cur
}

// owed: the source's firing may have been written before the last Wait
// returned, so reporting it is the backend's job, and the collector leaves
// the source alone (see the state constants).
func (c *churnCollector) owed(i int, st uint32) bool {
	// Pairs with the producer's Store before the write; while the state is
	// firing or pending the number does not change.
	return st != churnFree && c.sh.fired[i].v.Load() <= c.snap
}

// modify re-registers source i with its current generation's token.
func (c *churnCollector) modify(i int) error {
	tok := churnToken(c.gen[i], i)
	c.ops++
	if c.src.kind == notify.SourceUser {
		return c.src.us.ModifyUser(c.src.ids[i], tok, c.trig)
	}
	return c.n.Modify(c.src.fds[i], tok, notify.Readable, c.trig)
}

// rearm re-arms oneshot source i, an fd one through the batcher.
func (c *churnCollector) rearm(i int) error {
	if c.src.kind == notify.SourceUser {
		return c.modify(i)
	}
	c.ops++
	return c.cb.do(notify.Change{Op: notify.OpModify, FD: c.src.fds[i], Token: churnToken(c.gen[i], i), In: notify.Readable, Tr: c.trig})
}

// retoken gives the next source a new token in place, while the producer
// may be firing it: a fresh firing pending on it must come back with the
// new token.
func (c *churnCollector) retoken() error {
	for range len(c.gen) {
		i := c.next(&c.modCur)
		// Pairs with the producer's CompareAndSwaps on the state word.
		if c.owed(i, c.src.busy[i].v.Load()) {
			continue
		}
		c.gen[i]++
		if err := c.modify(i); err != nil {
			return fmt.Errorf("modify source %d: %w", i, err)
		}
		return nil
	}
	return nil
}

// readd removes a source and registers it again under a new generation:
// one pending with a fresh firing if there is one, else the next free one.
// The pending firing is read from the source and accounted here, since the
// contract says the backend never reports it after Remove. A source the
// producer is writing to right now is passed over.
func (c *churnCollector) readd() error {
	free := -1
	for range len(c.gen) {
		i := c.next(&c.remCur)
		// Pairs with the producer's CompareAndSwap(churnFree, churnFiring)
		// and CompareAndSwap(churnFiring, churnPending): from pending, the
		// firing's write has completed.
		switch st := c.src.busy[i].v.Load(); {
		case st == churnPending && !c.owed(i, st):
			if c.claim(i, st) {
				return c.readdClaimed(i)
			}
		case st == churnFree && free < 0:
			free = i
		}
	}
	if free >= 0 && c.claim(free, churnFree) {
		c.remCur = free // the next search starts past it
		return c.readdClaimed(free)
	}
	return nil
}

func (c *churnCollector) claim(i int, st uint32) bool {
	return c.src.busy[i].v.CompareAndSwap(st, churnOwned)
}

func (c *churnCollector) readdClaimed(i int) error {
	if err := c.replace(i); err != nil {
		return err
	}
	// Pairs with the producer's CompareAndSwap(churnFree, churnFiring): the
	// new registration (and a user source's new id) is in place.
	c.src.busy[i].v.Store(churnFree)
	return nil
}

func (c *churnCollector) replace(i int) error {
	c.ops += 2
	if c.src.kind == notify.SourceUser {
		if err := c.src.us.RemoveUser(c.src.ids[i]); err != nil {
			return fmt.Errorf("remove user source %d: %w", i, err)
		}
	} else if err := c.n.Remove(c.src.fds[i]); err != nil {
		return fmt.Errorf("remove source %d: %w", i, err)
	}
	if seq := c.src.take(i); seq != 0 {
		c.led.mark(seq)
		c.drained++
	}
	c.gen[i]++
	tok := churnToken(c.gen[i], i)
	if c.src.kind == notify.SourceUser {
		id, err := c.src.us.AddUser(tok, c.trig)
		if err != nil {
			return fmt.Errorf("re-add user source %d: %w", i, err)
		}
		c.src.ids[i] = id
		return nil
	}
	if err := c.n.Add(c.src.fds[i], tok, notify.Readable, c.trig); err != nil {
		return fmt.Errorf("re-add source %d: %w", i, err)
	}
	return nil
}
