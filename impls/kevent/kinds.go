package kevent

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// Source kinds (notify.KindSources). Each kind is a kevent type of the
// emulated kernel, registered KEVENT_REQ_ET so that each delivery reports
// and clears the count the kevent accumulated (ret_data, see counting):
//
//   - timer: a KEVENT_TIMER kevent on a timer origin the Kernel owns and
//     its hook thread fires (timer.go);
//   - signal: a KEVENT_SIGNAL kevent on the collector thread's storage for
//     the signal, fed by the emulated kernel's collection calls from the
//     thread's signalfd (signal.go);
//   - user: take30's unotify kevent (as AddUser's), made ready by Post's
//     KEVENT_CTL_READY, whose entry carries the value (fire_direct=1:
//     storage_ready on the source's own storage with the value).
//
// Their ids share the registration slots of AddUser's, one namespace per
// Notifier; RemoveSource takes only these kinds, RemoveUser only AddUser's.
// AddUser's sources report Kind KindUser with Data 0 (they carry no count).

const kindNote = "native kevent types served by the emulated kernel side: " +
	"timer: KEVENT_TIMER kevents on timerfds the emulated kernel's hook thread reads (hook CPU, CallHook); " +
	"signal: KEVENT_SIGNAL kevents fed from a signalfd the emulated kernel reads on the collector's own thread (signalfd is per-thread; CallHook), nothing added to the kernel's coalescing; " +
	"user: take30 unotify kevents, Post is the producer's KEVENT_CTL_READY carrying the value (CallFire)"

var (
	errPostValue = fmt.Errorf("kevent post: value 0: %w", notify.ErrInvalid)
	errNoEvent   = fmt.Errorf("kevent post: no such user event: %w", os.ErrNotExist)
)

// addSource registers a KindSources source on st with a fresh ET kevent.
func (n *Notifier) addSource(kind notify.Kind, typ uint32, event uint32, token uint64, st *storage) (int, error) {
	idx := n.allocReg()
	r := &n.regs[idx]
	*r = reg{live: true, ks: true, kind: kind, typ: typ, gen: r.gen, token: token, in: notify.Readable,
		tr: notify.Edge, req: reqET, st: st}
	if err := n.addKevent(idx, event); err != nil {
		n.freeReg(idx)
		return 0, err
	}
	return idx, nil
}

// AddTimer arms a KEVENT_TIMER kevent. The kevent joins the timer's
// storage before the timer is armed, so no expiration can precede it.
func (n *Notifier) AddTimer(spec notify.TimerSpec, token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	if err := spec.Check(); err != nil {
		return 0, fmt.Errorf("kevent add %w", err)
	}
	st, slot, err := n.k.attachTimer()
	if err != nil {
		return 0, err
	}
	id, err := n.addSource(notify.KindTimer, typeTimer, timerFired, token, st)
	if err != nil {
		n.k.detachTimer(st, slot)
		return 0, err
	}
	n.regs[id].slot = slot
	n.timers++
	if err := n.k.armTimer(st, spec); err != nil {
		n.removeSource(id)
		return 0, err
	}
	return id, nil
}

// AddSignal watches sig with a KEVENT_SIGNAL kevent on the calling
// thread's storage for it. The caller runs on its locked OS thread, the
// one that collects (Wait must run there: signalfd reads the reading
// thread's signals), and has blocked sig in it; a signal not blocked here
// would go to the Go runtime's handler instead, so it is refused.
func (n *Notifier) AddSignal(sig int, token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	if err := notify.CheckSignal(sig); err != nil {
		return 0, fmt.Errorf("kevent add %w", err)
	}
	n.calls.Inc(notify.CallOther)
	blocked, err := notify.SignalBlocked(sig)
	if err != nil {
		return 0, fmt.Errorf("kevent add signal %d: %w", sig, err)
	}
	if !blocked {
		return 0, fmt.Errorf("kevent add signal %d: not blocked in the calling thread (lock the collector's thread and block it there first): %w", sig, notify.ErrInvalid)
	}
	n.calls.Inc(notify.CallOther)
	tid := unix.Gettid()
	if t := n.u.sig; t != nil && t.tid != tid {
		return 0, fmt.Errorf("kevent add signal %d: thread %d, but this queue watches signals on thread %d (its collector's): %w", sig, tid, t.tid, notify.ErrInvalid)
	}
	t, st, err := n.k.attachSignal(tid, sig)
	if err != nil {
		return 0, err
	}
	id, err := n.addSource(notify.KindSignal, typeSignal, signalDelivery, token, st)
	if err != nil {
		n.k.detachSignal(t, sig, st)
		return 0, err
	}
	r := &n.regs[id]
	r.sig, r.task = sig, t
	if n.sigSources++; n.sigSources == 1 {
		if err := n.u.watchSignals(t); err != nil {
			n.removeSource(id)
			return 0, err
		}
	}
	return id, nil
}

// AddEvent registers a user event: a unotify kevent Post readies.
func (n *Notifier) AddEvent(token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	us := &usrc{event: true}
	var st *storage
	if n.fireDirect {
		st = &storage{origin: -1, typ: typeUnotify}
		us.st = st
	}
	id, err := n.addSource(notify.KindUser, typeUnotify, userMask, token, st)
	if err != nil {
		return 0, err
	}
	r := &n.regs[id]
	r.user, r.us = true, us
	if st != nil {
		st.origin = id
	}
	// Release: pairs with Post's Load; the kevent's id is the one Post names.
	us.id.Store(keventID(id, r.gen))
	n.utab.store(id, us)
	return id, nil
}

// Post adds value to user event id and makes it ready: the producer's
// kevent_ctl(KEVENT_CTL_READY) with the value in the entry's ret_data, one
// kernel entry (CallFire). With fire_direct=1, storage_ready on the
// event's own storage with the value, no kernel entry. Any goroutine; it
// allocates nothing.
func (n *Notifier) Post(id int, value uint64) error {
	if n.closed.Load() {
		return notify.ErrClosed
	}
	if value == 0 {
		return errPostValue
	}
	us := n.utab.load(id)
	if us == nil || !us.event {
		return errNoEvent
	}
	if us.st != nil {
		storageReady(us.st, userMask, value, &n.calls)
		return nil
	}
	// Acquire: pairs with AddEvent's Store.
	n.u.markReady(us.id.Load(), value, notify.CallFire)
	return nil
}

// RemoveSource unregisters a timer, signal or user event: its kevent is
// removed (never delivered afterwards, even if ready; a record of it
// already in a ring is dropped by its stale generation), and its origin
// released.
func (n *Notifier) RemoveSource(id int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	if id < 0 || id >= len(n.regs) || !n.regs[id].live || !n.regs[id].ks {
		return fmt.Errorf("kevent remove source %d: %w", id, os.ErrNotExist)
	}
	n.removeSource(id)
	return nil
}

func (n *Notifier) removeSource(id int) {
	n.releaseSource(id, false)
	n.freeReg(id)
}

// releaseSource removes source id's kevent and lets go of its origin (the
// registration itself stays). In Close the kevent leaves as
// kevent_user_release takes it, with no kevent_ctl call.
func (n *Notifier) releaseSource(id int, closing bool) {
	r := &n.regs[id]
	if r.kev {
		if closing {
			n.u.removeOne(keventID(id, r.gen))
		} else {
			n.u.remove(keventID(id, r.gen))
		}
		r.kev = false
	}
	switch r.kind {
	case notify.KindTimer:
		n.k.detachTimer(r.st, r.slot)
		n.timers--
	case notify.KindSignal:
		if r.task != nil {
			n.k.detachSignal(r.task, r.sig, r.st)
			r.task = nil
			if n.sigSources--; n.sigSources == 0 {
				n.u.unwatchSignals()
			}
		}
	case notify.KindUser:
		n.utab.store(id, nil)
	}
}

var _ notify.KindSources = (*Notifier)(nil)
var _ notify.HelperThread = (*Notifier)(nil)
