package iouring

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"kbench/impls/iouring/uring"
	"kbench/notify"
)

// Several threads may wait on one plain ring (no SINGLE_ISSUER, no
// DEFER_TASKRUN: a coop ring takes io_uring_enter from its creator only,
// and an SQPOLL ring's submissions are its kernel thread's): each blocks
// in io_uring_enter with GETEVENTS and min_complete 1. The rings
// themselves are user memory with one reader and one writer on our side —
// the CQ head, the SQ tail — so user space serialises them (Shared.mu),
// as an application sharing a ring with liburing must; the lock is never
// held while a thread sleeps in the kernel.
//
// Wake policy (io_uring/wait.c): a waiter queues itself on ctx->cq_wait
// with the CQ tail it waits for (the head it saw plus min_complete), and a
// posted CQE wakes every waiter whose tail has been reached — with
// min_complete 1, every blocked waiter. Each returns to user space; the
// first to take the lock reaps the CQE, the others find the ring empty and
// enter again. So one firing returns one Wait (notify.WakeOne, what the
// contract's check observes), and the others' wake-ups cost a system call
// and a context switch each: the herd's syscalls/event and csw/event show
// them (TestSharedRingWakesEveryWaiter measures it on the running kernel).
//
// A poll request belongs to the thread that submitted it: its wake-ups run
// as task_work on that thread (on a plain ring, a TWA_SIGNAL notification
// that interrupts whatever it is doing), whichever thread then reaps the
// CQE; and the kernel cancels a thread's requests when it exits, which the
// reaper re-arms (complete).

// Shared is a plain ring on which several goroutines may block at once
// (notify.SharedWaiter). Until NewWaiter is first called its Wait, Wake
// and Close are the Notifier's; from then on every Wait, the owner's
// included, reaps, re-arms and submits under one lock.
type Shared struct {
	*Notifier
	mu sync.Mutex
	// waiters counts the Waiters made; nonzero: the shared paths. The Add
	// in NewWaiter comes before the waiting goroutines start (the caller's
	// go statement orders it), so the Loads see it.
	waiters atomic.Int32
	// blocked counts the Waits about to block in the kernel or blocked
	// there. A Wait adds itself and then reads woken and the gate; Wake
	// sets woken and then reads blocked (sequentially consistent atomics):
	// either the Wait sees the flag, or Wake sees the count and posts a
	// CQE, which wakes it in the kernel or makes its enter return at once.
	blocked atomic.Int32
	own     *sharedWaiter // the owner's Wait once the ring is shared

	amu   sync.Mutex
	areas []*uring.WaitArea // every waiter's wait argument, unmapped by Close
}

var _ notify.SharedWaiter = (*Shared)(nil)

// NewShared opens a plain ring several goroutines may wait on.
func NewShared(cfg Config) (*Shared, error) {
	if cfg.Setup != Plain {
		return nil, fmt.Errorf("iouring: a shared ring is plain (a %v ring has one waiting thread): %w", cfg.Setup, notify.ErrInvalid)
	}
	n, err := New(cfg)
	if err != nil {
		return nil, err
	}
	s := &Shared{Notifier: n}
	s.own = &sharedWaiter{s: s}
	return s, nil
}

// sharedWaiter is one goroutine's Wait on a Shared ring: its wait
// argument, mapped at its first blocking Wait.
type sharedWaiter struct {
	s    *Shared
	area *uring.WaitArea
}

// NewWaiter returns one more waiting goroutine's handle. Call it before
// the waiting starts: the owner's Wait switches to the shared path.
func (s *Shared) NewWaiter() notify.Waiter {
	s.waiters.Add(1)
	return &sharedWaiter{s: s}
}

// WakePolicy: one firing returns one Wait (see the file comment).
func (s *Shared) WakePolicy() notify.WakePolicy { return notify.WakeOne }

// Wait is the Notifier's while no Waiter exists, the shared path after.
func (s *Shared) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	if s.waiters.Load() == 0 {
		return s.Notifier.Wait(events, min, timeout)
	}
	return s.own.Wait(events, min, timeout)
}

// Wait collects as the Notifier's Wait does (wait.go), with the ring's
// user side under s.mu and the blocking enter outside it, min_complete 1:
// it returns once it holds min events, and enters again while it has
// fewer, whoever reaped the CQEs that woke it.
func (w *sharedWaiter) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	s, n := w.s, w.s.Notifier
	budget, err := n.beginWait(events, min, timeout)
	if err != nil {
		return 0, err
	}
	defer n.gate.Exit()
	got := 0
	for {
		s.mu.Lock()
		got, err = n.collect(events, got)
		if err == nil && n.hasPending() {
			// Re-arms and Modify's SQEs reach the kernel now; a re-armed
			// source still ready completes inline, so reap once more.
			if err = n.submit(false); err == nil {
				got, err = n.collect(events, got)
			}
		}
		s.mu.Unlock()
		if err != nil || got >= min && got > 0 {
			return got, err
		}
		if n.gate.Closed() {
			return got, notify.ErrClosed
		}
		if n.woken.Swap(false) {
			return got, nil
		}
		left, ok := budget.left()
		if !ok {
			return got, nil
		}
		if w.area == nil {
			if w.area, err = s.newArea(); err != nil {
				return got, err
			}
		}
		s.blocked.Add(1)
		if n.woken.Load() || n.gate.Closed() {
			s.blocked.Add(-1)
			continue
		}
		n.Inc(notify.CallWait)
		_, errno := n.ring.WaitIn(w.area, 0, 1, 0, left)
		s.blocked.Add(-1)
		if err := n.enterErr(errno); err != nil {
			return got, err
		}
	}
}

func (s *Shared) newArea() (*uring.WaitArea, error) {
	a, err := uring.NewWaitArea()
	if err != nil {
		return nil, err
	}
	s.amu.Lock()
	s.areas = append(s.areas, a)
	s.amu.Unlock()
	return a, nil
}

// Wake makes one blocked Wait return, or the next Wait if none is
// blocked: woken is the message, and one CQE posted into the ring wakes
// the blocked ones to look at it (the first to see it returns).
func (s *Shared) Wake() error {
	if s.waiters.Load() == 0 {
		return s.Notifier.Wake()
	}
	n := s.Notifier
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	if n.woken.Swap(true) {
		return nil
	}
	if s.blocked.Load() > 0 {
		return n.waker.post(1, &n.Counters)
	}
	return nil
}

// Close returns every blocked Wait with ErrClosed and releases the rings.
// A CQE wakes the Waits blocked when it is posted; one that had seen the
// gate open but not yet entered may enter after another has reaped that
// CQE, so Close posts again every 100 µs until every Wait has left.
func (s *Shared) Close() error {
	if s.waiters.Load() == 0 {
		return s.Notifier.Close()
	}
	n := s.Notifier
	if !n.gate.Close() {
		return notify.ErrClosed
	}
	var werr error
	for !n.gate.Idle() {
		if s.blocked.Load() > 0 && werr == nil {
			werr = n.waker.post(1, &n.Counters)
		}
		time.Sleep(100 * time.Microsecond)
	}
	s.amu.Lock()
	var aerr []error
	for _, a := range s.areas {
		aerr = append(aerr, a.Close())
	}
	s.areas = nil
	s.amu.Unlock()
	return errors.Join(werr, n.waker.close(), n.ring.Close(), n.closeKinds(), errors.Join(aerr...))
}
