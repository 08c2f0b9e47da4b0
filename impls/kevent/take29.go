package kevent

import (
	"fmt"
	"time"
	"unsafe"

	"kbench/notify"
)

// The take29 collection path: kevent_wait copies whole ukevents into the
// ring (kbench/internal/ring.Take29, the same code the ring laboratory
// measures) and user space releases them with kevent_commit.

// keventWait is kevent_wait(num, old_uidx, timeout): sleep until a kevent
// is ready and the ring has space, or a Wake, or a commit moved uidx away
// from oldUidx; then copy up to num ready kevents into the ring while there
// is space and return how many were copied (ring_kidx alone cannot tell the
// reader: a full ring and an empty one both have kidx == uidx).
//
// With no space at all it returns 0 at once: in take29 it slept until
// another thread committed, and here only the collector commits.
func (u *kuser) keventWait(num int, oldUidx uint32, timeout time.Duration) (copied int, woke bool, err error) {
	if num > u.t29.Slots() || num < 0 {
		sysEnter(u.calls, notify.CallWait)
		return 0, false, fmt.Errorf("kevent_wait num %d on a ring of %d: %w", num, u.t29.Slots(), notify.ErrInvalid)
	}
	room := min(num, u.t29.Space())
	n, woke := u.waitLoop(u.t29buf[:room], 1, timeout, int64(oldUidx))
	for i := range n {
		// The kernel side owns t29buf and the ring's write side, so the
		// ring has at least room records free: Put cannot fail.
		u.t29.Put(unsafe.Slice((*byte)(unsafe.Pointer(&u.t29buf[i])), ukeventSize))
	}
	return n, woke, nil
}

// keventCommit is kevent_commit(new_uidx, over): it returns the number of
// records released, or an error wrapping EINVAL or EOVERFLOW by take29's
// rules (see ring.Take29.Commit).
func (u *kuser) keventCommit(newUidx, over uint32) (int, error) {
	sysEnter(u.calls, notify.CallCommit)
	return u.t29.Commit(newUidx, over)
}

// t29Record is record i of the take29 ring as a ukevent (user side).
func (u *kuser) t29Record(i uint32) *ukevent {
	return (*ukevent)(unsafe.Pointer(&u.t29.Record(i)[0]))
}
