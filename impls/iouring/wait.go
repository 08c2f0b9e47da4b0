package iouring

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/internal/clock"
	"kbench/notify"
)

// waitBudget is one Wait's time: its timeout (-1 for none, 0 to poll) and
// the deadline a positive one sets.
type waitBudget struct {
	timeout  time.Duration
	deadline int64
}

// beginWait checks a Wait's arguments and enters the gate (the caller
// exits it), starting the Wait's clock.
func (n *Notifier) beginWait(events []notify.Event, min int, timeout time.Duration) (waitBudget, error) {
	timeout, err := notify.WaitArgs("iouring", events, min, timeout)
	if err != nil {
		return waitBudget{}, err
	}
	if !n.gate.Enter() {
		return waitBudget{}, notify.ErrClosed
	}
	b := waitBudget{timeout: timeout}
	if timeout > 0 {
		b.deadline = clock.Now() + int64(timeout)
	}
	return b, nil
}

// left is how long a Wait may still block (-1: no limit); false once the
// time is up, or at once for a polling Wait.
func (b waitBudget) left() (time.Duration, bool) {
	if b.timeout < 0 {
		return -1, true
	}
	left := time.Duration(b.deadline - clock.Now())
	return left, b.timeout > 0 && left > 0
}

// Wait collects events as notify/doc.go describes: user-space reaping first,
// one io_uring_enter per step only for what is missing.
func (n *Notifier) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	budget, err := n.beginWait(events, min, timeout)
	if err != nil {
		return 0, err
	}
	defer n.gate.Exit()

	got, err := n.collect(events, 0)
	if err != nil {
		return got, err
	}
	if got >= min && got > 0 {
		if n.hasPending() {
			// Queued SQEs (re-arms, Modify) reach the kernel now rather than
			// waiting for a Wait that has to block. A re-armed level source
			// that is still ready completes inline during this submit, and
			// the submit also fetches deferred and parked completions when
			// the kernel flags them (see submit), so collect once more.
			if err = n.submit(false); err == nil {
				got, err = n.collect(events, got)
			}
		}
		return got, err
	}
	// Fewer than min, or nothing at all with min 0 (timeout is 0 then, and
	// the loop polls: it enters only if the kernel holds completions we
	// cannot see yet). A coop ring's deferred completions are such; a min-0
	// Wait that returned above with nothing would never see them.
	for {
		if n.gate.Closed() {
			return got, notify.ErrClosed
		}
		if n.woken.Swap(false) {
			return got, nil
		}
		left, ok := budget.left()
		if !ok {
			return n.poll(events, got)
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
//
// When the kernel holds completions that only an enter with GETEVENTS moves
// into the CQ ring, the submit carries GETEVENTS with min_complete 0 (as
// liburing's io_uring_submit does when cq_ring_needs_flush): that costs no
// extra system call and never waits. On a coop ring this is what keeps a
// Wait that always has events in hand, and so only ever submits, from
// starving every other source: DEFER_TASKRUN runs a poll's wakeup
// (io_req_local_work_add) only in io_uring_enter with GETEVENTS
// (io_run_local_work_locked after the submit, io_run_local_work in
// io_cqring_wait), never in a plain submit. The kernel sets IORING_SQ_TASKRUN
// when that work list becomes non-empty, clears it when the work runs, and
// sets it again if some is left (it runs at most IO_LOCAL_TW_DEFAULT_MAX, 20,
// items for min_complete 0), so a flag missed here stays set for the next
// enter. IORING_SQ_CQ_OVERFLOW gets the same treatment: GETEVENTS flushes the
// overflow list (io_cqring_do_overflow_flush), and the sooner it is empty the
// sooner multishot requests stop being ended.
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
			// The thread is awake and will see the new tail. It runs the
			// polls' task_work itself; overflow waits for collect.
			return nil
		}
	} else {
		toSubmit = pending
	}
	// Pairs with the kernel's atomic_or of IORING_SQ_TASKRUN (only on coop
	// rings, which have IORING_SETUP_TASKRUN_FLAG) and IORING_SQ_CQ_OVERFLOW;
	// a flag set just after this load stays set for the next enter.
	if f := n.ring.SQ.Flags(); f&(uring.IORING_SQ_TASKRUN|uring.IORING_SQ_CQ_OVERFLOW) != 0 {
		flags |= uring.IORING_ENTER_GETEVENTS
		if f&uring.IORING_SQ_CQ_OVERFLOW != 0 {
			n.stats.overflowFlushes++
		}
	}
	kind := notify.CallSubmit
	if flags&uring.IORING_ENTER_GETEVENTS != 0 {
		kind = notify.CallWait
	}
	for {
		n.Inc(kind)
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
