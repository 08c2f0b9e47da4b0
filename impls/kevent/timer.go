package kevent

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/sys/unix"

	"kbench/internal/kindfd"
	"kbench/notify"
)

// Timer origins: the emulated kernel's KEVENT_TIMER (take29
// kernel/kevent/kevent_timer.c). There each timer kevent owns an hrtimer
// and a storage; the hrtimer's expiry calls kevent_storage_ready on it.
// Here each timer is a timerfd that the Kernel creates and its hook thread
// watches (edge-triggered, in the same epoll set as fd origins): at each
// report the hook thread reads the timerfd — the expirations since its
// last read — and runs storage_ready with that count, which the timer
// kevent adds to its ret_data (see counting). Creating, arming, reading
// and closing the timerfd are the emulated kernel's work: CallHook, and
// the hook thread's CPU.
//
// Variants, against take29's timer: the kevent carries the expiration
// count where take29 put the expiry time in milliseconds; the spec is
// timerfd's (first expiry, then period; relative or CLOCK_MONOTONIC
// absolute) where take29's id held one relative period, absolute
// deadlines being its POSIX-timer type's (KEVENT_POSIX_TIMER); overruns
// are counted, where hrtimer_forward skipped them and storage_ready
// coalesced into a kevent already ready; and a timer that expires once is
// an ET kevent left registered and disarmed (take29 would use ONESHOT and
// free it at delivery).

// attachTimer creates a disarmed timer origin and its storage; the caller
// adds the kevent, then arms it (kevent_timer_enqueue's storage_enqueue
// before hrtimer_start: no expiry can precede the kevent).
func (k *Kernel) attachTimer() (*storage, int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, 0, notify.ErrClosed
	}
	h, err := k.startHookLocked()
	if err != nil {
		return nil, 0, err
	}
	k.calls.Inc(notify.CallHook)
	tfd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, 0, fmt.Errorf("kevent timer: timerfd_create: %w", err)
	}
	idx := k.allocSlot()
	o := &k.origins[idx]
	st := &storage{origin: tfd, typ: typeTimer, gen: o.gen}
	k.tab.store(idx, st)
	if err := h.register(tfd, keventID(idx, o.gen), notify.Readable); err != nil {
		k.tab.store(idx, nil)
		k.free = append(k.free, idx)
		unix.Close(tfd)
		return nil, 0, fmt.Errorf("kevent timer: hook epoll_ctl: %w", err)
	}
	o.st, o.refs, o.in = st, 1, notify.Readable
	return st, idx, nil
}

// armTimer programs the timer origin with spec (hrtimer_start).
func (k *Kernel) armTimer(st *storage, spec notify.TimerSpec) error {
	k.calls.Inc(notify.CallHook)
	if err := kindfd.ArmTimer(st.origin, spec); err != nil {
		return fmt.Errorf("kevent timer: %w", err)
	}
	return nil
}

// detachTimer is kevent_timer_dequeue's hrtimer_cancel and the timer's
// end: the origin leaves the hook and its timerfd is closed. The hook's
// harvest lock is held across, so no harvest still reads the timerfd (by
// number) once it is closed and the number reused. The kevent must have
// left the storage first (REMOVE).
func (k *Kernel) detachTimer(st *storage, idx int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if idx >= len(k.origins) || k.origins[idx].st != st {
		return
	}
	h := k.hook.Load()
	h.harvestMu.lock(k.calls)
	k.tab.store(idx, nil)
	h.unregister(st.origin)
	k.calls.Inc(notify.CallHook)
	unix.Close(st.origin)
	h.harvestMu.unlock()
	o := &k.origins[idx]
	o.st, o.refs, o.in = nil, 0, 0
	k.free = append(k.free, idx)
}

// fireTimer is the hrtimer's expiry as the hook thread sees it: the
// expirations the timerfd counted since its last read, handed to
// storage_ready as the count. Called under the hook's harvest lock.
func (h *hook) fireTimer(st *storage) {
	for {
		h.calls.Inc(notify.CallHook)
		n, err := unix.Read(st.origin, h.tbuf[:])
		if err == unix.EINTR {
			continue
		}
		if n != 8 {
			return // EAGAIN: a harvest before this one read it
		}
		break
	}
	if exp := binary.NativeEndian.Uint64(h.tbuf[:]); exp > 0 {
		storageReady(st, timerFired, exp, h.calls)
	}
}
