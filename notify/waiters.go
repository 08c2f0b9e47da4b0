package notify

import "time"

// WakePolicy says which of several goroutines blocked on one instance a
// firing wakes. A backend that does not implement SharedWaiter allows one
// collecting goroutine per instance (the contract's default, doc.go).
type WakePolicy uint8

const (
	// WakeSingle: one waiter per instance; several threads collecting
	// from one source need one instance each.
	WakeSingle WakePolicy = iota
	// WakeOne: several goroutines may block at once, and a firing wakes
	// one of them (epoll_wait's exclusive wait queue; kevent's first
	// waker).
	WakeOne
	// WakeAll: several may block, and a firing wakes every one of them.
	WakeAll
)

var wakePolicyNames = [...]string{"single", "one", "all"}

func (p WakePolicy) String() string {
	if int(p) < len(wakePolicyNames) {
		return wakePolicyNames[p]
	}
	return "wakepolicy(?)"
}

// Waiter is one more goroutine's collecting handle on a shared instance:
// its Wait is the Notifier's (doc.go), with buffers of its own, so several
// Waiters block on the instance at once. Everything else (Add, Modify,
// Remove) stays with the goroutine that owns the Notifier, and may not run
// while Waiters wait.
type Waiter interface {
	Wait(events []Event, min int, timeout time.Duration) (int, error)
}

// SharedWaiter is implemented by a backend on whose instance several
// goroutines may block at once.
type SharedWaiter interface {
	// NewWaiter returns a handle for one more waiting goroutine.
	NewWaiter() Waiter
	// WakePolicy is the policy among the instance's blocked waiters.
	WakePolicy() WakePolicy
}

// SharedWait reports n's policy among several waiters on one instance:
// WakeSingle unless n implements SharedWaiter.
func SharedWait(n Notifier) WakePolicy {
	if s, ok := n.(SharedWaiter); ok {
		return s.WakePolicy()
	}
	return WakeSingle
}
