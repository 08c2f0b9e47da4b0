package kevent

import (
	"errors"
	"fmt"
	"os"

	"kbench/notify"
)

// fd sources: poll kevents on a storage per fd, whose activity the hook
// thread reports.

// fdFlags is the kevent event mask and request flags for an interest and
// trigger.
func fdFlags(in notify.Interest, tr notify.Trigger) (event, req uint32, err error) {
	if !in.Valid() {
		return 0, 0, fmt.Errorf("kevent: interest %v: %w", in, notify.ErrInvalid)
	}
	event = pollErr | pollHup
	if in&notify.Readable != 0 {
		event |= pollIn | pollRdHup
	}
	if in&notify.Writable != 0 {
		event |= pollOut
	}
	// ALWAYS_QUEUE: a source ready at add must stay registered (take29
	// would hand it back from kevent_ctl and forget it), as take29's own
	// epoll-on-kevent shim did.
	switch tr {
	case notify.Level:
		req = reqLevel | reqLastCheck | reqAlwaysQueue
	case notify.Edge:
		req = reqET | reqAlwaysQueue
	case notify.Oneshot:
		req = reqOneshot | reqAlwaysQueue
	default:
		return 0, 0, fmt.Errorf("kevent: trigger %v: %w", tr, errors.ErrUnsupported)
	}
	return event, req, nil
}

// Add registers fd; its readiness reaches the queue through the hook thread.
func (n *Notifier) Add(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	return n.addFD(fd, token, in, tr)
}

func (n *Notifier) addFD(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	event, req, err := fdFlags(in, tr)
	if err != nil {
		return err
	}
	if _, ok := n.byFD[fd]; ok {
		return fmt.Errorf("kevent add fd %d: %w", fd, os.ErrExist)
	}
	// The fd's storage, shared with every queue of the Kernel watching it.
	// attach has handed every report the hook held for the fd to the
	// storage before our kevent joins it: epoll queues a first report for
	// an fd that is ready when added, and addKevent's own check reports
	// that readiness (the kernel does both under the storage's lock).
	st, err := n.k.attach(fd, in, true)
	if err != nil {
		return fmt.Errorf("kevent add fd %d: %w", fd, err)
	}
	idx := n.allocReg()
	r := &n.regs[idx]
	*r = reg{live: true, kind: notify.KindFD, typ: typePoll, gen: r.gen, fd: fd, token: token, in: in, tr: tr, req: req, st: st}
	if err := n.addKevent(idx, event); err != nil {
		n.k.detach(fd, st)
		n.freeReg(idx)
		return err
	}
	n.byFD[fd] = idx
	if tr == notify.Level {
		n.levelFDs++
	}
	return nil
}

// Modify replaces fd's registration; for Oneshot it re-arms. In take29 a
// delivered oneshot kevent is gone, so the re-arm is a new ADD; a kevent
// still held is MODIFYed (its pending report, if any, stays pending, as an
// EPOLL_CTL_MOD leaves it). A oneshot kevent that fired is off its storage
// for good, so leaving Oneshot is a REMOVE and an ADD.
func (n *Notifier) Modify(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	return n.modifyFD(fd, token, in, tr)
}

func (n *Notifier) modifyFD(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	event, req, err := fdFlags(in, tr)
	if err != nil {
		return err
	}
	idx, ok := n.byFD[fd]
	if !ok {
		return fmt.Errorf("kevent modify fd %d: %w", fd, os.ErrNotExist)
	}
	r := &n.regs[idx]
	if r.in != in {
		// A new interest is a new registration of the kevent (see Add):
		// take it off the storage, let epoll's report of the fd's present
		// readiness under the new interest pass while the storage has no
		// kevent, and let the re-added kevent's own check report it. With
		// the kevent attached, that report and the check would each make
		// an event for one state.
		if r.kev {
			n.u.remove(keventID(idx, r.gen))
			r.kev = false
		}
		if err := n.k.widen(fd, in); err != nil {
			return fmt.Errorf("kevent modify fd %d: %w", fd, err)
		}
	}
	if old := r.tr; old != tr {
		if old == notify.Level {
			n.levelFDs--
		}
		if tr == notify.Level {
			n.levelFDs++
		}
	}
	return n.rearm(idx, token, in, tr, event, req)
}

func (n *Notifier) rearm(idx int, token uint64, in notify.Interest, tr notify.Trigger, event, req uint32) error {
	r := &n.regs[idx]
	old := r.tr
	r.token, r.in, r.tr, r.req = token, in, tr, req
	if r.kev && old == notify.Oneshot && tr != notify.Oneshot {
		n.u.remove(keventID(idx, r.gen)) // gone already if it was delivered into a ring
		r.kev = false
	}
	if r.kev {
		err := n.u.modify(keventID(idx, r.gen), event, req|n.reqExtra)
		if err == nil {
			return nil
		}
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		// Zach's ring delivered (and freed) the oneshot kevent at
		// storage_ready; its record is in the ring, not yet read.
		r.kev = false
	}
	return n.addKevent(idx, event)
}

// Remove unregisters fd. Records of it already in a ring are dropped by the
// reader (their generation is stale), so nothing of fd is reported after.
func (n *Notifier) Remove(fd int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	return n.removeFD(fd)
}

func (n *Notifier) removeFD(fd int) error {
	idx, ok := n.byFD[fd]
	if !ok {
		return fmt.Errorf("kevent remove fd %d: %w", fd, os.ErrNotExist)
	}
	r := &n.regs[idx]
	if r.kev {
		n.u.remove(keventID(idx, r.gen))
	}
	if r.tr == notify.Level {
		n.levelFDs--
	}
	var err error
	if e := n.k.detach(fd, r.st); e != nil {
		err = fmt.Errorf("kevent remove fd %d: %w", fd, e)
	}
	delete(n.byFD, fd)
	n.freeReg(idx)
	return err
}

// CloseFD closes fd the way the emulated kernel's close(2) of a file's
// last reference does: take28's __fput runs kevent_storage_fini on the
// file's storage before the file goes, so every kevent watching fd, in
// every queue of the Kernel, is completed KEVENT_RET_BROKEN|DONE and
// queued once — reported as an Event with Hangup|Error and the registered
// interest — and never again; then fd is closed. fd must not have been
// duplicated (a dup would keep the file, and __fput, away). Here fd's
// registration ends at once: Add may register a new fd of that number
// before the broken event is collected. Another Notifier of a shared
// Kernel forgets fd when it collects its own broken event.
//
// An fd closed with close(2) instead is not seen going away: epoll drops
// it silently, and only a Level registration's next poll (POLLNVAL)
// reports it broken.
func (n *Notifier) CloseFD(fd int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	err := n.k.closeFD(fd)
	if idx, ok := n.byFD[fd]; ok {
		r := &n.regs[idx]
		r.gone = true
		n.unmapFD(idx)
		if !r.kev {
			n.freeReg(idx) // a delivered oneshot: no record of it is left to read
		}
	}
	return err
}

// unmapFD takes registration idx out of the fd table.
func (n *Notifier) unmapFD(idx int) {
	r := &n.regs[idx]
	if j, ok := n.byFD[r.fd]; ok && j == idx {
		delete(n.byFD, r.fd)
		if r.tr == notify.Level {
			n.levelFDs--
		}
	}
}

// dropFD ends fd registration idx whose kevent is gone for good (a broken
// one, or the last record of an fd CloseFD finished): out of the fd table,
// its reference to the storage dropped (a storage CloseFD finished is no
// longer the fd's, and detach leaves the fd's current one alone).
func (n *Notifier) dropFD(idx int) {
	r := &n.regs[idx]
	n.unmapFD(idx)
	n.k.detach(r.fd, r.st)
	n.freeReg(idx)
}
