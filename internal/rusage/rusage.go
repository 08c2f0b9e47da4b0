// Package rusage reads per-thread CPU use: getrusage(RUSAGE_THREAD) for the
// user/system split and the context switches, CLOCK_THREAD_CPUTIME_ID for
// the total.
//
// The two clocks differ in resolution. getrusage reports the thread's
// sum_exec_runtime as the scheduler last folded it in (at a tick or a
// context switch), split by tick samples; a thread that runs a few
// milliseconds without sleeping (HZ=250: 4 ms between ticks) can show no
// CPU at all over that window. The thread clock adds the time since the
// last fold, so it is exact to the nanosecond at the moment of the call;
// CPUNs uses it.
package rusage

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Usage is one thread's CPU time and context switches.
type Usage struct {
	UserNs int64 `json:"user_ns"` // getrusage: tick-split, see the package doc
	SysNs  int64 `json:"sys_ns"`
	Nvcsw  int64 `json:"voluntary_cs"`
	Nivcsw int64 `json:"involuntary_cs"`
	// ThreadNs is CLOCK_THREAD_CPUTIME_ID: user plus system time, exact.
	// Zero in results written before it was recorded.
	ThreadNs int64 `json:"cpu_ns,omitempty"`
}

// Thread reads the calling thread's usage; the caller must be locked to its
// OS thread (runtime.LockOSThread) for the figure to mean anything.
func Thread() (Usage, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return Usage{}, fmt.Errorf("getrusage(RUSAGE_THREAD): %w", err)
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return Usage{}, fmt.Errorf("clock_gettime(CLOCK_THREAD_CPUTIME_ID): %w", err)
	}
	return Usage{
		UserNs:   ru.Utime.Nano(),
		SysNs:    ru.Stime.Nano(),
		Nvcsw:    ru.Nvcsw,
		Nivcsw:   ru.Nivcsw,
		ThreadNs: ts.Nano(),
	}, nil
}

// Sub returns u - o.
func (u Usage) Sub(o Usage) Usage {
	return Usage{u.UserNs - o.UserNs, u.SysNs - o.SysNs, u.Nvcsw - o.Nvcsw, u.Nivcsw - o.Nivcsw, u.ThreadNs - o.ThreadNs}
}

// Add returns u + o.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.UserNs + o.UserNs, u.SysNs + o.SysNs, u.Nvcsw + o.Nvcsw, u.Nivcsw + o.Nivcsw, u.ThreadNs + o.ThreadNs}
}

// CPUNs is the thread's CPU time: the thread clock's, or user plus system
// time for a usage read without it (results from before it was recorded).
func (u Usage) CPUNs() int64 {
	if u.ThreadNs != 0 {
		return u.ThreadNs
	}
	return u.UserNs + u.SysNs
}

// TaskNs is the CPU time of thread tid of this process, exact as ThreadNs,
// for a thread that cannot read its own (the kernel's SQPOLL thread). The
// clock id is the kernel's per-thread CPU clock: the negated tid shifted
// past the clock type (CPUCLOCK_SCHED, 2) and the per-thread bit (4), as
// pthread_getcpuclockid makes it.
func TaskNs(tid int) (int64, error) {
	if tid <= 0 || tid >= 1<<28 { // 0 would name the caller; larger ones lose bits
		return 0, fmt.Errorf("no thread %d", tid)
	}
	var ts unix.Timespec
	id := int32(^uint32(tid)<<3 | 4 | 2)
	if err := unix.ClockGettime(id, &ts); err != nil {
		return 0, fmt.Errorf("clock_gettime(CPU clock of thread %d): %w", tid, err)
	}
	return ts.Nano(), nil
}
