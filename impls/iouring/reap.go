package iouring

import (
	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/notify"
)

// collect reaps into events[got:] and, while the kernel has CQEs parked on
// its overflow list and the caller has room, enters with GETEVENTS to have
// them flushed into the ring and reaps again.
func (n *Notifier) collect(events []notify.Event, got int) (int, error) {
	k, _ := n.reap(events[got:])
	got += k
	for got < len(events) && n.ring.SQ.Flags()&uring.IORING_SQ_CQ_OVERFLOW != 0 {
		n.stats.overflowFlushes++
		if err := n.enterErr(n.enter(0, -1)); err != nil {
			return got, err
		}
		k, consumed := n.reap(events[got:])
		got += k
		if consumed == 0 {
			break // nothing moved; the next Wait tries again
		}
	}
	return got, nil
}

// reap consumes CQEs from the ring into events until either runs out, and
// queues the re-arms the consumed CQEs call for. It makes no system call
// unless re-arming finds the SQ ring full.
func (n *Notifier) reap(events []notify.Event) (reported int, consumed uint32) {
	if len(n.kready) > 0 {
		// Kind sources that a full events slice left waiting go first.
		reported = n.flushKinds(events)
	}
	cq := &n.ring.CQ
	start := cq.Head()
	head, tail := start, cq.Tail()
	for head != tail && reported < len(events) {
		c := cq.At(head)
		ud, res, flags := c.UserData, c.Res, c.Flags
		head++
		if n.complete(ud, res, flags, &events[reported]) {
			reported++
		}
	}
	cq.Release(head)
	if len(n.kready) > 0 {
		reported += n.flushKinds(events[reported:])
	}
	n.rearm()
	if len(n.krearmq) > 0 {
		n.rearmKinds()
	}
	return reported, head - start
}

// complete interprets one CQE; it reports whether ev was filled.
func (n *Notifier) complete(ud uint64, res int32, flags uint32, ev *notify.Event) bool {
	if ud&ctlBit != 0 {
		return false // a Wake message or a failed POLL_REMOVE
	}
	slot, gen := splitUserData(ud)
	if slot&kindBit != 0 {
		n.completeKind(slot&^kindBit, gen, res, flags)
		return false
	}
	if int(slot) >= len(n.regs) || !n.regs[slot].live || n.regs[slot].gen != gen {
		n.stats.stale++
		return false
	}
	r := &n.regs[slot]
	more := flags&uring.IORING_CQE_F_MORE != 0
	if !more {
		r.armed = false
	}
	if res < 0 {
		if !more && res == -int32(unix.ECANCELED) {
			// Not ours: our cancels target an older generation. The kernel
			// cancels a task's polls when that thread exits; re-arm, and the
			// new poll reports whatever became ready meanwhile.
			n.stats.cancelled++
			n.rearmq = append(n.rearmq, slot)
			return false
		}
		// The kernel refused the poll itself (EBADF, EINVAL...). Report it
		// once; the source stays disarmed until Modify.
		*ev = notify.Event{Token: r.token, Flags: notify.Error}
		return true
	}
	if !more && r.tr != notify.Oneshot {
		// Level: every report is followed by a fresh poll. Multishot: the
		// kernel ended the request (CQ overflow, or it could not keep it),
		// and this final CQE still carries readiness.
		if r.tr == notify.Multishot {
			n.stats.ended++
		}
		n.rearmq = append(n.rearmq, slot)
	}
	ready, fl := readiness(uint32(res), r.in)
	if ready == 0 && fl == 0 {
		return false
	}
	*ev = notify.Event{Token: r.token, Ready: ready, Flags: fl}
	return true
}

// rearm queues a POLL_ADD for every slot reap found ended. A slot that was
// re-registered meanwhile (armed again, or removed) is skipped. If the SQ
// ring cannot take more, the rest stay queued for the next reap.
func (n *Notifier) rearm() {
	q := n.rearmq
	i := 0
	for ; i < len(q); i++ {
		r := &n.regs[q[i]]
		if !r.live || r.armed {
			continue
		}
		if n.arm(q[i]) != nil {
			break
		}
	}
	n.rearmq = q[:copy(q, q[i:])]
}
