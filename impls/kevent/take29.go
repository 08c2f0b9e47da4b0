package kevent

import (
	"fmt"
	"time"
	"unsafe"

	"kbench/internal/clock"
	"kbench/notify"
)

// The take29 collection path: kevent_wait copies whole ukevents into the
// ring (kbench/internal/ring.Take29, the same code the ring laboratory
// measures) and user space releases them with kevent_commit.

// keventWait is take29's kevent_wait(num, old_uidx, timeout): sleep until
// a kevent is ready and the ring has space, or a Wake (need_exit), or
// kevent_commit has moved uidx away from oldUidx; a signal or the timeout
// ends the sleep too. Then copy up to num ready kevents into the ring while
// there is space and return how many were copied (ring_kidx alone cannot
// tell the reader: a full ring and an empty one both have kidx == uidx).
//
// A full ring sleeps, as in take29: only a commit from another thread
// followed by a new event, a Wake, a signal or the timeout end it (take29's
// commit wakes nobody, and neither does this one). The Notifier never lets
// its ring fill, so it never sleeps here on a full ring.
func (u *kuser) keventWait(num int, oldUidx uint32, timeout time.Duration) (copied int, woke bool, err error) {
	if num > u.t29.Slots() || num < 0 {
		sysEnter(u.calls, notify.CallWait)
		return 0, false, fmt.Errorf("kevent_wait num %d on a ring of %d: %w", num, u.t29.Slots(), notify.ErrInvalid)
	}
	if u.nonblock {
		timeout = 0 // O_NONBLOCK
	}
	entered := false
	var deadline int64
	if timeout > 0 {
		deadline = clock.Now() + int64(timeout)
	}
	u.drainSignals()
	for timeout != 0 {
		u.lock()
		if u.needExit || u.closed || (u.readyNum > 0 && u.t29.Space() > 0) || u.t29.Uidx() != oldUidx {
			u.unlock()
			break
		}
		wait := time.Duration(-1)
		if timeout > 0 {
			if wait = time.Duration(deadline - clock.Now()); wait <= 0 {
				u.unlock()
				break
			}
		}
		entered = true
		intr := u.sleepLocked(&u.own, wait)
		u.drainSignals()
		if intr {
			break
		}
	}
	u.lock()
	woke = u.needExit
	u.needExit = false
	u.unlock()
	// collect copies each kevent into the ring itself; asking for no more
	// than the free records, it never finds the ring full. One collection:
	// a level kevent requeued by it is not reported twice by one call.
	if room := min(num, u.t29.Space()); room > 0 {
		copied = u.collect(u.t29buf[:room])
	}
	if !entered {
		sysEnter(u.calls, notify.CallWait)
	}
	return copied, woke, nil
}

// keventCommit is kevent_commit(new_uidx, over): it returns the number of
// records released, or an error wrapping EINVAL or EOVERFLOW by take29's
// rules (see ring.Take29.Commit).
func (u *kuser) keventCommit(newUidx, over uint32) (int, error) {
	sysEnter(u.calls, notify.CallCommit)
	return u.t29.Commit(newUidx, over)
}

// ukeventBytes is uk as the ring's record bytes.
func ukeventBytes(uk *ukevent) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(uk)), ukeventSize)
}

// t29Record is record i of the take29 ring as a ukevent (user side).
func (u *kuser) t29Record(i uint32) *ukevent {
	return (*ukevent)(unsafe.Pointer(&u.t29.Record(i)[0]))
}
