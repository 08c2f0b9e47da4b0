package iouring

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/notify"
)

// Source kinds (notify.KindSources). Timers, signals and user events live in
// a table of their own, n.ksrcs, whose index is the id the caller gets; in
// user_data their slot carries kindBit, so one bit tells a reap which table
// a CQE belongs to and the descriptor path pays one test for it.
//
// A kind source's CQEs never become events directly. complete adds what one
// brings (expirations, signals read, the value posted) to the source's
// pending count and queues the source once on n.kready; reap turns the queue
// into events, one per source, when it has room. So however many CQEs a
// source posts between two Waits, the caller gets one Event whose Data is
// their sum, and a CQE that brings nothing (a signal already read, a doorbell
// whose value an earlier one took) reports nothing.

// kindBit marks a kind source's slot in user_data's low 32 bits.
const kindBit = 1 << 31

// ksrc is one timer, signal or user event.
type ksrc struct {
	kind    notify.Kind
	token   uint64
	gen     uint32
	live    bool
	armed   bool // a TIMEOUT or POLL_ADD for (slot, gen) is queued or in the kernel
	queued  bool // on n.kready
	pending uint64
	flags   notify.Flags

	// Timers: deadlines are CLOCK_MONOTONIC nanoseconds. The k-th expiration
	// (k from 0) is due at start + k*period; fired counts those reported.
	start, period, next int64
	fired               uint64

	// Signals: the signal and the signalfd the ring polls.
	sig, fd int

	// User events: the state Post shares with the collector.
	user *userEvent
}

// kindOps records what the kernel offers the kinds (probed once in New).
type kindOps struct {
	timers  error // nil: IORING_OP_TIMEOUT and TIMEOUT_REMOVE are supported
	signals error // nil: signalfd readiness reaches this setup's polls
}

func (n *Notifier) probeKinds() {
	if err := n.ring.Probe(uring.IORING_OP_TIMEOUT, uring.IORING_OP_TIMEOUT_REMOVE); err != nil {
		// Unavailable (the kernel's refusal, a skip) and unsupported (the
		// kind is missing from Caps.Kinds) at once.
		n.kops.timers = fmt.Errorf("iouring %v timers: %w (%w): %w", n.setup, notify.ErrUnavailable, errors.ErrUnsupported, err)
	}
	if n.setup == SQPoll {
		// The poll's wakeup re-polls the signalfd in the task that submitted
		// it, the SQPOLL thread, and signalfd_poll looks at that thread's
		// pending signals, never at the collector's (TestSignalSQPoll).
		n.kops.signals = fmt.Errorf("iouring sqpoll signals: a signalfd polled by the SQPOLL thread sees that thread's pending signals, "+
			"not the collecting thread's: %w", errors.ErrUnsupported)
	}
}

// newKind takes a free slot for a source of kind k, growing the table and
// the queues Wait appends to (so that Wait never allocates).
func (n *Notifier) newKind(k notify.Kind, token uint64) (uint32, *ksrc) {
	var slot uint32
	if m := len(n.kfree); m > 0 {
		slot, n.kfree = n.kfree[m-1], n.kfree[:m-1]
	} else {
		slot = uint32(len(n.ksrcs))
		n.ksrcs = append(n.ksrcs, ksrc{})
		for _, q := range []*[]uint32{&n.kready, &n.krearmq} {
			if cap(*q) < len(n.ksrcs) {
				g := make([]uint32, len(*q), 2*len(n.ksrcs))
				copy(g, *q)
				*q = g
			}
		}
	}
	s := &n.ksrcs[slot]
	*s = ksrc{kind: k, token: token, gen: (s.gen + 1) & genMask, live: true, fd: -1}
	return slot, s
}

// freeKind retires a slot: its generation moves on, so CQEs of its requests,
// in flight or already in the CQ ring, no longer match, and whatever it had
// accumulated is dropped.
func (n *Notifier) freeKind(slot uint32) {
	s := &n.ksrcs[slot]
	if s.queued {
		for i, q := range n.kready {
			if q == slot {
				n.kready = append(n.kready[:i], n.kready[i+1:]...)
				break
			}
		}
	}
	if s.fd >= 0 {
		unix.Close(s.fd)
	}
	*s = ksrc{gen: (s.gen + 1) & genMask, fd: -1}
	n.kfree = append(n.kfree, slot)
}

func kindData(slot, gen uint32) uint64 { return userData(slot|kindBit, gen) }

// source returns the live kind source id, or an error naming op.
func (n *Notifier) source(op string, id int) (*ksrc, error) {
	if id < 0 || id >= len(n.ksrcs) || !n.ksrcs[id].live {
		return nil, fmt.Errorf("iouring %s source %d: %w", op, id, os.ErrNotExist)
	}
	return &n.ksrcs[id], nil
}

// RemoveSource unregisters a timer, signal or user event. Its request is
// cancelled with the next enter; CQEs it already produced are dropped by
// generation, and a report it had pending is discarded.
func (n *Notifier) RemoveSource(id int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	s, err := n.source("remove", id)
	if err != nil {
		return err
	}
	slot := uint32(id)
	if s.kind == notify.KindUser {
		n.dropUser(slot)
	}
	err = n.cancelKind(slot)
	n.freeKind(slot)
	if err != nil {
		return fmt.Errorf("iouring remove source %d: %w", id, err)
	}
	return nil
}

// cancelKind queues the removal of the slot's armed request, if any.
func (n *Notifier) cancelKind(slot uint32) error {
	s := &n.ksrcs[slot]
	if !s.armed {
		return nil
	}
	op := uint8(uring.IORING_OP_POLL_REMOVE)
	if s.kind == notify.KindTimer {
		op = uring.IORING_OP_TIMEOUT_REMOVE
	}
	if err := n.queueRemove(op, kindData(slot, s.gen)); err != nil {
		return err
	}
	s.armed = false
	return nil
}

// armKind queues the request a timer or signal waits with.
func (n *Notifier) armKind(slot uint32) error {
	switch n.ksrcs[slot].kind {
	case notify.KindTimer:
		return n.armTimer(slot)
	case notify.KindSignal:
		return n.armSignal(slot)
	}
	return nil
}

// completeKind takes one CQE of kind source slot. It never fills an event
// itself: see report.
func (n *Notifier) completeKind(slot, gen uint32, res int32, flags uint32) {
	if int(slot) >= len(n.ksrcs) || !n.ksrcs[slot].live || n.ksrcs[slot].gen != gen {
		n.stats.stale++
		return
	}
	s := &n.ksrcs[slot]
	switch s.kind {
	case notify.KindTimer:
		n.timerDone(slot, res)
	case notify.KindSignal:
		n.signalDone(slot, res, flags)
	case notify.KindUser:
		n.userRung(slot)
	}
}

// requestFailed handles a timer's or signal's request ending with an error
// other than its normal one. ECANCELED that we did not ask for (our cancels
// target older generations) comes from the kernel tearing down the
// submitting thread's requests: re-arm. Anything else is reported once as
// an Error event, and the source stays disarmed until RemoveSource.
func (n *Notifier) requestFailed(slot uint32, res int32) {
	if res == -int32(unix.ECANCELED) {
		n.stats.cancelled++
		n.krearmq = append(n.krearmq, slot)
		return
	}
	n.report(slot, 0, notify.Error)
}

// report adds data to slot's pending count and queues it for an event.
func (n *Notifier) report(slot uint32, data uint64, fl notify.Flags) {
	s := &n.ksrcs[slot]
	s.pending += data
	s.flags |= fl
	if !s.queued {
		s.queued = true
		n.kready = append(n.kready, slot) // capacity: one per slot (newKind)
	}
}

// flushKinds turns queued kind sources into events, oldest first, as many
// as fit; the rest wait for the next reap.
func (n *Notifier) flushKinds(events []notify.Event) int {
	q := n.kready
	k := 0
	for ; k < len(q) && k < len(events); k++ {
		s := &n.ksrcs[q[k]]
		events[k] = notify.Event{Token: s.token, Ready: notify.Readable, Flags: s.flags, Kind: s.kind, Data: s.pending}
		s.pending, s.flags, s.queued = 0, 0, false
	}
	n.kready = q[:copy(q, q[k:])]
	return k
}

// rearmKinds queues the requests reap found ended. A slot removed or armed
// again meanwhile is skipped; if the SQ ring cannot take more, the rest
// stay queued for the next reap.
func (n *Notifier) rearmKinds() {
	q := n.krearmq
	i := 0
	for ; i < len(q); i++ {
		s := &n.ksrcs[q[i]]
		if !s.live || s.armed {
			continue
		}
		if n.armKind(q[i]) != nil {
			break
		}
	}
	n.krearmq = q[:copy(q, q[i:])]
}

// resyncKinds re-arms every armed timer and signal poll (EBADR: the kernel
// dropped CQEs, so any of them may have ended unseen). A timer keeps its
// deadline; one already past completes at once and counts what elapsed.
func (n *Notifier) resyncKinds() error {
	for slot := range n.ksrcs {
		s := &n.ksrcs[slot]
		if !s.live || !s.armed {
			// Not armed: a delivered once-timer, a user event, or a source
			// already waiting on krearmq.
			continue
		}
		if err := n.cancelKind(uint32(slot)); err != nil {
			return err
		}
		s.gen = (s.gen + 1) & genMask
		if err := n.armKind(uint32(slot)); err != nil {
			return err
		}
	}
	return nil
}

// closeKinds releases what the kind sources own; Close calls it once no
// caller is inside.
func (n *Notifier) closeKinds() error {
	for slot := range n.ksrcs {
		if s := &n.ksrcs[slot]; s.fd >= 0 {
			unix.Close(s.fd)
			s.fd = -1
		}
	}
	return n.ts.close()
}
