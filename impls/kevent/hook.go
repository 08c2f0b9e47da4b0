package kevent

import (
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"kbench/internal/cpu"
	"kbench/internal/rusage"
	"kbench/notify"
)

// hook is the kernel-side hook thread of fd sources. In the kernel, a
// socket's or pipe's wakeup would call kevent_storage_ready from softirq or
// the writer's context; here one OS thread, pinned to Options.HelperCPU,
// learns fd activity from its own epoll instance and calls storage_ready.
//
// Every fd is registered edge-triggered for its interest: each epoll report
// is one "activity" of the origin, which is what storage_ready stands for.
// Registering more (OUT on an eventfd that is read from) would queue an
// initial report that can race with the first write, and epoll would then
// report that one write twice.
// Level behaviour does not depend on epoll repeating itself: a level kevent
// is requeued by the queue after each delivery and re-polled (LAST_CHECK)
// at the next collection. The epoll data word carries the registration
// slot and the storage's generation, so a report that was already harvested
// when its fd was removed cannot reach a storage that reuses the slot.
//
// Two epoll instances. The fds are in inner; the thread sleeps on outer,
// which holds inner (level-triggered) and the control eventfd, and harvests
// inner with a zero timeout under harvestMu. So a harvest and the
// storage_ready calls for it are one step that another thread can wait
// for: the collector calls harvest itself to catch up (see Notifier.Wait),
// and afterwards every report epoll queued before has reached its storage.
// In the kernel the writer's wake-up runs storage_ready before write(2)
// returns; this is as close as an emulation gets.
type hook struct {
	outer, inner, ctlfd int
	tab                 *ptrTable[storage]
	calls               *notify.Counters
	harvestMu           spinlock

	stopping atomic.Bool
	usageMu  sync.Mutex // one HookUsage request at a time
	usageReq atomic.Bool
	usageCh  chan rusage.Usage
	done     chan struct{}
	last     rusage.Usage        // the final sample, written before done is closed
	obuf     [4]unix.EpollEvent  // outer's reports, hook thread only
	buf      [64]unix.EpollEvent // inner's reports, under harvestMu
	tbuf     [8]byte             // a timerfd's count, under harvestMu
}

// Keys of outer's two members. Slot keys live in inner only.
const (
	ctlKey   = 0
	innerKey = 1
)

// hookEvents is the epoll registration for an interest (ERR and HUP are
// always reported).
func hookEvents(in notify.Interest) uint32 {
	e := uint32(unix.EPOLLET)
	if in&notify.Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if in&notify.Writable != 0 {
		e |= unix.EPOLLOUT
	}
	return e
}

func startHook(tab *ptrTable[storage], calls *notify.Counters, helperCPU int) (*hook, error) {
	h := &hook{outer: -1, inner: -1, ctlfd: -1, tab: tab, calls: calls,
		usageCh: make(chan rusage.Usage, 1), done: make(chan struct{})}
	var err error
	calls.Inc(notify.CallHook)
	if h.outer, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("kevent hook: epoll_create1: %w", err)
	}
	calls.Inc(notify.CallHook)
	if h.inner, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		h.closeFDs()
		return nil, fmt.Errorf("kevent hook: epoll_create1: %w", err)
	}
	calls.Inc(notify.CallHook)
	if h.ctlfd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		h.closeFDs()
		return nil, fmt.Errorf("kevent hook: eventfd: %w", err)
	}
	if err := h.ctl(h.outer, unix.EPOLL_CTL_ADD, h.ctlfd, unix.EPOLLIN, ctlKey); err != nil {
		h.closeFDs()
		return nil, fmt.Errorf("kevent hook: epoll_ctl add control eventfd: %w", err)
	}
	if err := h.ctl(h.outer, unix.EPOLL_CTL_ADD, h.inner, unix.EPOLLIN, innerKey); err != nil {
		h.closeFDs()
		return nil, fmt.Errorf("kevent hook: epoll_ctl add inner epoll: %w", err)
	}
	started := make(chan error, 1)
	go h.run(helperCPU, started)
	if err := <-started; err != nil {
		h.closeFDs()
		return nil, err
	}
	return h, nil
}

func (h *hook) closeFDs() {
	for _, fd := range [...]int{h.outer, h.inner, h.ctlfd} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
}

func (h *hook) ctl(epfd, op, fd int, events uint32, key uint64) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(uint32(key)), Pad: int32(uint32(key >> 32))}
	h.calls.Inc(notify.CallHook)
	return unix.EpollCtl(epfd, op, fd, &ev)
}

// register starts reporting fd's activity to the storage in slot key.
func (h *hook) register(fd int, key uint64, in notify.Interest) error {
	return h.ctl(h.inner, unix.EPOLL_CTL_ADD, fd, hookEvents(in), key)
}

// reregister changes the interest reported for fd.
func (h *hook) reregister(fd int, key uint64, in notify.Interest) error {
	return h.ctl(h.inner, unix.EPOLL_CTL_MOD, fd, hookEvents(in), key)
}

// unregister stops it. An fd the caller already closed has left the epoll
// set by itself (EBADF, ENOENT): that is not an error here.
func (h *hook) unregister(fd int) error {
	err := h.ctl(h.inner, unix.EPOLL_CTL_DEL, fd, 0, 0)
	if err == unix.EBADF || err == unix.ENOENT {
		return nil
	}
	return err
}

func (h *hook) run(helperCPU int, started chan<- error) {
	unpin, err := cpu.Pin(helperCPU)
	if err != nil {
		started <- fmt.Errorf("kevent hook thread: %w: %w", notify.ErrUnavailable, err)
		return
	}
	defer unpin()
	started <- nil
	for {
		h.calls.Inc(notify.CallHook)
		n, err := unix.EpollWait(h.outer, h.obuf[:], -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			// Only a bug gets here (EBADF after close, EFAULT); leave
			// quietly rather than spin, and let Close find us done.
			h.exit()
			return
		}
		for i := range n {
			if h.obuf[i].Fd == innerKey {
				h.harvest()
				continue
			}
			var b [8]byte
			h.calls.Inc(notify.CallHook)
			unix.Read(h.ctlfd, b[:])
			if h.stopping.Load() {
				h.exit()
				return
			}
			if h.usageReq.Swap(false) {
				h.usageCh <- sample()
			}
		}
	}
}

// harvest takes every report inner holds and runs storage_ready for each,
// as one step under harvestMu. The hook thread calls it when outer says
// inner is readable; the collector calls it to catch up.
func (h *hook) harvest() {
	h.harvestMu.lock(h.calls)
	for {
		h.calls.Inc(notify.CallHook)
		n, err := unix.EpollWait(h.inner, h.buf[:], 0)
		if err == unix.EINTR {
			continue
		}
		for i := range max(n, 0) {
			ev := &h.buf[i]
			idx, gen := idSlot(uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32)
			if st := h.tab.load(idx); st != nil && st.gen == gen {
				if st.typ == typeTimer {
					h.fireTimer(st)
					continue
				}
				storageReady(st, ev.Events&(pollIn|pollOut|pollErr|pollHup|pollRdHup), 0, h.calls)
			}
		}
		if n < len(h.buf) {
			break
		}
	}
	h.harvestMu.unlock()
}

func (h *hook) exit() {
	h.last = sample()
	close(h.done)
}

// sample reads the calling (hook) thread's usage; a refused getrusage
// reads as zero rather than stopping the thread.
func sample() rusage.Usage {
	u, _ := rusage.Thread()
	return u
}

// poke wakes the hook thread through its control eventfd.
func (h *hook) poke() {
	one := [8]byte{1}
	h.calls.Inc(notify.CallOther)
	unix.Write(h.ctlfd, one[:])
}

// usage asks the hook thread for its RUSAGE_THREAD totals.
func (h *hook) usage() rusage.Usage {
	h.usageMu.Lock()
	defer h.usageMu.Unlock()
	select {
	case <-h.done:
		return h.last
	default:
	}
	h.usageReq.Store(true)
	h.poke()
	select {
	case u := <-h.usageCh:
		return u
	case <-h.done:
		return h.last
	}
}

// stop ends the thread and closes its fds.
func (h *hook) stop() {
	h.stopping.Store(true)
	h.poke()
	<-h.done
	h.closeFDs()
}

// ptrTable maps slots to objects for the threads that fire them without
// the collector's help: the hook thread (fd origins, from epoll data) and
// user-source producers (Fire). Only collectors write it, under their own
// serialisation (the Kernel's mutex for fd origins, the queue's collector
// for user sources).
type ptrTable[T any] struct {
	cur atomic.Pointer[[]atomic.Pointer[T]]
}

func (t *ptrTable[T]) load(i int) *T {
	// Acquire: pairs with the Store of a grown table in store.
	s := t.cur.Load()
	if s == nil || i < 0 || i >= len(*s) {
		return nil
	}
	// Acquire: pairs with the Store in store, so the object's fields
	// written before it are visible.
	return (*s)[i].Load()
}

func (t *ptrTable[T]) store(i int, v *T) {
	s := t.cur.Load()
	if s == nil || i >= len(*s) {
		n := 16
		if s != nil {
			n = 2 * len(*s)
		}
		n = max(n, i+1)
		grown := make([]atomic.Pointer[T], n)
		if s != nil {
			for j := range *s {
				grown[j].Store((*s)[j].Load())
			}
		}
		t.cur.Store(&grown)
		s = &grown
	}
	(*s)[i].Store(v)
}
