//go:build linux

package aioring

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// Wait collects events as notify's contract says.
//
// It first submits, in one io_submit, every poll that must be (re)armed: the
// level sources the previous Wait reported, oneshot sources re-armed by
// Modify, and the wake poll. A source that is still ready completes inline
// during that io_submit, so its event is already in the ring when Wait
// reaps. Wait then reaps: from the mmap'd ring without a system call
// (ReapRing), blocking in io_getevents(min_nr, nr, timeout) only for what the
// ring did not hold; or with io_getevents alone (ReapSyscall).
func (n *Notifier) Wait(events []notify.Event, minEvents int, timeout time.Duration) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	timeout, err := notify.WaitArgs("aioring", events, minEvents, timeout)
	if err != nil {
		return 0, err
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(timeout)
	}
	// Level sources reported by the previous Wait are re-armed now and not
	// when they were reported: the caller has had its chance to drain them
	// since, and a source it did not drain completes again at once.
	n.pending = append(n.pending, n.requeue...)
	n.requeue = n.requeue[:0]
	n.woken = false
	got := 0
	for {
		if err := n.flush(); err != nil {
			return got, err
		}
		got += n.emitFailed(events[got:])
		if n.ring != nil {
			k := n.ring.read(n.evs[:min(len(n.evs), len(events)-got)])
			got += n.deliver(n.evs[:k], events[got:])
			if got >= minEvents || n.woken {
				return got, nil
			}
			if len(n.pending) > 0 && n.inflight < n.limit-1 && !n.refused {
				// The completions just read returned request budget
				// that queued sources wait for: submit them before
				// blocking, or nothing would wake us for them.
				continue
			}
			if timeout == 0 {
				return got, nil
			}
			// The ring is empty now: block in the kernel for the rest.
		}
		ts, minNr, nr, done := getArgs(&n.ts, timeout, deadline, got, minEvents, len(events), len(n.evs))
		if done {
			return got, nil
		}
		k, e := ioGetevents(n.id, minNr, n.evs[:nr], ts)
		n.calls.Inc(notify.CallWait)
		if n.gate.Closed() {
			return 0, notify.ErrClosed
		}
		switch e {
		case 0:
			got += n.deliver(n.evs[:k], events[got:])
		case unix.EINTR:
			// A signal (the runtime's preemption, often): retry with what
			// is left of the timeout.
		default:
			return got, fmt.Errorf("aioring: io_getevents: %w", e)
		}
		if got >= minEvents || n.woken || timeout == 0 {
			return got, nil
		}
	}
}

// deliver consumes raw completions and writes the events they make into out,
// which has room for all of them. It returns how many it wrote.
func (n *Notifier) deliver(raw []ioEvent, out []notify.Event) int {
	k := 0
	for i := range raw {
		n.inflight-- // every submitted request completes exactly once, cancelled ones included
		slot, gen := splitKey(raw[i].data)
		if slot == wakeSlot {
			n.consumeWake()
			continue
		}
		if int(slot) >= len(n.regs) {
			continue
		}
		r := &n.regs[slot]
		if !r.live || r.gen != gen || r.st != inflight {
			continue // a removed or re-armed registration's old request
		}
		if r.kind != notify.KindFD {
			if n.kindEvent(slot, raw[i].res, &out[k]) {
				k++
			}
			continue
		}
		ready, fl := fromPoll(raw[i].res, r.in)
		out[k] = notify.Event{Token: r.token, Ready: ready, Flags: fl}
		k++
		switch {
		case raw[i].res <= 0:
			r.st = idle // the request ended without readiness; resubmitting would not help
		case r.tr == notify.Level:
			r.st = queued
			n.requeue = append(n.requeue, slot)
		default:
			r.st = idle // oneshot: disarmed until Modify
		}
	}
	return k
}

// prepare writes the slot's iocb for a new request.
func (n *Notifier) prepare(slot uint32) {
	r := &n.regs[slot]
	n.iocbs[slot] = iocb{
		data:   key(slot, r.gen),
		opcode: iocbCmdPoll,
		fildes: uint32(r.fd),
		buf:    pollMask(r.in),
	}
}

// flush submits the queued requests in one io_submit (more only when the
// kernel refuses one of them). Requests that do not fit the context's budget
// stay queued for a later flush, after Wait has reaped completions.
func (n *Notifier) flush() error {
	n.refused = false
	batch, of := n.batch[:0], n.batchOf[:0]
	if n.wakeArm && n.inflight < n.limit {
		n.iocbs[wakeSlot] = iocb{
			data:   key(wakeSlot, 0),
			opcode: iocbCmdPoll,
			fildes: uint32(n.wakefd),
			buf:    pollIn,
		}
		batch, of = append(batch, &n.iocbs[wakeSlot]), append(of, wakeSlot)
	}
	room := n.limit - 1 - n.inflight // the last request is reserved for the wake poll
	keep := n.pending[:0]
	for i, s := range n.pending {
		if i >= room {
			keep = append(keep, s)
			continue
		}
		n.prepare(s)
		batch, of = append(batch, &n.iocbs[s]), append(of, s)
	}
	n.pending = keep
	for len(batch) > 0 {
		k, e := ioSubmit(n.id, batch)
		n.calls.Inc(notify.CallSubmit)
		if k < 0 {
			k = 0
		}
		for _, s := range of[:k] {
			n.inflight++
			if s == wakeSlot {
				n.wakeArm = false
			} else {
				n.regs[s].st = inflight
			}
		}
		batch, of = batch[k:], of[k:]
		if len(batch) == 0 {
			break
		}
		switch {
		case e == unix.EAGAIN || e == 0 && k == 0:
			// Out of request slots (completions not yet reaped): retry
			// after Wait has consumed some.
			n.refused = true
			for _, s := range of {
				if s != wakeSlot {
					n.pending = append(n.pending, s)
				}
			}
			return nil
		case e == 0 || e == unix.EINTR:
			// A short count: the next call reports the refused request.
		default:
			s := of[0]
			if s == wakeSlot {
				return fmt.Errorf("aioring: io_submit wake poll: %w", e)
			}
			// The kernel refused this source (EBADF: closed without
			// Remove). Report it once as an Error event and disarm it.
			r := &n.regs[s]
			r.st, r.failed = idle, e
			n.failed = append(n.failed, key(s, r.gen))
			batch, of = batch[1:], of[1:]
		}
	}
	return nil
}

// emitFailed reports registrations whose submission the kernel refused.
func (n *Notifier) emitFailed(out []notify.Event) int {
	k, i := 0, 0
	for ; i < len(n.failed) && k < len(out); i++ {
		slot, gen := splitKey(n.failed[i])
		r := &n.regs[slot]
		if !r.live || r.gen != gen || r.failed == 0 {
			continue
		}
		r.failed = 0
		out[k] = notify.Event{Token: r.token, Flags: notify.Error, Kind: r.kind}
		k++
	}
	n.failed = n.failed[:copy(n.failed, n.failed[i:])]
	return k
}

// getArgs is one io_getevents call's arguments for a Wait that holds got
// of room events and needs minEvents: the timeout in buf (nil blocks;
// timeout 0 polls with min_nr 0), min_nr and nr (at most bufLen). done:
// return now, the deadline having passed or the events being full.
func getArgs(buf *unix.Timespec, timeout time.Duration, deadline time.Time, got, minEvents, room, bufLen int) (ts *unix.Timespec, minNr, nr int, done bool) {
	minNr = minEvents - got
	switch {
	case timeout == 0:
		*buf = unix.Timespec{}
		ts, minNr = buf, 0
	case timeout > 0:
		left := time.Until(deadline)
		if left <= 0 {
			return nil, 0, 0, true
		}
		*buf = unix.NsecToTimespec(int64(left))
		ts = buf
	}
	if got == room {
		return nil, 0, 0, true
	}
	nr = min(room-got, bufLen)
	return ts, max(0, min(minNr, nr)), nr, false
}
