package cpu

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// Quiet housekeeping.
//
// A Go process has threads that no measured loop asked for: sysmon, which
// polls every 20 µs for a millisecond or more each time it has retaken a P
// from a system call (and a goroutine that runs 10 ms without rescheduling,
// as every pinned loop does, has its P retaken when the check finds it in
// one), idle Ms woken to run a P handed off by a preempted locked
// goroutine, GC workers, the harness's own goroutines. On a two-CPU machine
// they can only run on the CPUs the producer and the collector are pinned
// to, and each wake-up preempts one of them: 1,000–2,000 times a second per
// fan-in row here, against 25–100 for a C program running the same loop,
// and each preemption stalls the pipeline for longer than it runs (the other
// side runs dry and goes to sleep).
//
// Inside a Quiet scope, every thread of the process but the pinned ones
// runs under SCHED_IDLE, confined to the housekeeping CPUs (the
// collector's). The kernel never lets an idle-policy task preempt a normal
// one on wake-up and gives it the CPU only when nothing else wants it. That
// is also the hazard: a pinned goroutine that the runtime preempts (every
// 10 ms) gets its thread back only through another thread, which must get
// a CPU. So a scope is only for rows whose housekeeping CPU falls idle
// often (a collector that sleeps in its Wait, no helper thread polling
// beside it); a ring-lab row, whose two sides spin, would stall for seconds.
// Confining housekeeping to the collector's CPU keeps it away from the
// producer, whose sched_yield (when every source is outstanding) would
// otherwise switch to it where a C producer's returns at once.
//
// Leaving SCHED_IDLE needs CAP_SYS_NICE (or RLIMIT_NICE of 20), so
// EnableQuiet tries the round trip on a thread of its own first and
// refuses if the kernel does not allow the way back.

type quietState struct {
	mu      sync.Mutex
	allowed bool        // EnableQuiet succeeded
	depth   int         // open Quiet scopes
	pinned  map[int]int // tid -> nested Pin count, always kept
	idle    bool        // the unpinned threads were last set to SCHED_IDLE
	hk, all unix.CPUSet // housekeeping CPUs; the process's CPUs
	lastErr error
}

var quiet quietState

// EnableQuiet allows Quiet scopes for the rest of the process, with
// housekeeping confined to the given CPUs (nil: all of the process's). It
// returns an error, and allows nothing, when the kernel would not let a
// thread return from SCHED_IDLE.
func EnableQuiet(housekeeping []int) error {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return fmt.Errorf("sched_getaffinity: %w", err)
	}
	hk := all
	if len(housekeeping) > 0 {
		hk.Zero()
		for _, c := range housekeeping {
			if c < 0 || !all.IsSet(c) {
				return fmt.Errorf("housekeeping CPU %d is not one this process may use", c)
			}
			hk.Set(c)
		}
	}
	done := make(chan error, 1)
	go func() {
		// This thread is given SCHED_IDLE; if it cannot come back it must
		// not run anything else: exiting the goroutine while locked ends
		// the thread.
		runtime.LockOSThread()
		if err := setPolicy(0, unix.SCHED_IDLE); err != nil {
			done <- fmt.Errorf("sched_setattr SCHED_IDLE: %w", err)
			return
		}
		if err := setPolicy(0, unix.SCHED_NORMAL); err != nil {
			done <- fmt.Errorf("leaving SCHED_IDLE needs CAP_SYS_NICE or RLIMIT_NICE 20: %w", err)
			return
		}
		runtime.UnlockOSThread()
		done <- nil
	}()
	if err := <-done; err != nil {
		return err
	}
	quiet.mu.Lock()
	defer quiet.mu.Unlock()
	quiet.allowed = true
	quiet.hk, quiet.all = hk, all
	quiet.lastErr = nil
	return nil
}

// DisableQuiet allows no more scopes; threads quieted by an open one are
// put back to SCHED_OTHER on all the process's CPUs.
func DisableQuiet() {
	quiet.mu.Lock()
	defer quiet.mu.Unlock()
	quiet.allowed = false
	quiet.depth = 0
	quiet.restore()
}

// Quiet opens a scope in which housekeeping threads run SCHED_IDLE on the
// housekeeping CPUs whenever a thread is pinned (see above for which rows
// may use one). It reports whether it is in effect: false unless
// EnableQuiet succeeded. end closes the scope.
func Quiet() (end func(), on bool) {
	quiet.mu.Lock()
	defer quiet.mu.Unlock()
	if !quiet.allowed {
		return func() {}, false
	}
	quiet.depth++
	if len(quiet.pinned) > 0 {
		quiet.quieten()
	}
	return func() {
		quiet.mu.Lock()
		defer quiet.mu.Unlock()
		if quiet.depth > 0 {
			if quiet.depth--; quiet.depth == 0 {
				quiet.restore()
			}
		}
	}, true
}

// QuietErr reports the failures to change a thread's policy or CPUs since
// EnableQuiet, if any.
func QuietErr() error {
	quiet.mu.Lock()
	defer quiet.mu.Unlock()
	return quiet.lastErr
}

// quietPinned registers the calling (locked) thread as a measured one. In a
// scope it runs SCHED_OTHER, and every unregistered thread SCHED_IDLE on
// the housekeeping CPUs. A thread registered without a CPU of its own
// (free) gets back the process's CPUs, which a sweep may have narrowed.
// release unregisters it and, when quiet housekeeping is allowed, sets its
// CPUs (the housekeeping ones if a scope still has others pinned, else the
// process's) and reports that it did.
func quietPinned(free bool) (release func() (maskSet bool)) {
	quiet.mu.Lock()
	defer quiet.mu.Unlock()
	if quiet.pinned == nil {
		quiet.pinned = map[int]int{}
	}
	tid := unix.Gettid()
	quiet.pinned[tid]++
	if quiet.depth > 0 {
		// This thread may have been an idle-policy M a moment ago.
		quiet.fail(setPolicy(0, unix.SCHED_NORMAL))
		if free {
			quiet.fail(unix.SchedSetaffinity(0, &quiet.all))
		}
		quiet.quieten()
	}
	return func() bool {
		quiet.mu.Lock()
		defer quiet.mu.Unlock()
		if quiet.pinned[tid]--; quiet.pinned[tid] > 0 {
			return false
		}
		delete(quiet.pinned, tid)
		switch {
		case quiet.idle && len(quiet.pinned) > 0:
			// Others are still measured: this thread is housekeeping again.
			err := setPolicy(tid, unix.SCHED_IDLE)
			if err == nil {
				err = unix.SchedSetaffinity(tid, &quiet.hk)
			}
			quiet.fail(err)
		case quiet.idle:
			quiet.restore()
		case quiet.allowed:
			// A thread quieted before it was pinned remembers the
			// housekeeping CPUs as its own: give it the process's.
			quiet.fail(unix.SchedSetaffinity(tid, &quiet.all))
		default:
			return false
		}
		return true
	}
}

// quieten sets every unregistered thread to SCHED_IDLE on the housekeeping
// CPUs. Called with mu held.
func (q *quietState) quieten() {
	q.fail(q.sweep(false))
	q.idle = true
}

// restore puts every thread back to SCHED_OTHER on the process's CPUs, if a
// scope had quieted them. Called with mu held.
func (q *quietState) restore() {
	if q.idle {
		q.fail(q.sweep(true))
		q.idle = false
	}
}

func (q *quietState) fail(err error) {
	if err != nil {
		q.lastErr = errors.Join(q.lastErr, err)
	}
}

// sweep sets every unregistered thread of the process to SCHED_IDLE on the
// housekeeping CPUs, or, with back, to SCHED_OTHER on the process's CPUs.
// A thread that exits meanwhile is no error.
func (q *quietState) sweep(back bool) error {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, ok := q.pinned[tid]; ok {
			continue // measured: SCHED_OTHER on its own CPU already
		}
		policy, set := unix.SCHED_NORMAL, &q.all
		if !back {
			policy, set = unix.SCHED_IDLE, &q.hk
		}
		err = setPolicy(tid, policy)
		if err == nil {
			err = unix.SchedSetaffinity(tid, set)
		}
		if err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("thread %d: %w", tid, err))
		}
	}
	return errors.Join(errs...)
}

func setPolicy(tid int, policy int) error {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: uint32(policy)}
	return unix.SchedSetAttr(tid, &attr, 0)
}

// Policy returns the scheduling policy of thread tid (0: the caller).
func Policy(tid int) (int, error) {
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return 0, err
	}
	return int(a.Policy), nil
}
