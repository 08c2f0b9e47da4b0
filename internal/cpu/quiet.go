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
// While at least one thread is pinned, every other thread of the process
// runs under SCHED_IDLE, confined to the housekeeping CPUs (the collector's
// by default). The kernel never lets an idle-policy task preempt a normal
// one on wake-up and gives it the CPU only when nothing else wants it,
// which is when the runtime's hand-offs need it (the pinned thread waiting
// for one has left its CPU idle) and when the collector sleeps in its Wait.
// Confining them keeps them away from the producer, whose sched_yield (when
// every source is outstanding) would otherwise switch to them where a C
// producer's returns at once. When the last pinned thread is released,
// every thread is put back to SCHED_OTHER on all the process's CPUs. The
// pinned threads themselves always run SCHED_OTHER.
//
// Leaving SCHED_IDLE needs CAP_SYS_NICE (or RLIMIT_NICE of 20), so
// EnableQuiet first tries the round trip on a thread of its own and
// refuses if the kernel does not allow the way back.

var quiet struct {
	mu      sync.Mutex
	on      bool
	pinned  map[int]int // tid -> nested Pin count
	idle    bool        // the others were last set to SCHED_IDLE
	hk, all unix.CPUSet // housekeeping CPUs; the process's CPUs
	lastErr error
}

// EnableQuiet turns quiet housekeeping on for the rest of the process, with
// housekeeping confined to the given CPUs (nil: all of the process's). It
// returns an error, and leaves it off, when the kernel would not let a
// thread return from SCHED_IDLE.
func EnableQuiet(housekeeping []int) error {
	var all, hk unix.CPUSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		return fmt.Errorf("sched_getaffinity: %w", err)
	}
	hk = all
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
	quiet.on = true
	quiet.hk, quiet.all = hk, all
	quiet.lastErr = nil
	if quiet.pinned == nil {
		quiet.pinned = map[int]int{}
	}
	return nil
}

// DisableQuiet turns quiet housekeeping off and puts every thread back to
// SCHED_OTHER.
func DisableQuiet() {
	quiet.mu.Lock()
	defer quiet.mu.Unlock()
	if quiet.on && quiet.idle {
		sweep(nil)
		quiet.idle = false
	}
	quiet.on = false
}

// QuietErr reports the failures to change a thread's policy or CPUs since
// EnableQuiet, if any.
func QuietErr() error {
	quiet.mu.Lock()
	defer quiet.mu.Unlock()
	return quiet.lastErr
}

// quietPinned registers the calling (locked) thread as measured: it runs
// SCHED_OTHER and every unregistered thread is set to SCHED_IDLE on the
// housekeeping CPUs. A thread registered without a CPU of its own (free)
// gets back the process's CPUs, which a sweep may have narrowed.
func quietPinned(free bool) (release func()) {
	quiet.mu.Lock()
	defer quiet.mu.Unlock()
	if !quiet.on {
		return func() {}
	}
	tid := unix.Gettid()
	quiet.pinned[tid]++
	// This thread may have been an idle-policy M a moment ago.
	if err := setPolicy(0, unix.SCHED_NORMAL); err != nil {
		quiet.lastErr = errors.Join(quiet.lastErr, err)
	}
	if free {
		if err := unix.SchedSetaffinity(0, &quiet.all); err != nil {
			quiet.lastErr = errors.Join(quiet.lastErr, err)
		}
	}
	quiet.lastErr = errors.Join(quiet.lastErr, sweep(quiet.pinned))
	quiet.idle = true
	return func() {
		quiet.mu.Lock()
		defer quiet.mu.Unlock()
		if quiet.pinned[tid]--; quiet.pinned[tid] > 0 {
			return
		}
		delete(quiet.pinned, tid)
		switch {
		case !quiet.idle:
		case len(quiet.pinned) == 0:
			quiet.lastErr = errors.Join(quiet.lastErr, sweep(nil))
			quiet.idle = false
		case quiet.on:
			// Others are still measured: this thread is housekeeping again.
			err := setPolicy(tid, unix.SCHED_IDLE)
			if err == nil {
				err = unix.SchedSetaffinity(tid, &quiet.hk)
			}
			quiet.lastErr = errors.Join(quiet.lastErr, err)
		}
	}
}

// sweep sets every thread of the process but those in keep to SCHED_IDLE
// on the housekeeping CPUs (it leaves the kept ones alone); with keep nil,
// every thread back to SCHED_OTHER on the process's CPUs. A thread that
// exits meanwhile is no error. Called with quiet.mu held.
func sweep(keep map[int]int) error {
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
		policy, set := unix.SCHED_NORMAL, &quiet.all
		if keep != nil {
			if _, ok := keep[tid]; ok {
				continue
			}
			policy, set = unix.SCHED_IDLE, &quiet.hk
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
