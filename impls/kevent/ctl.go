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
func typeAllowed(t uint32) bool {
	return t == typePoll || t == typeUnotify || t == typeTimer || t == typeSignal
}

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
//     need_exit and wakes the collector. A counting kevent (timer, signal,
//     unotify) adds the entry's ret_data, read as a 64-bit count, to its
//     own (kbench's: how Post carries its value; take30's READY carried
//     only the id).
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
		return u.addArray(ukevs, sts), nil
	case ctlModify:
		u.modifyArray(ukevs)
		return 0, nil
	case ctlRemove:
		for i := range ukevs {
			uk := &ukevs[i]
			if u.removeOne(uk.ID) != nil {
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
			if u.readyOne(ukevs[i].ID, ukevs[i].count()) != nil {
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
	k, r, err := u.addBegin(uk, st)
	if k == nil {
		return r, err
	}
	u.pfd1[0] = unix.PollFd{Fd: int32(k.st.origin), Events: pollIn | pollOut | pollRdHup}
	u.poll.poll(u.pfd1[:])
	return u.addFinish(uk, k, uint32(uint16(u.pfd1[0].Revents)))
}

// addBegin registers the kevent on its storage and in the index. A poll
// kevent comes back in flight (k != nil): its fd's state is asked for with
// nothing locked — f_op->poll, a system call here — and addFinish decides.
// The kevent is on its storage before that question, so activity after the
// poll reaches it through storage_ready and activity before shows in the
// poll: nothing slips between the two.
func (u *kuser) addBegin(uk *ukevent, st *storage) (*kevent, int, error) {
	if !typeAllowed(uk.Type) {
		return nil, addNotAllowed, nil
	}
	if st == nil && uk.Type == typeUnotify {
		// take30: the queue's own storage. A caller naming a storage of
		// its own instead is kbench's direct user origin (fire_direct=1),
		// which storage_ready fires like any kernel origin.
		st = u.ust
	}
	if st == nil {
		return nil, addFailed, ctlFail(uk, unix.EBADF, "kevent add fd %d: %w", int32(uk.ID), unix.EBADF)
	}
	if uk.Type != st.typ {
		// kbench's plumbing: the caller names the origin beside the
		// ukevent; in the patch the type selects it, so this cannot happen.
		return nil, addFailed, ctlFail(uk, unix.EINVAL, "kevent add: type %d on a type %d origin: %w", uk.Type, st.typ, notify.ErrInvalid)
	}
	u.lockSt(st)
	if st.dead {
		// kevent_storage_fini ran: the origin is gone (take29's fget of a
		// closed file fails first).
		u.unlockSt(st)
		return nil, addFailed, ctlFail(uk, unix.EBADF, "kevent add id %#x: origin gone: %w", uk.ID, unix.EBADF)
	}
	if _, dup := u.index[uk.ID]; dup {
		u.unlockSt(st)
		return nil, addFailed, ctlFail(uk, unix.EEXIST, "kevent add id %#x: %w", uk.ID, os.ErrExist)
	}
	k := u.pool.get()
	k.uk = *uk
	k.uk.RetFlags = 0
	k.flags = kUser
	k.u = u
	u.index[uk.ID] = k
	storageEnqueue(st, k)
	if st.typ != typePoll {
		// The type's enqueue: take30's unotify requeues with ALWAYS_QUEUE;
		// a timer is armed by its caller once the kevent is on the storage
		// (kevent_timer_enqueue's hrtimer_start after storage_enqueue).
		if k.uk.ReqFlags&(reqAlwaysQueue|reqReady) != 0 {
			u.ready(k, enqueueVerdict(k, checkVerdict(k, 0)))
		}
		u.unlockSt(st)
		return nil, addQueued, nil
	}
	k.flags |= kInFlight
	u.unlockSt(st)
	return k, 0, nil
}

// addFinish ends a poll kevent's ADD given its fd's state.
func (u *kuser) addFinish(uk *ukevent, k *kevent, revents uint32) (int, error) {
	st := k.st
	u.lockSt(st)
	if revents&pollNval != 0 {
		k.flags &^= kInFlight | kRequeue
		u.finish(k)
		u.unlockSt(st)
		return addFailed, ctlFail(uk, unix.EBADF, "kevent add fd %d: %w", st.origin, unix.EBADF)
	}
	if k.uk.ReqFlags&reqAlwaysQueue != 0 {
		u.ready(k, enqueueVerdict(k, checkVerdict(k, revents)))
		u.settle(k)
		u.unlockSt(st)
		return addQueued, nil
	}
	if revents&k.uk.Event != 0 {
		k.flags &^= kInFlight | kRequeue
		*uk = k.uk
		uk.RetFlags |= retDone
		u.finish(k)
		u.unlockSt(st)
		return addImmediate, nil
	}
	if k.uk.ReqFlags&reqReady != 0 {
		u.ready(k, 1)
	}
	u.settle(k)
	u.unlockSt(st)
	return addQueued, nil
}

// enqueueVerdict is the verdict an ADD readies a registered kevent with:
// the type's own, made positive by take30's KEVENT_REQ_READY ("marked as
// ready immediately at enqueue time"). One kevent_ready either way, so a
// kevent asked to be ready and found ready is queued once.
func enqueueVerdict(k *kevent, v int) int {
	if k.uk.ReqFlags&reqReady != 0 && v == 0 {
		return 1
	}
	return v
}

// addArray is kevent_user_ctl_add: the entries handed back (ready at once,
// failed, not allowed) move to the front of ukevs, in order, and their
// number is returned. The poll kevents of a run of entries with distinct
// ids ask for their fds' state in one ppoll (the kernel's f_op->poll calls
// cost no kernel entry; the emulation's should not cost one each). An id
// repeated in the array, or a kevent of another type after a poll one, starts a new
// run, so each entry sees the ones before it completed and kevents reach
// the ready list in array order, as with the patch's one-by-one loop.
func (u *kuser) addArray(user []ukevent, sts []*storage) int {
	// The kernel's copy (kevent_get_user): entries are processed there and
	// only the handed-back ones are copied out, so the user's array past
	// them keeps what it held.
	ukevs := append(u.addUk[:0], user...)
	res := u.addRes[:0]
	for start := 0; start < len(ukevs); {
		end := start
		clear(u.addIDs)
		ks := u.addKs[:0]
		pfds := u.addPfds[:0]
		for ; end < len(ukevs); end++ {
			id := ukevs[end].ID
			if _, dup := u.addIDs[id]; dup {
				break
			}
			if len(pfds) > 0 && ukevs[end].Type != typePoll {
				break // it may queue at once: not ahead of the poll kevents before it
			}
			u.addIDs[id] = struct{}{}
			var st *storage
			if end < len(sts) {
				st = sts[end]
			}
			k, r, _ := u.addBegin(&ukevs[end], st)
			ks = append(ks, k)
			res = append(res, int8(r))
			if k != nil {
				pfds = append(pfds, unix.PollFd{Fd: int32(k.st.origin), Events: pollIn | pollOut | pollRdHup})
			}
		}
		if len(pfds) > 0 {
			u.poll.poll(pfds)
		}
		p := 0
		for i, k := range ks {
			if k == nil {
				continue
			}
			r, _ := u.addFinish(&ukevs[start+i], k, uint32(uint16(pfds[p].Revents)))
			res[start+i] = int8(r)
			p++
		}
		clear(ks)
		u.addKs, u.addPfds = ks[:0], pfds[:0]
		start = end
	}
	rnum := 0
	for i, r := range res {
		if r != addQueued {
			user[rnum] = ukevs[i]
			rnum++
		}
	}
	u.addRes, u.addUk = res[:0], ukevs[:0]
	return rnum
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
	k, err := u.modifyBegin(id, event, req)
	if k == nil {
		return err
	}
	u.pfd1[0] = unix.PollFd{Fd: int32(k.st.origin), Events: pollIn | pollOut | pollRdHup}
	u.poll.poll(u.pfd1[:])
	u.modifyFinish(k, uint32(uint16(u.pfd1[0].Revents)))
	return nil
}

// modifyBegin replaces the kevent's mask and flags; a poll kevent comes
// back in flight for its fd's state (see addBegin), any other is requeued
// at once (its callback needs no state).
func (u *kuser) modifyBegin(id uint64, event, req uint32) (*kevent, error) {
	k := u.lookupSt(id)
	if k == nil {
		return nil, fmt.Errorf("kevent modify id %#x: %w", id, errNoKevent)
	}
	st := k.st
	k.uk.Event = event
	k.uk.ReqFlags = req
	k.uk.RetFlags = 0
	if st.typ != typePoll {
		u.ready(k, checkVerdict(k, 0))
		u.unlockSt(st)
		return nil, nil
	}
	k.flags |= kInFlight
	u.unlockSt(st)
	return k, nil
}

func (u *kuser) modifyFinish(k *kevent, revents uint32) {
	st := k.st
	u.lockSt(st)
	u.ready(k, checkVerdict(k, revents))
	u.settle(k)
	u.unlockSt(st)
}

// modifyArray is kevent_user_ctl_modify, its poll kevents' states asked
// for in one ppoll per run, runs cut as addArray's are.
func (u *kuser) modifyArray(ukevs []ukevent) {
	for start := 0; start < len(ukevs); {
		end := start
		clear(u.addIDs)
		ks := u.addKs[:0]
		pfds := u.addPfds[:0]
		for ; end < len(ukevs); end++ {
			uk := &ukevs[end]
			if _, dup := u.addIDs[uk.ID]; dup {
				break
			}
			if len(pfds) > 0 && u.typeOf(uk.ID) != typePoll {
				break // requeued at once: not ahead of the poll kevents before it
			}
			u.addIDs[uk.ID] = struct{}{}
			k, err := u.modifyBegin(uk.ID, uk.Event, uk.ReqFlags)
			if err != nil {
				uk.RetFlags |= retBroken
			}
			uk.RetFlags |= retDone
			if k != nil {
				ks = append(ks, k)
				pfds = append(pfds, unix.PollFd{Fd: int32(k.st.origin), Events: pollIn | pollOut | pollRdHup})
			}
		}
		if len(pfds) > 0 {
			u.poll.poll(pfds)
		}
		for i, k := range ks {
			u.modifyFinish(k, uint32(uint16(pfds[i].Revents)))
		}
		clear(ks)
		u.addKs, u.addPfds = ks[:0], pfds[:0]
		start = end
	}
}

// typeOf is kevent id's type, or 0 if there is none.
func (u *kuser) typeOf(id uint64) uint32 {
	u.lock()
	defer u.unlock()
	if k := u.index[id]; k != nil {
		return k.st.typ
	}
	return 0
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

// markReady is KEVENT_CTL_READY for one kevent carrying count n, counted
// as kind (CallCtl for the collector's own control calls, CallFire for a
// producer's).
func (u *kuser) markReady(id, n uint64, kind notify.SyscallKind) error {
	sysEnter(u.calls, kind)
	return u.readyOne(id, n)
}

// readyOne is take29's kevent_mark_ready: under the storage's lock, ready
// with a positive verdict, no callback; a counting kevent adds n to its
// count. Any goroutine.
func (u *kuser) readyOne(id, n uint64) error {
	k := u.lookupSt(id)
	if k == nil {
		return errNoKevent // unformatted: a producer's Fire must not allocate
	}
	st := k.st
	if counting(st.typ) {
		k.uk.addCount(n)
	}
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
