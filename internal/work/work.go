// Package work is the calibrated application work a collector does per
// event (the work_ns and work_bytes parameters): a dependent arithmetic
// chain whose iterations per nanosecond are measured against the thread's CPU
// clock at start-up, optionally followed by a walk over a private buffer so
// that cache footprint is part of the work. csrc/work.h is the same loop in
// C, so that a Go row and its C twin do the same work per event.
//
// The chain is x = x*A + B: each iteration needs the previous result, so the
// CPU cannot overlap iterations and the time per iteration is the multiply
// and add latency, which neither compiler can shorten (no closed form is
// recognised, nothing is vectorisable). That makes "n iterations" a stable
// amount of time on one machine, which is what calibration relies on.
package work

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// Limits of the parameters: more than a second of work per event, or a
// buffer of more than 1 GiB, is a mistake, not an experiment.
const (
	MaxNs    = 1_000_000_000
	MaxBytes = 1 << 30
)

// The chain's constants (Knuth's MMIX linear congruential generator); the
// C twin uses the same.
const (
	mulA = 6364136223846793005
	addB = 1442695040888963407
)

// Line is the stride of the buffer walk: one load and one store per cache
// line is what makes the footprint count, touching every byte would be
// arithmetic again.
const Line = 64

// Chain runs n iterations of the dependent chain from x and returns the
// result. It is not inlined so that its loop is the same code wherever it
// is called from (the calibration and the collector).
//
//go:noinline
func Chain(x, n uint64) uint64 {
	for ; n > 0; n-- {
		x = x*mulA + addB
	}
	return x
}

// Walk touches buf once per cache line, each access depending on the one
// before (load, fold into x, store back), and returns the new x.
//
//go:noinline
func Walk(buf []byte, x uint64) uint64 {
	for i := 0; i < len(buf); i += Line {
		x += uint64(buf[i])
		buf[i] = byte(x)
	}
	return x
}

var calib struct {
	once sync.Once
	rate float64
}

// ItersPerNs is the chain's iterations per nanosecond on this machine,
// measured once per process (Calibrate) and cached.
func ItersPerNs() float64 {
	calib.once.Do(func() { calib.rate = Calibrate() })
	return calib.rate
}

// Calibrate measures the chain's iterations per nanosecond: the fastest of
// seven timed runs of about a millisecond each. The fastest, not the
// median, because an interruption (another task, an interrupt) only ever
// makes a run slower; the fastest run is the chain's own speed.
func Calibrate() float64 {
	// The thread's CPU clock is the thread's: stay on one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	n := uint64(1 << 14)
	// Grow n until one run takes at least a millisecond, so that the
	// clock's own cost (tens of ns) is below 0.01 %.
	for {
		t0 := cpuNow()
		sink(Chain(1, n))
		if cpuNow()-t0 >= 1_000_000 || n >= 1<<34 {
			break
		}
		n *= 2
	}
	best := int64(math.MaxInt64)
	for range 7 {
		t0 := cpuNow()
		sink(Chain(1, n))
		best = min(best, max(cpuNow()-t0, 1))
	}
	return float64(n) / float64(best)
}

// cpuNow is the calling thread's CPU time in ns (CLOCK_THREAD_CPUTIME_ID).
// Calibration and Measure time the chain in it, not in wall time: on a
// loaded machine every run of a millisecond can be preempted, and wall
// time would then count the preemption as the chain's, calibrating too few
// iterations per ns (3000 ns asked, 800 done, seen at load 10).
func cpuNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts)
	return ts.Nano()
}

var sinkV uint64

// sink keeps a result alive so that no run can be optimised away.
func sink(x uint64) { sinkV ^= x }

// Loop is one collector's per-event work: iters chain iterations, then a
// walk over its private buffer. The zero Loop (and New(0, 0, r)) does
// nothing. Not safe for concurrent use: each collector has its own.
type Loop struct {
	ns, bytes int64
	iters     uint64
	buf       []byte
	x         uint64
}

// Check validates requested work: ns in [0, MaxNs], bytes in [0, MaxBytes].
func Check(ns, bytes int64) error {
	if ns < 0 || ns > MaxNs {
		return fmt.Errorf("work_ns %d: need 0 to %d (one second): %w", ns, MaxNs, os.ErrInvalid)
	}
	if bytes < 0 || bytes > MaxBytes {
		return fmt.Errorf("work_bytes %d: need 0 to %d (1 GiB): %w", bytes, MaxBytes, os.ErrInvalid)
	}
	return nil
}

// New returns the work of ns nanoseconds of chain (at itersPerNs, see
// ItersPerNs) plus a walk over bytes of private memory, rounded up to whole
// cache lines. The walk is not part of the calibrated ns: its cost depends
// on where the buffer lives, which is what it is there to show; Measure
// reports the whole.
func New(ns, bytes int64, itersPerNs float64) (*Loop, error) {
	if err := Check(ns, bytes); err != nil {
		return nil, err
	}
	if ns > 0 && !(itersPerNs > 0 && !math.IsInf(itersPerNs, 0)) {
		return nil, fmt.Errorf("work: calibration %v iterations/ns: %w", itersPerNs, os.ErrInvalid)
	}
	l := &Loop{ns: ns, bytes: bytes, x: 1}
	if ns > 0 {
		l.iters = max(uint64(math.Round(float64(ns)*itersPerNs)), 1)
	}
	if bytes > 0 {
		l.buf = make([]byte, (bytes+Line-1)/Line*Line)
	}
	return l, nil
}

// Iters is the chain iterations per event.
func (l *Loop) Iters() uint64 { return l.iters }

// BufBytes is the walked buffer's size (bytes rounded up to a line).
func (l *Loop) BufBytes() int { return len(l.buf) }

// Zero reports whether the loop does nothing (both parameters 0), so a
// caller can skip the call altogether.
func (l *Loop) Zero() bool { return l == nil || (l.iters == 0 && l.buf == nil) }

// Do is one event's work.
func (l *Loop) Do() {
	x := l.x
	if l.iters > 0 {
		x = Chain(x, l.iters)
	}
	if l.buf != nil {
		x = Walk(l.buf, x)
	}
	l.x = x
}

// Measure times n calls of Do on the calling thread and returns ns per
// call (0 for a zero loop). Rows report it as the measured work beside the
// requested: the chain's share follows the calibration, the walk's share
// is what the buffer costs where it is.
func (l *Loop) Measure(n int) float64 {
	if l.Zero() || n < 1 {
		return 0
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := cpuNow()
	for range n {
		l.Do()
	}
	return float64(cpuNow()-t0) / float64(n)
}

// MeasureCalls is how many calls Measure should time for about a
// millisecond of work (at least 16, at most 4096).
func (l *Loop) MeasureCalls() int {
	per := float64(l.ns) + float64(len(l.buf))/Line // a line costs at least a ns
	if per <= 0 {
		return 0
	}
	return int(min(max(1e6/per, 16), 4096))
}
