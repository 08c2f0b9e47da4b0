//go:build linux

package aioring

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// Several threads may call io_getevents on one AIO context: the kernel
// (fs/aio.c) serialises the reaping itself (aio_read_events_ring takes the
// context's ring_lock and moves the ring's head), so each completion is
// copied out to exactly one caller. The mmap'd ring has no such lock — its
// head is a plain word that one user-space reader owns — so only the
// syscall-reaping context is shared (Shared); the ring variant keeps one
// waiter.
//
// Wake policy, from read_events and aio_complete (fs/aio.c, Linux 6.8 and
// later): a waiter queues itself on ctx->wait with init_wait and
// prepare_to_wait_event, so not exclusively, recording the events it still
// needs (min_nr); aio_complete walks the whole queue and wakes every waiter
// whose min_nr the ring now holds. With min_nr 1, one completion wakes
// every blocked waiter. The first to take ring_lock copies the completion
// out and returns; the others find the ring drained and, still inside
// read_events' loop, sleep again without returning to user space. (Before
// 6.8, wait_event_interruptible_hrtimeout queued them non-exclusively too,
// and wake_up woke them all, with the same loop.) So one firing returns
// one waiter (notify.WakeOne, what the contract's check observes), and the
// losers' wake-ups cost context switches that no empty return shows: the
// herd's csw/event counts them.

// Shared is a Notifier that reaps with io_getevents alone (ReapSyscall),
// on whose context several goroutines may block at once
// (notify.SharedWaiter). Until NewWaiter is first called its Wait is the
// Notifier's, unlocked; from then on every Wait, the owner's included,
// runs the shared state (registrations, the re-arm queues, the request
// budget) under one lock, released while it blocks in io_getevents.
type Shared struct {
	*Notifier
	mu sync.Mutex
	// waiters counts the Waiters made; nonzero: every Wait locks. The Add
	// in NewWaiter comes before the waiting goroutines start (the caller's
	// go statement orders it), so the Loads in Wait and Close see it.
	waiters atomic.Int32
	own     *waiter // the owner's Wait once it locks
	closing iocb    // polls the wake eventfd while Close returns the waiters
}

// NewShared opens a syscall-reaping context for several waiters
// (o.Reap is ignored).
func NewShared(o Options) (*Shared, error) {
	o.Reap = ReapSyscall
	n, err := New(o)
	if err != nil {
		return nil, err
	}
	s := &Shared{Notifier: n}
	s.own = s.newWaiter()
	return s, nil
}

var _ notify.SharedWaiter = (*Shared)(nil)

// waiter is one goroutine's Wait on a Shared context, with buffers of its
// own.
type waiter struct {
	s   *Shared
	evs []ioEvent
	ts  unix.Timespec
}

func (s *Shared) newWaiter() *waiter {
	return &waiter{s: s, evs: make([]ioEvent, s.limit)}
}

// NewWaiter returns one more waiting goroutine's handle. Call it before
// the waiting starts: the owner's Wait switches to the locked path.
func (s *Shared) NewWaiter() notify.Waiter {
	s.waiters.Add(1)
	return s.newWaiter()
}

// WakePolicy: one firing returns one waiter (see the comment above).
func (s *Shared) WakePolicy() notify.WakePolicy { return notify.WakeOne }

// Wait is the Notifier's while no Waiter exists, the locked path after.
func (s *Shared) Wait(events []notify.Event, minEvents int, timeout time.Duration) (int, error) {
	if s.waiters.Load() == 0 {
		return s.Notifier.Wait(events, minEvents, timeout)
	}
	return s.own.Wait(events, minEvents, timeout)
}

// Wait is the Notifier's Wait (wait.go) for ReapSyscall, its shared state
// under s.mu: the lock is held to re-arm and to consume completions, never
// across io_getevents. It allocates nothing.
func (w *waiter) Wait(events []notify.Event, minEvents int, timeout time.Duration) (int, error) {
	s, n := w.s, w.s.Notifier
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	timeout, err := notify.WaitArgs("aioring", events, minEvents, timeout)
	if err != nil {
		return 0, err
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	s.mu.Lock()
	// The level sources reported by earlier Waits, this waiter's or
	// another's, are re-armed now (wait.go says why not sooner).
	n.pending = append(n.pending, n.requeue...)
	n.requeue = n.requeue[:0]
	s.mu.Unlock()
	got := 0
	for {
		s.mu.Lock()
		err := n.flush()
		if err == nil {
			got += n.emitFailed(events[got:])
		}
		s.mu.Unlock()
		if err != nil {
			return got, err
		}
		ts, minNr, nr, done := getArgs(&w.ts, timeout, deadline, got, minEvents, len(events), len(w.evs))
		if done {
			return got, nil
		}
		k, e := ioGetevents(n.id, minNr, w.evs[:nr], ts)
		n.calls.Inc(notify.CallWait)
		if n.gate.Closed() {
			return 0, notify.ErrClosed
		}
		woken := false
		switch e {
		case 0:
			s.mu.Lock()
			n.woken = false
			got += n.deliver(w.evs[:k], events[got:])
			woken = n.woken // this waiter consumed the wake poll
			s.mu.Unlock()
		case unix.EINTR:
		default:
			return got, fmt.Errorf("aioring: io_getevents: %w", e)
		}
		if got >= minEvents || woken || timeout == 0 {
			return got, nil
		}
	}
}

// Close returns every blocked waiter and releases the context. One wake
// poll's completion returns one waiter (the others sleep again in the
// kernel), so Close arms one more poll on the wake eventfd, kept readable,
// until no Wait is left.
func (s *Shared) Close() error {
	if s.waiters.Load() == 0 {
		return s.Notifier.Close()
	}
	n := s.Notifier
	if !n.gate.Close() {
		return notify.ErrClosed
	}
	werr := n.signal()
	s.closing = iocb{data: key(wakeSlot, 1), opcode: iocbCmdPoll, fildes: uint32(n.wakefd), buf: pollIn}
	batch := []*iocb{&s.closing}
	for !n.gate.Idle() {
		// A returning Wait may have drained the eventfd (its wake poll
		// completed before Close): write it again, then poll it.
		n.signal()
		s.mu.Lock()
		ioSubmit(n.id, batch) // EAGAIN (no request left): the next pass tries again
		n.calls.Inc(notify.CallSubmit)
		s.mu.Unlock()
		time.Sleep(100 * time.Microsecond)
	}
	return n.destroy(werr)
}
