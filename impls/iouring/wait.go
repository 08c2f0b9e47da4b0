package iouring

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/internal/clock"
	"kbench/notify"
)

// Wait collects events as notify/doc.go describes: user-space reaping first,
// one io_uring_enter per step only for what is missing.
func (n *Notifier) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	if min < 0 || min > len(events) {
		return 0, fmt.Errorf("iouring wait: min %d with %d event slots: %w", min, len(events), notify.ErrInvalid)
	}
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	if min == 0 {
		timeout = 0
	}
	var deadline int64
	if timeout > 0 {
		deadline = clock.Now() + int64(timeout)
	}

	got, err := n.collect(events, 0)
	if err != nil || got >= min {
		if err == nil && n.hasPending() {
			// Queued SQEs (re-arms, Modify) reach the kernel now rather than
			// waiting for a Wait that has to block. A re-armed level source
			// that is still ready completes inline during this submit, so
			// collect once more.
			if err = n.submit(false); err == nil {
				got, err = n.collect(events, got)
			}
		}
		return got, err
	}
	for {
		if n.gate.Closed() {
			return got, notify.ErrClosed
		}
		if n.woken.Swap(false) {
			return got, nil
		}
		left := time.Duration(-1) // no limit
		if timeout >= 0 {
			if left = time.Duration(deadline - clock.Now()); timeout == 0 || left <= 0 {
				return n.poll(events, got)
			}
		}
		want := uint32(min - got)
		if e := n.ring.CQ.Entries(); want > e {
			want = e // the kernel clamps min_complete the same way
		}
		// Publish how many CQEs this Wait needs before checking for a Wake:
		// Wake sets woken and then reads need, we set need and then read
		// woken (sequentially consistent atomics), so either we see its flag
		// or it sees our count and posts that many CQEs.
		n.need.Store(want)
		if n.woken.Load() || n.gate.Closed() {
			n.need.Store(0)
			continue
		}
		errno := n.enter(want, left)
		n.need.Store(0)
		if err := n.enterErr(errno); err != nil {
			return got, err
		}
		if got, err = n.collect(events, got); err != nil || got >= min {
			return got, err
		}
	}
}

// poll is the never-blocking end of a Wait: it enters only when the kernel
// holds something user space cannot see yet.
func (n *Notifier) poll(events []notify.Event, got int) (int, error) {
	if n.setup == SQPoll {
		// Publishing (and waking the SQ thread if it sleeps) needs no GETEVENTS.
		if err := n.submit(false); err != nil {
			return got, err
		}
	}
	if !n.mustEnter() {
		return got, nil
	}
	if err := n.enterErr(n.enter(0, -1)); err != nil {
		return got, err
	}
	return n.collect(events, got)
}

// mustEnter: queued SQEs (not SQPOLL: its thread submits them), CQEs parked
// on the overflow list, or, on a DEFER_TASKRUN ring, completions that exist
// only as deferred task_work until this thread enters (IORING_SQ_TASKRUN,
// set because the ring has IORING_SETUP_TASKRUN_FLAG).
func (n *Notifier) mustEnter() bool {
	if n.setup != SQPoll && n.ring.SQ.Pending() > 0 {
		return true
	}
	f := n.ring.SQ.Flags()
	return f&uring.IORING_SQ_CQ_OVERFLOW != 0 || n.setup == Coop && f&uring.IORING_SQ_TASKRUN != 0
}

func (n *Notifier) hasPending() bool {
	if n.setup == SQPoll {
		return n.ring.SQ.Unpublished() > 0
	}
	return n.ring.SQ.Pending() > 0
}

// enter is one io_uring_enter with GETEVENTS: it submits what is queued and
// waits until min CQEs are in the ring or timeout passes (< 0: no limit).
func (n *Notifier) enter(min uint32, timeout time.Duration) unix.Errno {
	toSubmit := n.ring.SQ.Publish()
	var extra uint32
	if n.setup == SQPoll {
		// The SQ thread submits; the kernel ignores to_submit. Reading the
		// flags after Publish's tail store is the NEED_WAKEUP handshake.
		toSubmit = 0
		if n.ring.SQ.Flags()&uring.IORING_SQ_NEED_WAKEUP != 0 {
			extra |= uring.IORING_ENTER_SQ_WAKEUP
		}
	}
	n.Inc(notify.CallWait)
	_, errno := n.ring.Wait(toSubmit, min, extra, timeout)
	return errno
}

// submit hands queued SQEs to the kernel without waiting. full asks an
// SQPOLL ring to wait until its thread has made room.
func (n *Notifier) submit(full bool) error {
	pending := n.ring.SQ.Publish()
	if pending == 0 {
		return nil
	}
	var toSubmit, flags uint32
	if n.setup == SQPoll {
		if n.ring.SQ.Flags()&uring.IORING_SQ_NEED_WAKEUP != 0 {
			flags |= uring.IORING_ENTER_SQ_WAKEUP
		}
		if full {
			flags |= uring.IORING_ENTER_SQ_WAIT
		}
		if flags == 0 {
			return nil // the thread is awake and will see the new tail
		}
	} else {
		toSubmit = pending
	}
	for {
		n.Inc(notify.CallSubmit)
		_, errno := n.ring.Submit(toSubmit, flags)
		switch errno {
		case 0, unix.EAGAIN, unix.EBUSY:
			// EAGAIN/EBUSY: the kernel took nothing this time; the SQEs stay
			// queued for the next enter.
			return nil
		case unix.EINTR:
			continue
		}
		return n.enterErr(errno)
	}
}

// enterErr sorts io_uring_enter's errors: the ones a Wait absorbs, and the
// ones it reports.
func (n *Notifier) enterErr(errno unix.Errno) error {
	switch errno {
	case 0, unix.ETIME, unix.EINTR, unix.EAGAIN, unix.EBUSY:
		return nil
	case unix.EBADR:
		// The kernel dropped CQEs it could not park; it clears the condition
		// once it has told us. Any request may have ended unseen.
		return n.resync()
	case unix.EEXIST:
		if n.setup == Coop {
			return fmt.Errorf("io_uring_enter: %w (a coop ring accepts only the OS thread that created it: "+
				"create and use the Notifier on one goroutine locked with runtime.LockOSThread)", errno)
		}
	}
	return fmt.Errorf("io_uring_enter: %w", errno)
}

// nextSQE returns a free SQE, submitting what is queued when the ring is full.
func (n *Notifier) nextSQE() (*uring.SQE, error) {
	if sqe := n.ring.SQ.Next(); sqe != nil {
		return sqe, nil
	}
	// One submit empties a plain ring unless the kernel is short of memory
	// (EAGAIN). IORING_ENTER_SQ_WAIT returns early when a signal is pending,
	// and the Go runtime signals its threads (SIGURG), so an SQPOLL ring may
	// take a few rounds.
	for try := 0; try < 100; try++ {
		if err := n.submit(true); err != nil {
			return nil, err
		}
		if sqe := n.ring.SQ.Next(); sqe != nil {
			return sqe, nil
		}
	}
	return nil, fmt.Errorf("iouring: submission ring still full after io_uring_enter: %w", unix.EBUSY)
}
