package kevent

import (
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/notify"
)

// collect is the dequeue half of kevent_get_events and kevent_wait
// (kevent_dequeue_ready plus kevent_complete_ready): it moves up to
// len(out) kevents from the ready lists into out, highest priority first
// and FIFO within a priority (zach: syscall-only kevents before parked ones). A kevent with LAST_CHECK has its callback run
// again first; if the origin is no longer ready it is dropped silently, its
// return state cleared and LAST_CHECK set again, and stays on its storage.
//
// The LAST_CHECK polls of one batch go out as one ppoll(2) with the queue
// unlocked; the batch's kevents are in flight meanwhile (see ready). Level
// kevents requeued by completeReady go back on the lists only when the
// collection is over, so one collection reports each of them once.
//
// In take29 mode each delivered kevent is first copied into the ring, as
// take29's kevent_dequeue_ready does for kevent_get_events and
// kevent_wait alike (kevent_copy_ring); a full ring leaves
// KEVENT_RET_COPY_FAILED in its ret_flags, where it stays until ET's
// completion or a MODIFY clears them. kevent_wait asks for no more than the
// ring has room for, so only kevent_get_events can see it.
//
// Several collectors may run it at once on a shared queue (shared.go),
// each with its own scratch (c): each kevent is popped by one of them, and
// one in flight in another's round is off the lists, as in the patch,
// where kevent_dequeue_ready takes each kevent off under ready_lock.
func (u *kuser) collect(out []ukevent) int { return u.collectAs(&u.own, out) }

func (u *kuser) collectAs(c *collector, out []ukevent) int {
	got := 0
	deferred := c.deferred[:0]
	u.lock()
	for got < len(out) && u.readyNum > 0 {
		round := c.round[:0]
		checks := c.checkIdx[:0]
		pfds := c.pfds[:0]
		for len(round) < len(out)-got {
			k := u.popFirst()
			if k == nil {
				break
			}
			ci := -1
			if lastCheck(k) && k.st.typ == typePoll {
				ci = len(pfds)
				pfds = append(pfds, unix.PollFd{Fd: int32(k.st.origin), Events: pollIn | pollOut | pollRdHup})
				k.flags |= kInFlight
			}
			round = append(round, k)
			checks = append(checks, ci)
		}
		if len(pfds) > 0 {
			u.unlock()
			u.poll.poll(pfds)
			u.lock()
		}
		for i, k := range round {
			requeue := k.flags&kRequeue != 0
			k.flags &^= kInFlight | kRequeue
			if lastCheck(k) {
				k.uk.ReqFlags &^= reqLastCheck
				var revents uint32
				if ci := checks[i]; ci >= 0 {
					revents = uint32(uint16(pfds[ci].Revents))
				}
				if checkVerdict(k, revents) == 0 {
					k.uk.ReqFlags |= reqLastCheck
					k.uk.RetFlags = 0
					k.uk.RetData = [2]uint32{}
					if requeue {
						u.enqueue(k)
					}
					continue
				}
			}
			if u.mode == modeTake29 && !u.t29.Put(ukeventBytes(&k.uk)) {
				k.uk.RetFlags |= retCopyFailed
			}
			out[got] = k.uk
			got++
			freed := k.uk.ReqFlags&reqOneshot != 0
			u.completeReady(k, &deferred)
			if requeue && !freed {
				u.enqueue(k)
			}
		}
		// Keep the (possibly grown) scratch for the next round and call.
		c.round, c.checkIdx, c.pfds = round[:0], checks[:0], pfds[:0]
		clear(round)
	}
	for _, k := range deferred {
		u.enqueue(k)
	}
	clear(deferred)
	c.deferred = deferred[:0]
	reap := len(u.reap) > 0
	u.unlock()
	if reap {
		u.reapDead()
	}
	return got
}

// lastCheck: must the dequeue re-run k's callback? Not for a broken kevent
// (kbench's): its origin is gone, and the check could only drop the
// report that says so.
func lastCheck(k *kevent) bool {
	return k.uk.ReqFlags&reqLastCheck != 0 && k.uk.RetFlags&retBroken == 0
}

// getEvents is kevent_get_events(min, max = len(buf), timeout) with the
// min_events semantics Zach Brown proposed for kevent_getevents (take29's
// kevent_user_wait woke at the first ready kevent whatever min_nr said; the
// notify contract needs min). It returns the kevents delivered into buf and
// whether a Wake (need_exit) ended the call.
//
// A signal ends the sleep as in take29 (wait_event_interruptible_timeout):
// the call returns what is ready then, possibly fewer than min; user space
// restarts it (the Notifier's Wait does, with a new kernel entry). With a
// take29 ring the sleep also waits for ring space, as take29's did.
//
// Its kernel entry is getppid if it returns without sleeping, otherwise the
// FUTEX_WAIT that puts it to sleep; both count as CallWait. In zach mode the
// call also returns as soon as the ring holds a record the consumer has not
// taken, because those records never pass through here.
//
// On a shared queue several collectors may be in it at once (getEventsAs,
// c their own): a wake-up wakes them all, and each that finds fewer than
// its min sleeps again inside the call, as wait_event re-checks its
// condition; only the owner (c.owner) drains the signal storages and
// sleeps on its signalfd.
func (u *kuser) getEvents(buf []ukevent, min int, timeout time.Duration) (n int, woke bool) {
	return u.getEventsAs(&u.own, buf, min, timeout)
}

func (u *kuser) getEventsAs(c *collector, buf []ukevent, min int, timeout time.Duration) (n int, woke bool) {
	if u.nonblock {
		timeout = 0 // O_NONBLOCK: take29 skips the wait altogether
	}
	entered, intr := false, false
	var deadline int64
	if timeout > 0 {
		deadline = clock.Now() + int64(timeout)
	}
	for {
		if c.owner {
			u.drainSignals()
		}
		n += u.collectAs(c, buf[n:])
		u.lock()
		if u.needExit {
			u.needExit = false
			woke = true
		}
		if n >= min || n == len(buf) || woke || intr || u.closed || timeout == 0 ||
			(u.mode == modeZach && !u.zring.Drained()) {
			u.unlock()
			break
		}
		if u.readyNum > 0 && (u.mode != modeTake29 || u.t29.Space() > 0) {
			u.unlock()
			continue
		}
		wait := time.Duration(-1)
		if timeout > 0 {
			if wait = time.Duration(deadline - clock.Now()); wait <= 0 {
				u.unlock()
				break
			}
		}
		entered = true
		intr = u.sleepLocked(c, wait)
	}
	if !entered {
		sysEnter(u.calls, notify.CallWait)
	}
	return n, woke
}

// sleepLocked sleeps on the queue's wait queue for at most wait
// (negative: no limit); called with mu held, it returns with mu released,
// reporting whether a signal (EINTR) ended the sleep. The owner of a queue
// watching signals sleeps in ppoll on its signalfd (signal.go); every
// other sleep is a FUTEX_WAIT on the queue's wake generation.
func (u *kuser) sleepLocked(c *collector, wait time.Duration) (interrupted bool) {
	if t := u.sig; t != nil && c.owner {
		u.sigSleeping = true
		u.unlock()
		u.calls.Inc(notify.CallWait)
		interrupted = u.sleepSignals(t, wait)
		u.lock()
		u.sigSleeping = false
		u.unlock()
		return interrupted
	}
	// Read under mu: pairs with wakeLocked's Add under mu. A wake decided
	// after this read changes the word, so the FUTEX_WAIT below either
	// finds it changed (EAGAIN) or is woken by the FUTEX_WAKE that follows.
	gen := u.futex.Load()
	u.sleepers++
	u.unlock()
	u.calls.Inc(notify.CallWait)
	interrupted = u.sleep(&u.futex, gen, wait) == unix.EINTR
	u.lock()
	// Under mu, as above: an unchanged generation means no wake counted
	// this sleeper out (a timeout, a signal, a spurious return).
	if u.futex.Load() == gen {
		u.sleepers--
	}
	u.unlock()
	return interrupted
}
