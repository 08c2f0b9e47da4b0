package kevent

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// The timeout argument of take29's kevent_get_events and kevent_wait: a
// struct timespec and KEVENT_FLAGS_ABSTIME (kevent_user.c,
// kevent_user_wait and sys_kevent_wait). The Notifier's Wait passes a
// duration, as the notify contract does; these are the patch's own forms.

// flagsAbstime is KEVENT_FLAGS_ABSTIME (ukevent.h).
const flagsAbstime = 1

// waitTimeout turns the timespec argument into getEvents' and keventWait's
// timeout, by take29's rules. On an O_NONBLOCK queue nothing is checked and
// nothing waits. Otherwise a timespec with a negative second or a
// nanosecond outside [0, 1e9) is EINVAL (timespec_valid: there is no "-1
// waits forever"); a relative one is the wait's limit (take29 rounded it
// to jiffies); an absolute one (ABSTIME) arms the queue's timer at that
// CLOCK_REALTIME instant and waits without limit: the timer ends the wait
// by setting need_exit, as kevent_user_wake did. That timer is the queue's
// one, cancelled only by the next ABSTIME wait or the queue's release: if
// the wait ends earlier, it still fires later and makes the next collection
// return at once.
func (u *kuser) waitTimeout(ts unix.Timespec, flags uint32) (time.Duration, error) {
	if u.nonblock {
		return 0, nil
	}
	if ts.Sec < 0 || ts.Nsec < 0 || ts.Nsec >= 1e9 {
		return 0, fmt.Errorf("kevent wait: timeout %d.%09d: %w", ts.Sec, ts.Nsec, unix.EINVAL)
	}
	if flags&flagsAbstime != 0 {
		u.armAbs(time.Unix(ts.Sec, ts.Nsec))
		return -1, nil
	}
	return time.Duration(ts.Nano()), nil
}

// armAbs is hrtimer_cancel, hrtimer_start(ABS) of u->timer. time.Unix
// carries no monotonic reading, so the deadline is the wall clock's (a Go
// timer does not follow a later clock step, an hrtimer on CLOCK_REALTIME
// would).
func (u *kuser) armAbs(at time.Time) {
	u.absMu.Lock()
	defer u.absMu.Unlock()
	if u.absTimer != nil {
		u.absTimer.Stop()
	}
	u.absTimer = time.AfterFunc(max(time.Until(at), 0), u.wakeExit)
}

func (u *kuser) cancelAbs() {
	u.absMu.Lock()
	defer u.absMu.Unlock()
	if u.absTimer != nil {
		u.absTimer.Stop()
		u.absTimer = nil
	}
}

// getEventsTS is kevent_get_events with take29's timeout argument.
func (u *kuser) getEventsTS(buf []ukevent, min int, ts unix.Timespec, flags uint32) (int, error) {
	to, err := u.waitTimeout(ts, flags)
	if err != nil {
		sysEnter(u.calls, notify.CallWait)
		return 0, err
	}
	n, _ := u.getEvents(buf, min, to)
	return n, nil
}

// keventWaitTS is kevent_wait with take29's timeout argument; num is
// checked first, as sys_kevent_wait did.
func (u *kuser) keventWaitTS(num int, oldUidx uint32, ts unix.Timespec, flags uint32) (int, error) {
	if num > u.t29.Slots() || num < 0 {
		_, _, err := u.keventWait(num, oldUidx, 0)
		return 0, err
	}
	to, err := u.waitTimeout(ts, flags)
	if err != nil {
		sysEnter(u.calls, notify.CallWait)
		return 0, err
	}
	n, _, err := u.keventWait(num, oldUidx, to)
	return n, err
}
