//go:build linux

package aioring

import (
	"errors"
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

func check(in notify.Interest, tr notify.Trigger) error {
	if !in.Valid() {
		return fmt.Errorf("aioring: interest %v: %w", in, notify.ErrInvalid)
	}
	if tr != notify.Level && tr != notify.Oneshot {
		return fmt.Errorf("aioring: %v trigger: %w", tr, errors.ErrUnsupported)
	}
	return nil
}

// Add registers fd and submits its poll at once, so that the kernel's
// refusal (EBADF, or EINVAL for a file without poll support) is Add's error
// as epoll_ctl's would be.
func (n *Notifier) Add(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	if err := check(in, tr); err != nil {
		return err
	}
	if fd < 0 || fd > math.MaxInt32 {
		return fmt.Errorf("aioring: add fd %d: %w", fd, notify.ErrInvalid)
	}
	if _, dup := n.byFD.Get(fd); dup {
		return fmt.Errorf("aioring: add fd %d: %w", fd, os.ErrExist)
	}
	slot, err := n.register(int32(fd), token, in, tr, notify.KindFD)
	if err != nil {
		return fmt.Errorf("aioring: add fd %d: %w", fd, err)
	}
	n.byFD.Set(fd, slot)
	return nil
}

// register takes a free slot for fd and submits its poll at once (queued
// when the context's request budget is spent).
func (n *Notifier) register(fd int32, token uint64, in notify.Interest, tr notify.Trigger, kind notify.Kind) (uint32, error) {
	if len(n.free) == 0 {
		return 0, fmt.Errorf("%d sources registered, the context is sized for MaxSources=%d: %w",
			len(n.regs)-1, len(n.regs)-1, unix.ENOSPC)
	}
	slot := n.free[len(n.free)-1]
	r := &n.regs[slot]
	*r = reg{token: token, fd: fd, gen: r.gen, in: in, tr: tr, kind: kind, live: true}
	if n.inflight < n.limit-1 { // one request stays reserved for the wake poll
		n.prepare(slot)
		k, e := ioSubmit(n.id, append(n.batch[:0], &n.iocbs[slot]))
		n.calls.Inc(notify.CallSubmit)
		switch {
		case k == 1:
			r.st = inflight
			n.inflight++
		case e == unix.EAGAIN:
			n.queue(slot) // the kernel is short of request slots: retry in Wait
		default:
			r.live = false
			return 0, fmt.Errorf("io_submit: %w", e)
		}
	} else {
		n.queue(slot)
	}
	n.free = n.free[:len(n.free)-1]
	return slot, nil
}

// Modify replaces fd's registration. The token and trigger live in the slot
// table and change at once. An armed request whose interest is unchanged
// stays in the kernel (for Oneshot, re-arming an armed source is a no-op); a
// different interest cancels it and queues a new one; a disarmed
// registration is queued. Queued requests go out in the next Wait's single
// io_submit, so a Oneshot re-arm costs no system call of its own.
func (n *Notifier) Modify(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	if err := check(in, tr); err != nil {
		return err
	}
	slot, ok := n.byFD.Get(fd)
	if !ok {
		return fmt.Errorf("aioring: modify fd %d: %w", fd, os.ErrNotExist)
	}
	r := &n.regs[slot]
	r.token, r.tr, r.failed = token, tr, 0
	switch r.st {
	case inflight:
		if r.in == in {
			return nil
		}
		r.in = in
		err := n.cancelInflight(slot)
		n.queue(slot)
		return err
	case queued:
		r.in = in
	case idle:
		r.in = in
		n.queue(slot)
	}
	return nil
}

// Remove unregisters fd. An armed request is cancelled; its completion, or
// the readiness completion already sitting in the ring, carries the old
// generation and is dropped by Wait.
func (n *Notifier) Remove(fd int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	slot, ok := n.byFD.Get(fd)
	if !ok {
		return fmt.Errorf("aioring: remove fd %d: %w", fd, os.ErrNotExist)
	}
	n.byFD.Del(fd)
	return n.release(slot)
}

// release retires a slot's registration: its request is cancelled or
// unqueued, and the generation bump makes any completion of it stale.
func (n *Notifier) release(slot uint32) error {
	var err error
	switch n.regs[slot].st {
	case inflight:
		err = n.cancelInflight(slot)
	case queued:
		n.unqueue(slot)
	}
	r := &n.regs[slot]
	*r = reg{gen: r.gen + 1}
	n.free = append(n.free, slot)
	return err
}

// cancelInflight retires the slot's outstanding request: io_cancel releases
// the kernel's hold on the file, and the generation bump makes the request's
// completion stale. The request still completes exactly once (a cancelled
// poll completes with res 0), so inflight drops when Wait consumes it.
func (n *Notifier) cancelInflight(slot uint32) error {
	r := &n.regs[slot]
	e := ioCancel(n.id, &n.iocbs[slot], &n.cancel)
	n.calls.Inc(notify.CallCtl)
	r.gen++
	r.st = idle
	switch e {
	case unix.EINPROGRESS:
		// Cancelled; the completion is on its way through the ring.
	case unix.EINVAL:
		// No longer on the kernel's active list: it completed (its event
		// is in the ring or being posted), or it completed inline at
		// submission and never was on the list.
	default:
		return fmt.Errorf("aioring: io_cancel fd %d: %w", r.fd, e)
	}
	return nil
}
