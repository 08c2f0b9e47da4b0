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
	"kbench/notify"
)

// floorIters is the round trips CacheLineRoundTrip makes for each Run.
const floorIters = 100000

// Run measures every design × slot size of p and returns one Row each, in
// Designs() order. A row whose payloads were lost, duplicated, reordered or
// torn is marked Failed with its counts; Run itself fails only for bad
// parameters (os.ErrInvalid), a refused CPU affinity (notify.ErrUnavailable
// and the kernel's errno, saying which CPU) or cancellation (returning the
// rows finished so far with ctx's error).
func Run(ctx context.Context, p Params) ([]Row, error) {
	p, err := p.withDefaults()
	if err != nil {
		return nil, err
	}
	floor, err := floorFor(p)
	if err != nil {
		return nil, err
	}
	var rows []Row
	for _, d := range Designs() { // fixed order whatever the caller's order
		if !contains(p.Designs, d) {
			continue
		}
		for _, size := range p.SlotSizes {
			if err := ctx.Err(); err != nil {
				return rows, err
			}
			row, err := runRow(ctx, p, d, size)
			if err != nil {
				return rows, err
			}
			row.FloorNs = floor
			rows = append(rows, row)
		}
	}
	return rows, nil
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

// runRow measures one design at one slot size: a warm-up repetition, then
// p.Reps timed ones, all through the same ring.
func runRow(ctx context.Context, p Params, design string, size int) (Row, error) {
	inst, err := newInstance(design, p.RingSlots, size, p.Batch)
	if err != nil {
		return Row{}, err
	}
	row := Row{
		Design: design, SlotSize: size, RingSlots: p.RingSlots, Pattern: p.Pattern,
		Batch: inst.batch, ProducerCPU: p.ProducerCPU, ConsumerCPU: p.ConsumerCPU,
		Events: p.Events, ReleaseStoreAsm: ring.ReleaseStoreAsm, Note: inst.note,
	}
	if p.Pattern == Burst {
		row.Burst, row.IdleGapNs = p.Burst, int64(p.IdleGap)
	}
	seen := make([]uint64, (max(p.Events, p.Warmup)+63)/64)
	for rep := -1; rep < p.Reps; rep++ {
		n := p.Events
		if rep < 0 {
			if n = p.Warmup; n == 0 {
				continue
			}
		}
		res, err := runRep(ctx, p, inst, n, seen)
		if err != nil {
			return row, err
		}
		row.Generated += int64(n)
		row.Received += res.received
		row.Lost += res.lost
		row.Dup += res.dup
		row.Reordered += res.reordered
		row.Corrupt += res.corrupt
		if res.reason != "" {
			row.Failed, row.Reason = true, res.reason
			break
		}
		if rep >= 0 {
			row.Preempted += res.preempted
			ns := float64(res.elapsed) / float64(n)
			row.NsPerEvent = append(row.NsPerEvent, ns)
			row.EventsPerSec = append(row.EventsPerSec, 1e9/ns)
			if err := twinRep(ctx, p, &row); err != nil {
				return row, err
			}
		}
	}
	if c := median(row.CNsPerEvent); c > 0 {
		row.GoOverC = row.MedianNs() / c
	}
	if !row.Failed && row.Lost+row.Dup+row.Reordered+row.Corrupt > 0 {
		row.Failed = true
		row.Reason = fmt.Sprintf("exactly-once violated: %d lost, %d duplicated, %d reordered, %d torn of %d",
			row.Lost, row.Dup, row.Reordered, row.Corrupt, row.Generated)
	}
	return row, nil
}

type repResult struct {
	count
	lost      int64
	elapsed   int64 // ns, idle gaps excluded
	preempted int64 // involuntary context switches, both sides
	reason    string
}

// repLimit bounds one repetition; a ring that stops moving is a failed row,
// not a hung run.
func repLimit(n int) time.Duration { return 20*time.Second + time.Duration(n)*20*time.Microsecond }

func runRep(ctx context.Context, p Params, inst instance, n int, seen []uint64) (repResult, error) {
	clear(seen)
	var f flags
	same := p.ProducerCPU == p.ConsumerCPU
	prod := &producer{f: &f, n: n, batch: inst.batch, burst: p.burstLen(), yield: same, fault: p.fault}
	if p.Pattern == Burst {
		prod.idle = int64(p.IdleGap)
	}
	cons := &consumer{f: &f, n: n, batch: inst.batch, yield: same, seen: seen[:(n+63)/64]}

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
	res := repResult{count: cons.count, lost: cons.lost(), elapsed: elapsed, preempted: prodPreempt + consPreempt}
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
