package epoll

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/clock"
	"kbench/internal/kindfd"
	"kbench/notify"
)

// Wait collects events per the contract. It loops over epoll_wait until min
// events are translated, the timeout expires, or a Wake arrives.
func (n *Notifier) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	return n.wait(&n.bufs, events, min, timeout)
}

// waitBufs are one waiting goroutine's: the Notifier's own, or a Waiter's.
type waitBufs struct {
	kbuf    []unix.EpollEvent // kernel-side event buffer, grown once
	wakeBuf [8]byte
	drain   kindfd.Buf // reads of the kind sources' descriptors
}

// Waiter is one more goroutine's Wait on the instance (notify.SharedWaiter).
type Waiter struct {
	n    *Notifier
	bufs waitBufs
}

// Wait is Notifier.Wait with the Waiter's own buffers.
func (w *Waiter) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	return w.n.wait(&w.bufs, events, min, timeout)
}

// NewWaiter: several goroutines may block in epoll_wait on one instance.
// Wait only reads the registration table, which Add, Modify and Remove
// (the owner's, not while Waiters wait) write.
func (n *Notifier) NewWaiter() notify.Waiter { return &Waiter{n: n} }

// WakePolicy: WakeOne. epoll_wait sleeps on the instance's wait queue as
// an exclusive waiter (fs/eventpoll.c ep_poll), so a ready item wakes one
// of them; a level item still ready after the copy-out wakes the next.
func (n *Notifier) WakePolicy() notify.WakePolicy { return notify.WakeOne }

func (n *Notifier) wait(b *waitBufs, events []notify.Event, min int, timeout time.Duration) (int, error) {
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
	if cap(b.kbuf) < len(events) {
		b.kbuf = make([]unix.EpollEvent, len(events))
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
		k, err := n.epollWait(b.kbuf[:len(events)-got], wait)
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
			kev := &b.kbuf[i]
			key := data(kev)
			// The top bit (kindKey) marks the wake eventfd and the source
			// kinds, off the descriptor path; a sign test costs what the
			// comparison with a zero wake key used to.
			if int64(key) < 0 {
				if key == wakeKey {
					woke = true
					n.drainWake(&b.wakeBuf)
				} else if n.kindEvent(b, key, &events[got]) {
					got++
				}
				continue
			}
			r := &n.regs[key-1]
			var ready notify.Interest
			var fl notify.Flags
			if kev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				ready |= notify.Readable
			}
			if kev.Events&unix.EPOLLOUT != 0 {
				ready |= notify.Writable
			}
			if kev.Events&(unix.EPOLLHUP|unix.EPOLLRDHUP) != 0 {
				fl |= notify.Hangup
			}
			if kev.Events&unix.EPOLLERR != 0 {
				fl |= notify.Error
			}
			// One whole store: Kind and Data of a reused slot go back to fd's.
			events[got] = notify.Event{Token: r.token, Ready: ready, Flags: fl}
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

func (n *Notifier) drainWake(buf *[8]byte) {
	n.calls.Inc(notify.CallOther)
	unix.Read(n.wakefd, buf[:])
}

// epollWait blocks for at most d (d < 0: forever). Whole milliseconds go
// through epoll_wait; anything finer uses epoll_pwait2 when the kernel has it.
func (n *Notifier) epollWait(buf []unix.EpollEvent, d time.Duration) (int, error) {
	n.calls.Inc(notify.CallWait)
	if d < 0 {
		return unix.EpollWait(n.epfd, buf, -1)
	}
	if d%time.Millisecond == 0 || !n.pwait2.Load() {
		ms := int((d + time.Millisecond - 1) / time.Millisecond)
		return unix.EpollWait(n.epfd, buf, ms)
	}
	ts := unix.NsecToTimespec(int64(d))
	r, _, e := unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(n.epfd),
		uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
	if e == unix.ENOSYS {
		// Kernel before 5.11: fall back to millisecond resolution for good.
		n.pwait2.Store(false) // read by every waiter; a plain flag, set once
		return n.epollWait(buf, d)
	}
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}
