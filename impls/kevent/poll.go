package kevent

import (
	"golang.org/x/sys/unix"

	"kbench/notify"
)

// poller stands for f_op->poll: the origin's current readiness, asked for
// outside storage_ready. It fills each entry's Revents and never blocks.
type poller interface {
	poll(fds []unix.PollFd)
}

// sysPoller asks the kernel with one ppoll(2) per batch and a zero timeout.
// Only the collecting goroutine uses it.
type sysPoller struct {
	calls *notify.Counters
	zero  unix.Timespec
}

func (p *sysPoller) poll(fds []unix.PollFd) {
	for i := range fds {
		fds[i].Revents = 0
	}
	for {
		p.calls.Inc(notify.CallHook)
		if _, err := unix.Ppoll(fds, &p.zero, nil); err != unix.EINTR {
			return
		}
	}
}
