package kevent

import (
	"math"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/rawsys"
	"kbench/notify"
)

// The emulated kernel boundary. An emulated kevent system call pays for one
// real kernel entry: getppid, the cheapest call that cannot be served from
// the vDSO, or, when the call sleeps, the futex wait that puts it to sleep.
// So syscalls/event counts what the design would cost on this machine.

// sysEnter is the kernel entry of one emulated kevent system call.
func sysEnter(c *notify.Counters, k notify.SyscallKind) {
	c.Inc(k)
	rawsys.Syscall(unix.SYS_GETPPID, 0, 0, 0)
}

// Futex operations; x/sys/unix does not export them.
const (
	futexWaitPrivate = 0 | 128 // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
	futexWakePrivate = 1 | 128 // FUTEX_WAKE | FUTEX_PRIVATE_FLAG
)

// futexWait sleeps while *w == val, at most d (d < 0: no limit), and
// returns the errno: EAGAIN (the word changed first) and ETIMEDOUT make the
// caller re-check its condition under the queue lock; EINTR (a signal)
// ends the emulated kevent wait as take29's interruptible sleep ended.
func futexWait(w *atomic.Uint32, val uint32, d time.Duration) unix.Errno {
	var tsp unsafe.Pointer
	var ts unix.Timespec
	if d >= 0 {
		ts = unix.NsecToTimespec(int64(d))
		tsp = unsafe.Pointer(&ts)
	}
	_, _, e := unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWaitPrivate, uintptr(val), uintptr(tsp), 0, 0)
	return e
}

// futexWake wakes every sleeper on w (wake_up on a wait queue without
// exclusive waiters).
func futexWake(w *atomic.Uint32) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(w)), futexWakePrivate, math.MaxInt32, 0, 0, 0)
}

// spinlock stands for the kernel's ready_lock spinlock. sync.Mutex would
// park contended goroutines through the runtime's own futexes: system calls
// no counter sees. A spinlock keeps every sleep and wake in this package's
// accounting. It spins as a kernel spinlock does; only when the holder has
// kept it for spinBeforeYield — then it has surely been preempted, on a
// CPU it shares with us or another thread — does it give the CPU away with
// sched_yield, counted as CallOther.
type spinlock struct {
	v atomic.Uint32
}

const spinBeforeYield = 50 * time.Microsecond

func (l *spinlock) lock(c *notify.Counters) {
	// Acquire: pairs with the release Store in unlock, so the previous
	// holder's writes to the queue are visible to us.
	if l.v.CompareAndSwap(0, 1) {
		return
	}
	start := clock.Now()
	for i := 1; ; i++ {
		if l.v.Load() == 0 && l.v.CompareAndSwap(0, 1) { // acquire, as above
			return
		}
		if i%256 == 0 && clock.Now()-start > int64(spinBeforeYield) {
			// The holder may be a goroutine locked to its thread and
			// waiting for a P on its way back from a system call (a
			// futex wake under the lock): Gosched hands it ours, which
			// sched_yield alone would not.
			runtime.Gosched()
			c.Inc(notify.CallOther)
			rawsys.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
			start = clock.Now()
		}
	}
}

func (l *spinlock) unlock() {
	// Release: pairs with the acquire CAS in lock.
	l.v.Store(0)
}
