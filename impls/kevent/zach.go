package kevent

import "unsafe"

// Zach Brown's ring (LKML, 27 July 2006), kernel side. The kernel produces
// into an ownership-word ring (kbench/internal/ring.Owned, the code the
// ring laboratory measures) from storage_ready itself: a kevent that
// becomes ready is written into the next slot at once if that slot is free
// and nothing is parked ahead of it. Otherwise it is parked on its ready
// list (coalesced there by the READY bit, as any ready kevent) and flushed
// into the ring by a later storage_ready once slots have come back, or
// handed over directly by the next collection call. Level kevents never
// enter the ring; they are collected only by the collection call, which the
// reader makes every N ring records (see the Notifier's Wait).
//
// A record in the ring has been delivered: the kevent's completion
// (oneshot freed, ET cleared) runs when it is published. That is this
// variant's own rule, not take29's (which completes at kevent_wait or
// get_events): a ONESHOT kevent is freed before user space has read its
// record, so a MODIFY that re-arms it gets ENOENT (the Notifier then ADDs). So records are
// not coalesced once published: each storage_ready that finds the kevent
// not READY publishes a new one, as af_packet posts one frame per packet.

// flush moves parked kevents into free ring slots, highest priority first.
// A parked kevent that became ineligible meanwhile (MODIFY set LAST_CHECK or
// LEVEL) moves to its syscall-only list.
func (u *kuser) flush() {
	for p := numPrio - 1; p >= 0 && u.parked > 0; p-- {
		l := &u.lists[2*p]
		for l.head != nil {
			k := l.head
			if !zachEligible(k) {
				u.unlinkReady(k)
				u.push(k, 2*p+1)
				continue
			}
			slot, ok := u.zring.Reserve()
			if !ok {
				return
			}
			u.unlinkReady(k)
			u.publish(k, slot)
		}
	}
}

// publish writes k into the reserved slot, hands the slot to the reader and
// completes k's delivery.
func (u *kuser) publish(k *kevent, slot []byte) {
	*(*ukevent)(unsafe.Pointer(&slot[0])) = k.uk
	u.zring.Publish()
	u.completeReady(k, nil)
	u.wakeLocked()
}

// zachNext is the reader's side: the next published record, copied out,
// and its slot given back. No system call.
func (u *kuser) zachNext(dst *ukevent) bool {
	p, ok := u.zring.Next()
	if !ok {
		return false
	}
	*dst = *(*ukevent)(unsafe.Pointer(&p[0]))
	u.zring.Release()
	return true
}
