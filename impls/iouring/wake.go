package iouring

import (
	"errors"
	"fmt"
	"sync"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/notify"
)

// wakerEntries sizes the private ring Wake submits on; a Wait that needs more
// CQEs than this is sent them in several batches.
const wakerEntries = 8

// waker posts CQEs into the main ring from any goroutine through
// IORING_OP_MSG_RING on a small ring of its own. The main ring cannot be
// used: its SQ belongs to the collecting goroutine, and a coop ring rejects
// every other thread.
type waker struct {
	mu     sync.Mutex
	ring   *uring.Ring
	target int32
	skipOK bool
}

func newWaker(target int) (*waker, error) {
	var p uring.Params
	r, err := uring.New(wakerEntries, &p)
	if err != nil {
		return nil, err
	}
	return &waker{ring: r, target: int32(target), skipOK: p.Features&uring.IORING_FEAT_CQE_SKIP != 0}, nil
}

// post makes the kernel append k CQEs (user_data udWake) to the main ring,
// enough to satisfy the min_complete of the Wait that published k.
func (w *waker) post(k uint32, c *notify.Counters) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ring == nil {
		return notify.ErrClosed
	}
	sq, cq := &w.ring.SQ, &w.ring.CQ
	for k > 0 {
		// Only failed messages post a CQE here (successes are skipped);
		// nobody reads them, so free their slots.
		cq.Release(cq.Tail())
		for ; k > 0; k-- {
			sqe := sq.Next()
			if sqe == nil {
				break
			}
			w.message(sqe, udWake) // user_data of the CQE posted in the main ring
		}
		if err := w.submit(c, notify.CallWake); err != nil {
			return err
		}
	}
	return nil
}

// ring1 is a user event's doorbell: one MSG_RING that posts a CQE with
// user_data ud into the main ring, counted as the producer's firing. A
// message the kernel fails posts a CQE here (successes are skipped); it is
// the doorbell's failure when it carries ud.
func (w *waker) ring1(ud uint64, c *notify.Counters) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ring == nil {
		return notify.ErrClosed
	}
	sq, cq := &w.ring.SQ, &w.ring.CQ
	cq.Release(cq.Tail())
	sqe := sq.Next()
	if sqe == nil {
		// Every message is submitted under the mutex before it is released,
		// so the SQ ring is empty here.
		return fmt.Errorf("io_uring MSG_RING: private ring full: %w", unix.EBUSY)
	}
	w.message(sqe, ud)
	sqe.UserData = ud
	if err := w.submit(c, notify.CallFire); err != nil {
		return err
	}
	for head, tail := cq.Head(), cq.Tail(); head != tail; head++ {
		if e := cq.At(head); e.UserData == ud && e.Res < 0 {
			cq.Release(tail)
			return fmt.Errorf("io_uring MSG_RING: %w", unix.Errno(-e.Res))
		}
	}
	return nil
}

// message fills sqe with a MSG_RING that posts a CQE with user_data ud
// into the main ring (only a failed message posts one here).
func (w *waker) message(sqe *uring.SQE, ud uint64) {
	sqe.Opcode = uring.IORING_OP_MSG_RING
	sqe.FD = w.target
	sqe.Addr = uring.IORING_MSG_DATA
	sqe.Off = ud
	if w.skipOK {
		sqe.Flags = uring.IOSQE_CQE_SKIP_SUCCESS
	}
}

// submit enters the private ring until every published message is
// submitted, counting each entry as kind. Called with mu held.
func (w *waker) submit(c *notify.Counters, kind notify.SyscallKind) error {
	sq := &w.ring.SQ
	for pending := sq.Publish(); pending > 0; pending = sq.Publish() {
		c.Inc(kind)
		m, errno := w.ring.Submit(pending, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return fmt.Errorf("io_uring_enter(MSG_RING): %w", errno)
		}
		if m == 0 {
			return fmt.Errorf("io_uring_enter(MSG_RING): nothing submitted: %w", unix.EAGAIN)
		}
	}
	return nil
}

func (w *waker) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ring == nil {
		return nil
	}
	err := w.ring.Close()
	w.ring = nil
	return err
}

// Wake makes a blocked Wait return, or the next Wait if none is blocked.
func (n *Notifier) Wake() error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	return n.wakeWaiter()
}

func (n *Notifier) wakeWaiter() error {
	// One swap de-duplicates Wakes: while the flag is set, a Wait either has
	// been sent its CQEs or will see the flag before it blocks.
	if n.woken.Swap(true) {
		return nil
	}
	if k := n.need.Load(); k > 0 {
		return n.waker.post(k, &n.Counters)
	}
	return nil
}

// Close releases the rings. A Wait blocked in io_uring_enter is woken with
// MSG_RING CQEs and returns ErrClosed; the memory is unmapped only after it
// has left.
func (n *Notifier) Close() error {
	if !n.gate.Close() {
		return notify.ErrClosed
	}
	werr := n.wakeWaiter()
	n.gate.WaitIdle()
	return errors.Join(werr, n.waker.close(), n.ring.Close(), n.closeKinds())
}
