package kevent

import (
	"fmt"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// The pollable queue. take29's kevent_user_poll makes the kevent file
// readable (POLLIN|POLLRDNORM) while a kevent is ready or need_exit is set,
// so a kevent queue could itself sit in epoll, poll or another kevent
// queue. The emulated queue is not a file, so it keeps an eventfd whose
// readiness follows the same condition: written when the queue becomes
// ready, drained when a collection empties it. Each transition costs one
// system call, counted as CallHook with the emulation's other plumbing;
// without a poll fd nothing is paid. One difference stays: polling the
// patch's file cleared need_exit, and polling this eventfd cannot.

// openPollFD creates the eventfd, readable at once if the queue is.
func (u *kuser) openPollFD() (int, error) {
	u.lock()
	if u.pollfd >= 0 {
		fd := u.pollfd
		u.unlock()
		return fd, nil
	}
	u.unlock()
	u.calls.Inc(notify.CallHook)
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("kevent poll fd: eventfd: %w", err)
	}
	u.lock()
	u.pollfd = fd
	u.unlock() // sets it readable if the queue is
	return fd, nil
}

// pollReady is kevent_user_poll's condition. Zach's ring is outside the
// patch; its unread records count too, so a poller does not sleep on them.
func (u *kuser) pollReady() bool {
	return u.readyNum > 0 || u.needExit || u.mode == modeZach && !u.zring.Drained()
}

// unlockPollable is unlock's path with a poll fd.
func (u *kuser) unlockPollable(wake uint8) {
	want := u.pollReady()
	change := want != u.pollSet
	u.pollSet = want
	fd := u.pollfd
	if change {
		u.pollMu.lock(u.calls)
	}
	u.mu.unlock()
	if wake != 0 {
		u.wakeup(wake)
	}
	if !change {
		return
	}
	var b [8]byte
	u.calls.Inc(notify.CallHook)
	if want {
		b[0] = 1
		unix.Write(fd, b[:])
	} else {
		unix.Read(fd, b[:])
	}
	u.pollMu.unlock()
}

// closePollFD closes the eventfd (Close, after the collector left).
func (u *kuser) closePollFD() {
	u.lock()
	fd := u.pollfd
	u.pollfd = -1
	u.unlock()
	if fd >= 0 {
		unix.Close(fd)
	}
}

// PollFD returns a descriptor that is readable while the queue has
// something to collect, for epoll or poll to watch (take29's pollable
// kevent file; see pollable.go). It is the Notifier's: do not close it.
func (n *Notifier) PollFD() (int, error) {
	if !n.gate.Enter() {
		return -1, notify.ErrClosed
	}
	defer n.gate.Exit()
	return n.u.openPollFD()
}
