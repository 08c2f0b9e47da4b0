package kevent

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// The control commands of kevent_ctl, one ukevent at a time. Each is one
// emulated system call (one kernel entry, counted as CallCtl). A poll
// kevent's enqueue and requeue also ask the origin for its state, which in
// the kernel is an indirect call to f_op->poll and here a real poll(2),
// counted as CallHook with the rest of the emulation's plumbing.

// add is KEVENT_CTL_ADD (kevent_user_add_ukevent plus the type's enqueue
// callback). If the kevent is ready at once and ALWAYS_QUEUE is not set, it
// is not registered at all: uk comes back with KEVENT_RET_DONE and immediate
// is true, as take29 copied it back from kevent_ctl. With ALWAYS_QUEUE it is
// queued instead. take30's unotify kevents are never ready at add unless
// ALWAYS_QUEUE asks for a requeue, whose callback always says ready.
//
// On error uk carries KEVENT_RET_BROKEN|KEVENT_RET_DONE and the errno in
// ret_data[1], as in take29.
func (u *kuser) add(uk *ukevent, st *storage) (immediate bool, err error) {
	sysEnter(u.calls, notify.CallCtl)
	if uk.Type != st.typ {
		return false, ctlFail(uk, unix.EINVAL, "kevent add: type %d on a type %d origin: %w", uk.Type, st.typ, notify.ErrInvalid)
	}
	u.lock()
	if _, dup := u.index[uk.ID]; dup {
		u.unlock()
		return false, ctlFail(uk, unix.EEXIST, "kevent add id %#x: %w", uk.ID, os.ErrExist)
	}
	k := u.pool.get()
	k.uk = *uk
	k.uk.RetFlags = 0
	k.flags = kUser
	u.index[uk.ID] = k
	storageEnqueue(st, k)
	if st.typ != typePoll {
		if k.uk.ReqFlags&reqAlwaysQueue != 0 {
			u.ready(k, checkVerdict(k, 0))
		}
		u.unlock()
		return false, nil
	}
	// The kevent is on its storage before we ask for the fd's state, so
	// activity after the poll reaches it through storage_ready and activity
	// before shows in the poll: nothing slips between the two.
	revents := u.pollInFlight(k)
	if revents&pollNval != 0 {
		u.finish(k)
		u.unlock()
		return false, ctlFail(uk, unix.EBADF, "kevent add fd %d: %w", st.origin, unix.EBADF)
	}
	if k.uk.ReqFlags&reqAlwaysQueue != 0 {
		u.ready(k, checkVerdict(k, revents))
		u.settle(k)
		u.unlock()
		return false, nil
	}
	if r := revents & k.uk.Event; r != 0 {
		*uk = k.uk
		uk.RetData[0] = r
		uk.RetFlags |= retDone
		u.finish(k)
		u.unlock()
		return true, nil
	}
	u.settle(k)
	u.unlock()
	return false, nil
}

// pollInFlight asks for k's fd state with the queue unlocked (poll is a
// system call) and returns with it locked again. Meanwhile k is in flight:
// a concurrent kevent_ready records its verdict but leaves the queueing to
// settle, so k cannot be published and freed under our feet.
func (u *kuser) pollInFlight(k *kevent) uint32 {
	k.flags |= kInFlight
	u.unlock()
	u.pfd1[0] = unix.PollFd{Fd: int32(k.st.origin), Events: pollIn | pollOut | pollRdHup}
	u.poll.poll(u.pfd1[:])
	u.lock()
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

// modify is KEVENT_CTL_MODIFY: replace the event mask and request flags,
// clear the return flags, and requeue (run the callback, queue if ready).
// Like take29 it does not put a oneshot kevent that already fired back on
// its storage, and it leaves the user data alone.
func (u *kuser) modify(id uint64, event, req uint32) error {
	sysEnter(u.calls, notify.CallCtl)
	u.lock()
	k := u.index[id]
	if k == nil {
		u.unlock()
		return fmt.Errorf("kevent modify id %#x: %w", id, errNoKevent)
	}
	k.uk.Event = event
	k.uk.ReqFlags = req
	k.uk.RetFlags = 0
	var revents uint32
	if k.st.typ == typePoll {
		revents = u.pollInFlight(k)
	}
	u.ready(k, checkVerdict(k, revents))
	u.settle(k)
	u.unlock()
	return nil
}

// remove is KEVENT_CTL_REMOVE: the kevent leaves its storage, the ready
// list and the index at once, so it is never delivered afterwards.
func (u *kuser) remove(id uint64) error {
	sysEnter(u.calls, notify.CallCtl)
	u.lock()
	k := u.index[id]
	if k == nil {
		u.unlock()
		return fmt.Errorf("kevent remove id %#x: %w", id, errNoKevent)
	}
	u.finish(k)
	u.unlock()
	return nil
}

// markReady is KEVENT_CTL_READY for one kevent (take30's kevent_mark_ready):
// ready with a positive verdict, no callback.
func (u *kuser) markReady(id uint64) error {
	sysEnter(u.calls, notify.CallCtl)
	u.lock()
	k := u.index[id]
	if k == nil {
		u.unlock()
		return fmt.Errorf("kevent ready id %#x: %w", id, errNoKevent)
	}
	u.ready(k, 1)
	u.unlock()
	return nil
}

// wake is KEVENT_CTL_READY with num == 0: set need_exit and wake the
// collector, whose current or next collection returns at once.
func (u *kuser) wake() {
	sysEnter(u.calls, notify.CallCtl)
	u.lock()
	u.needExit = true
	u.wakeLocked()
	u.unlock()
}

func ctlFail(uk *ukevent, errno unix.Errno, format string, args ...any) error {
	uk.RetFlags |= retBroken | retDone
	uk.RetData[1] = uint32(errno)
	return fmt.Errorf(format, args...)
}
