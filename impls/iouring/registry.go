package iouring

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/notify"
)

// reg is one registered source. Its slot index and gen travel in user_data.
type reg struct {
	fd    int
	token uint64
	in    notify.Interest
	tr    notify.Trigger
	gen   uint32
	live  bool // registered (slot in use)
	armed bool // a poll request for (slot, gen) is queued or in the kernel
}

// user_data layout: slot in bits 0-31, generation in bits 32-62, bit 63 for
// the backend's own requests.
const (
	ctlBit   = 1 << 63
	genMask  = 1<<31 - 1
	udWake   = ctlBit | 1 // MSG_RING messages posted by Wake and Close
	udRemove = ctlBit | 2 // POLL_REMOVE results
)

func userData(slot, gen uint32) uint64 { return uint64(gen&genMask)<<32 | uint64(slot) }

func splitUserData(ud uint64) (slot, gen uint32) { return uint32(ud), uint32(ud>>32) & genMask }

// pollMask builds poll32_events. The kernel reads them as poll(2) bits,
// which on Linux share their values with the EPOLL* constants used here.
func pollMask(in notify.Interest) uint32 {
	var m uint32
	if in&notify.Readable != 0 {
		m |= unix.EPOLLIN
	}
	if in&notify.Writable != 0 {
		m |= unix.EPOLLOUT
	}
	return m
}

// readiness translates a poll result mask. A hung-up or failed source is
// reported ready for what it was registered for, since the next read or write
// is what tells the consumer about the EOF or the error.
func readiness(mask uint32, in notify.Interest) (notify.Interest, notify.Flags) {
	var ready notify.Interest
	var fl notify.Flags
	if mask&(unix.EPOLLIN|unix.EPOLLPRI|unix.EPOLLRDNORM) != 0 {
		ready |= notify.Readable
	}
	if mask&(unix.EPOLLOUT|unix.EPOLLWRNORM) != 0 {
		ready |= notify.Writable
	}
	if mask&(unix.EPOLLHUP|unix.EPOLLRDHUP) != 0 {
		fl |= notify.Hangup
	}
	if mask&(unix.EPOLLERR|unix.POLLNVAL) != 0 {
		fl |= notify.Error
	}
	if fl != 0 {
		ready |= in
	}
	return ready & in, fl
}

func checkRegistration(fd int, in notify.Interest, tr notify.Trigger) error {
	if fd < 0 || !in.Valid() {
		return notify.ErrInvalid
	}
	switch tr {
	case notify.Level, notify.Oneshot, notify.Multishot:
		return nil
	}
	return fmt.Errorf("trigger %v: %w", tr, errors.ErrUnsupported)
}

// Add registers fd; its POLL_ADD is submitted with the next enter.
func (n *Notifier) Add(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	if err := checkRegistration(fd, in, tr); err != nil {
		return fmt.Errorf("iouring add fd %d: %w", fd, err)
	}
	if _, ok := n.byFD.Get(fd); ok {
		return fmt.Errorf("iouring add fd %d: %w", fd, os.ErrExist)
	}
	var slot uint32
	if k := len(n.free); k > 0 {
		slot, n.free = n.free[k-1], n.free[:k-1]
	} else {
		slot = uint32(len(n.regs))
		n.regs = append(n.regs, reg{})
		// Every slot can be queued for re-arm at most once per reap; sizing
		// the queue here keeps Wait free of allocations.
		if cap(n.rearmq) < len(n.regs) {
			q := make([]uint32, len(n.rearmq), 2*len(n.regs))
			copy(q, n.rearmq)
			n.rearmq = q
		}
	}
	r := &n.regs[slot]
	*r = reg{fd: fd, token: token, in: in, tr: tr, gen: (r.gen + 1) & genMask, live: true}
	n.byFD.Set(fd, slot)
	if err := n.arm(slot); err != nil {
		r.live = false
		n.byFD.Del(fd)
		n.free = append(n.free, slot)
		return fmt.Errorf("iouring add fd %d: %w", fd, err)
	}
	return nil
}

// Modify replaces fd's registration. For a oneshot source whose poll has
// completed this is the re-arm: one POLL_ADD queued, nothing else. A request
// still armed is removed first, and the new generation makes any of its CQEs
// still in flight unreportable.
func (n *Notifier) Modify(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	if err := checkRegistration(fd, in, tr); err != nil {
		return fmt.Errorf("iouring modify fd %d: %w", fd, err)
	}
	slot, ok := n.byFD.Get(fd)
	if !ok {
		return fmt.Errorf("iouring modify fd %d: %w", fd, os.ErrNotExist)
	}
	r := &n.regs[slot]
	if err := n.cancel(slot); err != nil {
		return fmt.Errorf("iouring modify fd %d: %w", fd, err)
	}
	r.gen = (r.gen + 1) & genMask
	r.token, r.in, r.tr = token, in, tr
	if err := n.arm(slot); err != nil {
		return fmt.Errorf("iouring modify fd %d: %w", fd, err)
	}
	return nil
}

// Remove unregisters fd. Its request is cancelled with the next enter; any
// CQE it already produced carries the old generation and is dropped.
func (n *Notifier) Remove(fd int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	slot, ok := n.byFD.Get(fd)
	if !ok {
		return fmt.Errorf("iouring remove fd %d: %w", fd, os.ErrNotExist)
	}
	r := &n.regs[slot]
	err := n.cancel(slot)
	// Retire the slot even if the cancel could not be queued: the bumped
	// generation alone keeps the request's CQEs from being reported.
	r.gen = (r.gen + 1) & genMask
	r.live = false
	n.byFD.Del(fd)
	n.free = append(n.free, slot)
	if err != nil {
		return fmt.Errorf("iouring remove fd %d: %w", fd, err)
	}
	return nil
}

// arm queues a POLL_ADD for the slot's current generation.
func (n *Notifier) arm(slot uint32) error {
	r := &n.regs[slot]
	sqe, err := n.nextSQE()
	if err != nil {
		return err
	}
	sqe.Opcode = uring.IORING_OP_POLL_ADD
	sqe.FD = int32(r.fd)
	sqe.OpFlags = pollMask(r.in) // poll32_events
	if r.tr == notify.Multishot {
		sqe.Len = uring.IORING_POLL_ADD_MULTI
	}
	sqe.UserData = userData(slot, r.gen)
	r.armed = true
	return nil
}

// cancel queues a POLL_REMOVE for the slot's armed request, if any. The
// caller bumps the generation afterwards.
func (n *Notifier) cancel(slot uint32) error {
	r := &n.regs[slot]
	if !r.armed {
		return nil
	}
	if err := n.queueRemove(uring.IORING_OP_POLL_REMOVE, userData(slot, r.gen)); err != nil {
		return err
	}
	r.armed = false
	return nil
}

// queueRemove queues op (POLL_REMOVE, TIMEOUT_REMOVE) of the request whose
// user_data is target.
func (n *Notifier) queueRemove(op uint8, target uint64) error {
	sqe, err := n.nextSQE()
	if err != nil {
		return err
	}
	sqe.Opcode = op
	sqe.FD = -1
	sqe.Addr = target
	sqe.UserData = udRemove
	if n.skipOK {
		// Only a failure (ENOENT: the request had already completed) posts
		// a CQE; it is dropped by its control bit anyway.
		sqe.Flags = uring.IOSQE_CQE_SKIP_SUCCESS
	}
	return nil
}

// resync re-arms every registration from scratch. It answers EBADR: the
// kernel dropped CQEs, so any request may have ended unseen.
func (n *Notifier) resync() error {
	n.stats.resyncs++
	for slot := range n.regs {
		r := &n.regs[slot]
		// A delivered oneshot waits for Modify; re-arming it would report
		// it again unasked.
		if !r.live || (r.tr == notify.Oneshot && !r.armed) {
			continue
		}
		if err := n.cancel(uint32(slot)); err != nil {
			return err
		}
		r.gen = (r.gen + 1) & genMask
		if err := n.arm(uint32(slot)); err != nil {
			return err
		}
	}
	return n.resyncKinds()
}
