package kevent

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// The control commands of kevent_ctl. kevent_ctl(cmd, num, ukevents) takes
// an array (ctl), which is one emulated system call (one kernel entry,
// counted as CallCtl) whatever num is; the one-kevent forms (add, modify,
// remove, markReady) are the same call with num = 1. A poll kevent's
// enqueue and requeue also ask the origin for its state, which in the
// kernel is an indirect call to f_op->poll and here a real poll(2),
// counted as CallHook with the rest of the emulation's plumbing.

// kevent_ctl commands, values from take29's ukevent.h.
const (
	ctlAdd    = 0 // KEVENT_CTL_ADD
	ctlRemove = 1 // KEVENT_CTL_REMOVE
	ctlModify = 2 // KEVENT_CTL_MODIFY
	ctlReady  = 3 // KEVENT_CTL_READY
)

// Results of addOne: kevent_user_add_ukevent's return, plus the entry
// kevent_event_is_allowed refused before it.
const (
	addQueued     = 0  // registered
	addImmediate  = 1  // ready at once: handed back with DONE, not registered
	addNotAllowed = 2  // unknown type: handed back untouched
	addFailed     = -1 // handed back with BROKEN|DONE and -errno in ret_data[1]
)

// typeAllowed is kevent_event_is_allowed: a type with callbacks.
func typeAllowed(t uint32) bool { return t == typePoll || t == typeUnotify }

// ctl is kevent_ctl(fd, cmd, len(ukevs), ukevs) with take29's rules
// (kevent_user.c, kevent_user_ctl_*):
//
//   - ADD registers each entry; the entries it hands back (ready at once,
//     failed, or of a type not allowed) are copied to the front of ukevs in
//     order, and their number is returned. sts[i] is entry i's origin, the
//     storage the patch finds from type and id (fget for a poll kevent);
//     nil stands for an fd that is not open (EBADF), or for a unotify
//     kevent the queue's own storage.
//   - MODIFY and REMOVE process every entry in place: KEVENT_RET_DONE
//     always, KEVENT_RET_BROKEN if no kevent has the id; they return 0.
//   - READY marks each id ready; the entries not found are copied to the
//     front, and the number made ready is returned. With no entries it sets
//     need_exit and wakes the collector.
//
// More entries than the queue holds kevents is EINVAL for MODIFY, REMOVE
// and READY, as in the patch. Only READY may be called off the collector.
func (u *kuser) ctl(cmd int, ukevs []ukevent, sts []*storage) (int, error) {
	sysEnter(u.calls, notify.CallCtl)
	n, err := u.ctlBody(cmd, ukevs, sts)
	if cmd != ctlReady {
		u.reapDead() // the collector's call: it may recycle
	}
	return n, err
}

func (u *kuser) ctlBody(cmd int, ukevs []ukevent, sts []*storage) (int, error) {
	if cmd != ctlAdd {
		u.lock()
		num := len(u.index)
		u.unlock()
		if len(ukevs) > num {
			return 0, fmt.Errorf("kevent_ctl(%d): %d entries, %d kevents: %w", cmd, len(ukevs), num, unix.EINVAL)
		}
	}
	switch cmd {
	case ctlAdd:
		rnum := 0
		for i := range ukevs {
			uk := ukevs[i]
			var st *storage
			if i < len(sts) {
				st = sts[i]
			}
			if r, _ := u.addOne(&uk, st); r != addQueued {
				ukevs[rnum] = uk
				rnum++
			}
		}
		return rnum, nil
	case ctlModify, ctlRemove:
		for i := range ukevs {
			uk := &ukevs[i]
			var err error
			if cmd == ctlModify {
				err = u.modifyOne(uk.ID, uk.Event, uk.ReqFlags)
			} else {
				err = u.removeOne(uk.ID)
			}
			if err != nil {
				uk.RetFlags |= retBroken
			}
			uk.RetFlags |= retDone
		}
		return 0, nil
	case ctlReady:
		if len(ukevs) == 0 {
			u.wakeExit()
			return 0, nil
		}
		rnum := 0
		for i := range ukevs {
			if u.readyOne(ukevs[i].ID) != nil {
				ukevs[rnum] = ukevs[i]
				rnum++
			}
		}
		return len(ukevs) - rnum, nil
	}
	return 0, fmt.Errorf("kevent_ctl: command %d: %w", cmd, unix.EINVAL)
}

// add is KEVENT_CTL_ADD of one ukevent on origin st. immediate reports a
// kevent handed back ready (KEVENT_RET_DONE, not registered); err a failed
// one (KEVENT_RET_BROKEN|DONE, -errno in ret_data[1]) or a type not allowed.
func (u *kuser) add(uk *ukevent, st *storage) (immediate bool, err error) {
	sysEnter(u.calls, notify.CallCtl)
	r, err := u.addOne(uk, st)
	u.reapDead()
	if r == addNotAllowed {
		return false, fmt.Errorf("kevent add type %d: %w", uk.Type, notify.ErrInvalid)
	}
	return r == addImmediate, err
}

// addOne is kevent_user_add_ukevent plus the type's enqueue callback. If
// the kevent is ready at once and ALWAYS_QUEUE is not set, it is not
// registered at all: uk comes back as the kevent stood with
// KEVENT_RET_DONE (take28's poll enqueue fills no ret_data for it). With
// ALWAYS_QUEUE it is queued instead. take30's unotify kevents go on the
// queue's own storage and are never ready at add unless ALWAYS_QUEUE asks
// for a requeue, whose callback always says ready.
func (u *kuser) addOne(uk *ukevent, st *storage) (int, error) {
	if !typeAllowed(uk.Type) {
		return addNotAllowed, nil
	}
	if st == nil && uk.Type == typeUnotify {
		// take30: the queue's own storage. A caller naming a storage of
		// its own instead is kbench's direct user origin (fire_direct=1),
		// which storage_ready fires like any kernel origin.
		st = u.ust
	}
	if st == nil {
		return addFailed, ctlFail(uk, unix.EBADF, "kevent add fd %d: %w", int32(uk.ID), unix.EBADF)
	}
	if uk.Type != st.typ {
		// kbench's plumbing: the caller names the origin beside the
		// ukevent; in the patch the type selects it, so this cannot happen.
		return addFailed, ctlFail(uk, unix.EINVAL, "kevent add: type %d on a type %d origin: %w", uk.Type, st.typ, notify.ErrInvalid)
	}
	u.lockSt(st)
	if _, dup := u.index[uk.ID]; dup {
		u.unlockSt(st)
		return addFailed, ctlFail(uk, unix.EEXIST, "kevent add id %#x: %w", uk.ID, os.ErrExist)
	}
	k := u.pool.get()
	k.uk = *uk
	k.uk.RetFlags = 0
	k.flags = kUser
	k.u = u
	u.index[uk.ID] = k
	storageEnqueue(st, k)
	if st.typ != typePoll {
		if k.uk.ReqFlags&reqAlwaysQueue != 0 {
			u.ready(k, checkVerdict(k, 0))
		}
		u.unlockSt(st)
		return addQueued, nil
	}
	// The kevent is on its storage before we ask for the fd's state, so
	// activity after the poll reaches it through storage_ready and activity
	// before shows in the poll: nothing slips between the two.
	revents := u.pollInFlight(k)
	if revents&pollNval != 0 {
		u.finish(k)
		u.unlockSt(st)
		return addFailed, ctlFail(uk, unix.EBADF, "kevent add fd %d: %w", st.origin, unix.EBADF)
	}
	if k.uk.ReqFlags&reqAlwaysQueue != 0 {
		u.ready(k, checkVerdict(k, revents))
		u.settle(k)
		u.unlockSt(st)
		return addQueued, nil
	}
	if revents&k.uk.Event != 0 {
		*uk = k.uk
		uk.RetFlags |= retDone
		u.finish(k)
		u.unlockSt(st)
		return addImmediate, nil
	}
	u.settle(k)
	u.unlockSt(st)
	return addQueued, nil
}

// pollInFlight asks for k's fd state with the storage and the queue
// unlocked (poll is a system call) and returns with both locked again.
// Meanwhile k is in flight: a concurrent kevent_ready records its verdict
// but leaves the queueing to settle, so k cannot be published and freed
// under our feet.
func (u *kuser) pollInFlight(k *kevent) uint32 {
	st := k.st
	k.flags |= kInFlight
	u.unlockSt(st)
	u.pfd1[0] = unix.PollFd{Fd: int32(st.origin), Events: pollIn | pollOut | pollRdHup}
	u.poll.poll(u.pfd1[:])
	u.lockSt(st)
	return uint32(uint16(u.pfd1[0].Revents))
}

// settle ends an in-flight window, queueing k if a producer readied it.
func (u *kuser) settle(k *kevent) {
	requeue := k.flags&kRequeue != 0
	k.flags &^= kInFlight | kRequeue
	if requeue {
		u.enqueue(k)
	}
}

// lookupSt finds kevent id and returns with its storage and the queue
// locked (nil, unlocked, if there is none). The storage must be locked
// first, so the kevent is looked up, its storage locked, and the lookup
// checked again: the collector may have finished it meanwhile.
func (u *kuser) lookupSt(id uint64) *kevent {
	for {
		u.lock()
		k := u.index[id]
		if k == nil {
			u.unlock()
			return nil
		}
		st := k.st
		u.unlock()
		u.lockSt(st)
		if k2 := u.index[id]; k2 == k && k.st == st {
			return k
		}
		u.unlockSt(st)
	}
}

// modify is KEVENT_CTL_MODIFY of one kevent.
func (u *kuser) modify(id uint64, event, req uint32) error {
	sysEnter(u.calls, notify.CallCtl)
	err := u.modifyOne(id, event, req)
	u.reapDead()
	return err
}

// modifyOne is kevent_modify: replace the event mask and request flags,
// clear the return flags, and requeue (run the callback, queue if ready).
// Like take29 it does not put a oneshot kevent that already fired back on
// its storage, and it leaves the user data alone.
func (u *kuser) modifyOne(id uint64, event, req uint32) error {
	k := u.lookupSt(id)
	if k == nil {
		return fmt.Errorf("kevent modify id %#x: %w", id, errNoKevent)
	}
	st := k.st
	k.uk.Event = event
	k.uk.ReqFlags = req
	k.uk.RetFlags = 0
	var revents uint32
	if st.typ == typePoll {
		revents = u.pollInFlight(k)
	}
	u.ready(k, checkVerdict(k, revents))
	u.settle(k)
	u.unlockSt(st)
	return nil
}

// remove is KEVENT_CTL_REMOVE of one kevent.
func (u *kuser) remove(id uint64) error {
	sysEnter(u.calls, notify.CallCtl)
	err := u.removeOne(id)
	u.reapDead()
	return err
}

// removeOne: the kevent leaves its storage, the ready list and the index
// at once, so it is never delivered afterwards.
func (u *kuser) removeOne(id uint64) error {
	k := u.lookupSt(id)
	if k == nil {
		return fmt.Errorf("kevent remove id %#x: %w", id, errNoKevent)
	}
	st := k.st
	u.finish(k)
	u.unlockSt(st)
	return nil
}

// markReady is KEVENT_CTL_READY for one kevent, counted as kind (CallCtl
// for the collector's own control calls, CallFire for a producer's).
func (u *kuser) markReady(id uint64, kind notify.SyscallKind) error {
	sysEnter(u.calls, kind)
	return u.readyOne(id)
}

// readyOne is take29's kevent_mark_ready: under the storage's lock, ready
// with a positive verdict, no callback. Any goroutine.
func (u *kuser) readyOne(id uint64) error {
	k := u.lookupSt(id)
	if k == nil {
		return errNoKevent // unformatted: a producer's Fire must not allocate
	}
	st := k.st
	u.ready(k, 1)
	u.unlockSt(st)
	return nil
}

// wake is KEVENT_CTL_READY with num == 0.
func (u *kuser) wake() {
	sysEnter(u.calls, notify.CallCtl)
	u.wakeExit()
}

// wakeExit sets need_exit and wakes the collector, whose current or next
// collection returns at once.
func (u *kuser) wakeExit() {
	u.lock()
	u.needExit = true
	u.wakeLocked()
	u.unlock()
}

// ctlFail marks a refused ADD entry as take29's kevent_user_add_ukevent
// does: BROKEN|DONE, and the negative errno in ret_data[1].
func ctlFail(uk *ukevent, errno unix.Errno, format string, args ...any) error {
	uk.RetFlags |= retBroken | retDone
	uk.RetData[1] = uint32(-int32(errno))
	return fmt.Errorf(format, args...)
}
