package kevent

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"kbench/notify"
)

// Several threads may sleep in kevent_get_events on one queue: take29's
// kevent_user_wait waits with wait_event_interruptible_timeout on the
// queue's u->wait, and every kevent made ready calls wake_up on it. The
// waiters are not exclusive (wait_event queues them without
// WQ_FLAG_EXCLUSIVE), so one ready kevent wakes every sleeper; each
// re-checks its condition, the first to take the ready lock dequeues the
// kevent, and the others find the queue empty and sleep again inside the
// call. kbench does the same: a FUTEX_WAKE of every sleeper on the queue's
// wake generation (queue.go: wakeLocked), and getEvents' loop puts those
// that found fewer than their min back to sleep. So one firing returns one
// waiter (notify.WakeOne, what the contract's check observes: the
// get_events variant honours min, where take29's returned to user space
// with nothing when another waiter had emptied the queue between its
// wake-up and its dequeue), and the others' wake-ups cost context switches
// no return shows: the herd's csw/event counts them.
//
// KEVENT_REQ_WAKEUP_ALL does not enter into it: it chooses among the
// kevents of one storage (storageReady), and one queue holds one kevent
// per origin, so on a shared queue a firing readies one kevent with or
// without it, and the queue's wait queue wakes every sleeper either way.
//
// Only the syscall path is shared: take29's ring has one user index
// (kevent_commit's uidx) and Zach's ring one consumer index, each a reader
// without a lock, as the AIO ring's head.

// Shared is a queue collected with kevent_get_events alone (PathSyscall)
// on which several goroutines may block at once (notify.SharedWaiter).
// Until NewWaiter is first called its Wait is the Notifier's; from then on
// every Wait, the owner's included, translates the queue's records against
// the registration table under one lock, never held while it sleeps. The
// owner alone drains the signal storages (signal kevents follow the
// thread that registered them, as the patch's task storage did). Where the
// patch readied a signal kevent at delivery, here the owner's collection
// does: a signal raised while the owner is not collecting wakes no Waiter
// until the owner next collects.
type Shared struct {
	*Notifier
	mu sync.Mutex
	// waiters counts the Waiters made; nonzero: every Wait locks. The Add
	// in NewWaiter comes before the waiting goroutines start (the caller's
	// go statement orders it), so the Load in Wait sees it.
	waiters atomic.Int32
	owner   waitCtx // the owner's Wait once the queue is shared
}

var _ notify.SharedWaiter = (*Shared)(nil)

// NewShared opens a shared syscall-path queue in a Kernel of its own.
func NewShared(opts notify.Options) (*Shared, error) {
	n, err := New(PathSyscall, opts)
	if err != nil {
		return nil, err
	}
	return newShared(n), nil
}

// OpenShared opens a shared syscall-path queue in k.
func (k *Kernel) OpenShared(opts notify.Options) (*Shared, error) {
	n, err := k.Open(PathSyscall, opts)
	if err != nil {
		return nil, fmt.Errorf("kevent shared queue: %w", err)
	}
	return newShared(n), nil
}

func newShared(n *Notifier) *Shared {
	s := &Shared{Notifier: n}
	s.owner = waitCtx{c: &n.u.own, mu: &s.mu}
	return s
}

// waiter is one more goroutine's Wait on a Shared queue: a get_events
// buffer and a collector of its own.
type waiter struct {
	s   *Shared
	c   collector
	ctx waitCtx
}

// NewWaiter returns one more waiting goroutine's handle. Call it before
// the waiting starts: the owner's Wait switches to the locked path.
func (s *Shared) NewWaiter() notify.Waiter {
	s.waiters.Add(1)
	w := &waiter{s: s}
	w.ctx = waitCtx{c: &w.c, mu: &s.mu}
	return w
}

// WakePolicy: one firing returns one waiter (see the file comment).
func (s *Shared) WakePolicy() notify.WakePolicy { return notify.WakeOne }

// Wait is the Notifier's while no Waiter exists, the locked path after.
func (s *Shared) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	if s.waiters.Load() == 0 {
		return s.Notifier.Wait(events, min, timeout)
	}
	return s.Notifier.wait(&s.owner, events, min, timeout)
}

// Wait is the Notifier's Wait (wait.go) through this waiter's collector.
// It allocates nothing once its buffer has grown to the caller's.
func (w *waiter) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	return w.s.Notifier.wait(&w.ctx, events, min, timeout)
}
