package notify

import "sync/atomic"

// SyscallKind classifies a backend's system-call sites.
type SyscallKind uint8

const (
	CallCtl    SyscallKind = iota // registration: epoll_ctl, kevent ctl, io_cancel
	CallWait                      // collection that may block: epoll_wait, io_getevents, io_uring_enter(GETEVENTS), get_events, kevent_wait
	CallSubmit                    // submission only: io_submit, io_uring_enter without GETEVENTS
	CallCommit                    // ring release: kevent_commit
	CallWake                      // waking a waiter: eventfd write, futex wake
	CallHook                      // a kernel-side helper thread's calls (kevent's emulated fd hook)
	CallFire                      // the producer firing a user source (kevent READY), the stand-in for an eventfd write
	CallOther                     // anything else
	CallDrain                     // the collector reading a descriptor the backend owns for a source kind (timerfd, signalfd, eventfd) to count it
	NumSyscallKinds
)

var syscallKindNames = [NumSyscallKinds]string{"ctl", "wait", "submit", "commit", "wake", "hook", "fire", "other", "drain"}

func (k SyscallKind) String() string {
	if k < NumSyscallKinds {
		return syscallKindNames[k]
	}
	return "unknown"
}

// SyscallCounts is a snapshot of a backend's counters.
type SyscallCounts [NumSyscallKinds]uint64

// Total is the sum over all kinds.
func (c SyscallCounts) Total() uint64 {
	var t uint64
	for _, v := range c {
		t += v
	}
	return t
}

// Sub returns c - o, kind by kind (the calls made between two snapshots).
func (c SyscallCounts) Sub(o SyscallCounts) SyscallCounts {
	for i := range c {
		c[i] -= o[i]
	}
	return c
}

// Collector sums the kinds made on the collecting side: everything but the
// producer's firing and a helper thread's calls. This is the figure results
// show as system calls per event.
func (c SyscallCounts) Collector() uint64 {
	return c.Total() - c[CallFire] - c[CallHook]
}

// Map returns the non-zero counts by kind name, for result files.
func (c SyscallCounts) Map() map[string]uint64 {
	m := make(map[string]uint64)
	for i, v := range c {
		if v != 0 {
			m[SyscallKind(i).String()] = v
		}
	}
	return m
}

// Counters is embedded by backends. Increments are atomic because Wake (and
// Fire, and helper threads) run on other goroutines; an uncontended atomic
// add is a few nanoseconds against a system call's hundreds.
type Counters struct {
	n [NumSyscallKinds]atomic.Uint64
}

// Inc counts one system call of kind k.
func (c *Counters) Inc(k SyscallKind) { c.n[k].Add(1) }

// Snapshot reads every counter.
func (c *Counters) Snapshot() SyscallCounts {
	var s SyscallCounts
	for i := range c.n {
		s[i] = c.n[i].Load()
	}
	return s
}
