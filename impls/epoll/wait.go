package epoll

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/notify"
)

// Wait collects events per the contract. It loops over epoll_wait until min
// events are translated, the timeout expires, or a Wake arrives.
func (n *Notifier) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	timeout, err := notify.WaitArgs("epoll", events, min, timeout)
	if err != nil {
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	if cap(n.kbuf) < len(events) {
		n.kbuf = make([]unix.EpollEvent, len(events))
	}
	var deadline int64
	if timeout > 0 {
		deadline = clock.Now() + int64(timeout)
	}
	got := 0
	for {
		wait := timeout
		if timeout > 0 {
			wait = time.Duration(deadline - clock.Now())
			if wait < 0 {
				wait = 0
			}
		}
		k, err := n.epollWait(n.kbuf[:len(events)-got], wait)
		if n.gate.Closed() {
			return got, notify.ErrClosed
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return got, fmt.Errorf("epoll_wait: %w", err)
		}
		woke := false
		for i := 0; i < k; i++ {
			kev := &n.kbuf[i]
			key := data(kev)
			if key == wakeKey {
				woke = true
				n.drainWake()
				continue
			}
			r := &n.regs[key-1]
			ev := &events[got]
			ev.Token = r.token
			ev.Ready, ev.Flags = 0, 0
			if kev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				ev.Ready |= notify.Readable
			}
			if kev.Events&unix.EPOLLOUT != 0 {
				ev.Ready |= notify.Writable
			}
			if kev.Events&(unix.EPOLLHUP|unix.EPOLLRDHUP) != 0 {
				ev.Flags |= notify.Hangup
			}
			if kev.Events&unix.EPOLLERR != 0 {
				ev.Flags |= notify.Error
			}
			got++
		}
		injectSlowdown(k) // a no-op unless built with -tags kbench_inject (inject_on.go)
		if got >= min || woke || wait == 0 || got == len(events) {
			return got, nil
		}
		if timeout > 0 && clock.Now() >= deadline {
			return got, nil
		}
	}
}

func (n *Notifier) drainWake() {
	n.calls.Inc(notify.CallOther)
	unix.Read(n.wakefd, n.wakeBuf[:])
}

// epollWait blocks for at most d (d < 0: forever). Whole milliseconds go
// through epoll_wait; anything finer uses epoll_pwait2 when the kernel has it.
func (n *Notifier) epollWait(buf []unix.EpollEvent, d time.Duration) (int, error) {
	n.calls.Inc(notify.CallWait)
	if d < 0 {
		return unix.EpollWait(n.epfd, buf, -1)
	}
	if d%time.Millisecond == 0 || !n.pwait2 {
		ms := int((d + time.Millisecond - 1) / time.Millisecond)
		return unix.EpollWait(n.epfd, buf, ms)
	}
	ts := unix.NsecToTimespec(int64(d))
	r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(n.epfd),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
	if e == unix.ENOSYS {
		// Kernel before 5.11: fall back to millisecond resolution for good.
		n.pwait2 = false
		return n.epollWait(buf, d)
	}
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
