package ringlab

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/cpu"
	"kbench/internal/ring"
	"kbench/internal/rusage"
	"kbench/internal/work"
	"kbench/notify"
)

// floorIters is the round trips CacheLineRoundTrip makes for each Run.
const floorIters = 100000

// Run measures every design × slot size of p and returns one Row each, in
// Designs() order. Rows are measured interleaved: every row gets its
// warm-up, then each round runs one timed repetition of every row (in an
// order rotated by one each round), so that the machine's drift falls on
// all designs alike and a comparison between rows of one Run is fair. A row
// whose payloads were lost, duplicated, reordered or torn is marked Failed
// with its counts; Run itself fails only for bad parameters
// (os.ErrInvalid), a refused CPU affinity (notify.ErrUnavailable and the
// kernel's errno, saying which CPU) or cancellation (returning the rows
// with what they have so far and ctx's error).
func Run(ctx context.Context, p Params) ([]Row, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	floor, err := floorFor(p)
	if err != nil {
		return nil, err
	}
	w, err := newWork(p)
	if err != nil {
		return nil, err
	}
	var rs []*rowRun
	for _, d := range Designs() { // fixed order whatever the caller's order
		if !contains(p.Designs, d) {
			continue
		}
		for _, size := range p.SlotSizes {
			r, err := newRowRun(p, d, size)
			if err != nil {
				return nil, err
			}
			r.row.FloorNs = floor
			rs = append(rs, r)
		}
	}
	rows := func() []Row {
		out := make([]Row, len(rs))
		for i, r := range rs {
			out[i] = r.finish()
		}
		return out
	}
	seen := make([]uint64, (max(p.Events, p.Warmup)+63)/64)
	for _, r := range rs {
		if err := ctx.Err(); err != nil {
			return rows(), err
		}
		if p.Warmup > 0 {
			if err := r.rep(ctx, p, w, p.Warmup, true, false, seen); err != nil {
				return rows(), err
			}
		}
	}
	for rep := 0; rep < p.Reps; rep++ {
		for k := range rs {
			r := rs[(k+rep)%len(rs)]
			if r.row.Failed {
				continue
			}
			if err := ctx.Err(); err != nil {
				return rows(), err
			}
			if err := r.rep(ctx, p, w, p.Events, true, true, seen); err != nil {
				return rows(), err
			}
			if p.Net && !r.row.Failed {
				if err := r.rep(ctx, p, w, p.Events, false, true, seen); err != nil {
					return rows(), err
				}
			}
			if !r.row.Failed {
				if err := twinRep(ctx, p, &r.row); err != nil {
					return rows(), err
				}
			}
		}
	}
	return rows(), nil
}

// newWork builds the consumer's work loop (nil for none), calibrating the
// chain once per process.
func newWork(p Params) (*work.Loop, error) {
	if p.WorkNs == 0 && p.WorkBytes == 0 {
		return nil, nil
	}
	var rate float64
	if p.WorkNs > 0 {
		rate = work.ItersPerNs()
	}
	w, err := work.New(p.WorkNs, p.WorkBytes, rate)
	if err != nil {
		return nil, fmt.Errorf("ringlab: %w", err)
	}
	return w, nil
}

// rowRun is one row being measured: its ring (kept across repetitions,
// as a real ring is) and its row so far.
type rowRun struct {
	inst instance
	size int
	row  Row
}

func newRowRun(p Params, design string, size int) (*rowRun, error) {
	inst, err := newInstance(design, p.RingSlots, size, p.Batch)
	if err != nil {
		return nil, err
	}
	row := Row{
		Design: design, SlotSize: size, RingSlots: p.RingSlots, Pattern: p.Pattern,
		Batch: inst.batch, ProducerCPU: p.ProducerCPU, ConsumerCPU: p.ConsumerCPU,
		Events: p.Events, ReleaseStoreAsm: ring.ReleaseStoreAsm, Note: inst.note,
		WorkNs: p.WorkNs, WorkBytes: p.WorkBytes,
	}
	if p.Pattern == Burst {
		row.Burst, row.IdleGapNs = p.Burst, int64(p.IdleGap)
	}
	return &rowRun{inst: inst, size: size, row: row}, nil
}

// rep runs one repetition of n events, checked (the exactly-once proof,
// counted in the row's accounting) or unchecked (Params.Net: held to its
// count and checksum), timed or not (the warm-up).
func (r *rowRun) rep(ctx context.Context, p Params, w *work.Loop, n int, checked, timed bool, seen []uint64) error {
	row := &r.row
	res, err := runRep(ctx, p, r.inst, n, seen, checked, w, timed && checked)
	if err != nil {
		return err
	}
	if !checked {
		if res.reason == "" && (res.received != int64(n) || res.sum != wantSum(n, r.size)) {
			res.reason = fmt.Sprintf("unchecked repetition: received %d of %d events, checksum %#x, want %#x",
				res.received, n, res.sum, wantSum(n, r.size))
		}
		if res.reason != "" {
			row.Failed, row.Reason = true, res.reason
			return nil
		}
		row.NetNsPerEvent = append(row.NetNsPerEvent, float64(res.elapsed)/float64(n))
		return nil
	}
	row.Generated += int64(n)
	row.Received += res.received
	row.Lost += res.lost
	row.Dup += res.dup
	row.Reordered += res.reordered
	row.Corrupt += res.corrupt
	if res.reason != "" {
		row.Failed, row.Reason = true, res.reason
		return nil
	}
	if timed {
		row.Preempted += res.preempted
		ns := float64(res.elapsed) / float64(n)
		row.NsPerEvent = append(row.NsPerEvent, ns)
		row.EventsPerSec = append(row.EventsPerSec, 1e9/ns)
		if w != nil {
			row.WorkMeasuredNs = append(row.WorkMeasuredNs, res.workNs)
		}
	}
	return nil
}

// finish derives the row's summary figures and its exactly-once verdict.
func (r *rowRun) finish() Row {
	row := r.row
	if c := median(row.CNsPerEvent); c > 0 {
		row.GoOverC = row.MedianNs() / c
	}
	if c := median(row.CNetNsPerEvent); c > 0 && len(row.NetNsPerEvent) > 0 {
		row.NetGoOverC = row.NetMedianNs() / c
	}
	if len(row.NetNsPerEvent) > 0 && len(row.NsPerEvent) > 0 {
		row.HarnessNs = row.MedianNs() - row.NetMedianNs()
	}
	if !row.Failed && row.Lost+row.Dup+row.Reordered+row.Corrupt > 0 {
		row.Failed = true
		row.Reason = fmt.Sprintf("exactly-once violated: %d lost, %d duplicated, %d reordered, %d torn of %d",
			row.Lost, row.Dup, row.Reordered, row.Corrupt, row.Generated)
	}
	return row
}

// RunSuite runs each Params in turn (see Suite) and concatenates the rows.
func RunSuite(ctx context.Context, ps []Params) ([]Row, error) {
	var all []Row
	for _, p := range ps {
		rows, err := Run(ctx, p)
		all = append(all, rows...)
		if err != nil {
			return all, err
		}
	}
	return all, nil
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// floorFor measures the cache-line round trip between the row's CPUs, or,
// for a same-CPU placement, between the producer's CPU and another allowed
// CPU (0 if there is none).
func floorFor(p Params) (float64, error) {
	a, b := p.ProducerCPU, p.ConsumerCPU
	if a == b {
		cpus, err := cpu.Allowed()
		if err != nil {
			return 0, err
		}
		b = -1
		for _, c := range cpus {
			if c != a {
				b = c
				break
			}
		}
		if b < 0 {
			return 0, nil
		}
	}
	ns, err := CacheLineRoundTrip(a, b, floorIters)
	if err != nil {
		return 0, fmt.Errorf("ringlab: cache-line floor between CPUs %d and %d: %w", a, b, err)
	}
	return ns, nil
}

type repResult struct {
	count
	lost      int64
	elapsed   int64   // ns, idle gaps excluded
	preempted int64   // involuntary context switches, both sides
	sum       uint64  // unchecked: the consumer's payload sum
	workNs    float64 // measured work per event (measured repetitions)
	reason    string
}

// repLimit bounds one repetition; a ring that stops moving is a failed row,
// not a hung run.
func repLimit(n int) time.Duration { return 20*time.Second + time.Duration(n)*20*time.Microsecond }

// runRep runs one repetition. With measureWork, the consumer times its
// work loop on its own CPU once the repetition is over (outside the
// timing), which is the row's measured work.
func runRep(ctx context.Context, p Params, inst instance, n int, seen []uint64,
	checked bool, w *work.Loop, measureWork bool) (repResult, error) {
	clear(seen)
	var f flags
	same := p.ProducerCPU == p.ConsumerCPU
	prod := &producer{f: &f, n: n, batch: inst.batch, burst: p.burstLen(), yield: same, fault: p.fault}
	if p.Pattern == Burst {
		prod.idle = int64(p.IdleGap)
	}
	cons := &consumer{f: &f, n: n, batch: inst.batch, yield: same, seen: seen[:(n+63)/64],
		verify: checked, w: w, fast: !checked && w == nil}
	var workNs float64

	var timedOut atomic.Bool
	watchdog := time.AfterFunc(repLimit(n), func() { timedOut.Store(true); f.stop.Store(true) })
	defer watchdog.Stop()
	stopOnCancel := context.AfterFunc(ctx, func() { f.stop.Store(true) })
	defer stopOnCancel()

	type sideErr struct {
		pin, run error
	}
	var prodPreempt, consPreempt int64
	consDone := make(chan sideErr, 1)
	go func() {
		unpin, err := cpu.Pin(p.ConsumerCPU)
		if err != nil {
			f.stop.Store(true)
			consDone <- sideErr{pin: err}
			return
		}
		defer unpin()
		u0, _ := rusage.Thread()
		f.ready.Store(true)
		err = inst.consume(cons)
		u1, _ := rusage.Thread()
		consPreempt = u1.Nivcsw - u0.Nivcsw
		if measureWork && w != nil && err == nil {
			workNs = w.Measure(w.MeasureCalls())
		}
		consDone <- sideErr{run: err}
	}()
	var elapsed int64
	prodDone := make(chan error, 1)
	go func() {
		unpin, err := cpu.Pin(p.ProducerCPU)
		if err != nil {
			f.stop.Store(true)
			prodDone <- err
			return
		}
		defer unpin()
		for !f.ready.Load() && !f.stop.Load() {
			unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0) // the consumer may share our CPU
		}
		u0, _ := rusage.Thread()
		t0 := clock.Now()
		inst.produce(prod)
		elapsed = clock.Now() - t0 - prod.idleNs
		u1, _ := rusage.Thread()
		prodPreempt = u1.Nivcsw - u0.Nivcsw
		f.done.Store(true) // pairs with the consumer's idle(): it stops once empty
		prodDone <- nil
	}()
	perr := <-prodDone
	cerr := <-consDone
	// A refused affinity is the machine's refusal: the harness reports the
	// workload as skipped with this reason.
	if perr != nil {
		return repResult{}, fmt.Errorf("ringlab: pinning the producer: %w: %w", notify.ErrUnavailable, perr)
	}
	if cerr.pin != nil {
		return repResult{}, fmt.Errorf("ringlab: pinning the consumer: %w: %w", notify.ErrUnavailable, cerr.pin)
	}
	res := repResult{count: cons.count, elapsed: elapsed, preempted: prodPreempt + consPreempt,
		sum: cons.sum, workNs: workNs}
	if checked {
		res.lost = cons.lost()
	}
	switch {
	case ctx.Err() != nil:
		return res, ctx.Err()
	case cerr.run != nil:
		res.reason = cerr.run.Error()
	case timedOut.Load() || f.stop.Load():
		res.reason = fmt.Sprintf("repetition of %d events did not finish within %v", n, repLimit(n))
	}
	return res, nil
}
