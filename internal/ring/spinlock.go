package ring

import (
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// spinLock is Take29's ring_lock. The original used a sleeping mutex
// (struct mutex), but its critical sections are one record copy or a few
// comparisons; Go's sync.Mutex parks contended goroutines (a futex sleep
// and wakeup for a pinned thread), which would measure the Go scheduler
// rather than the ring. So: test-and-test-and-set, and after a while
// sched_yield, in case the holder was preempted on our CPU.
type spinLock struct {
	v atomic.Uint32
	_ [60]byte // the lock word has its line to itself
}

func (l *spinLock) lock() {
	// Acquire: the successful CAS pairs with the release store in unlock.
	for !l.v.CompareAndSwap(0, 1) {
		for spins := 0; l.v.Load() != 0; spins++ {
			if spins >= 64 {
				unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
				spins = 0
			}
		}
	}
}

func (l *spinLock) unlock() {
	storeRelease32(&l.v, 0) // pairs with the CAS in lock
}
