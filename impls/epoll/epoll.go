package epoll

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/callgate"
	"kbench/internal/fdindex"
	"kbench/internal/kindfd"
	"kbench/internal/rawsys"
	"kbench/notify"
)

// wakeKey is the epoll data of the wake eventfd; descriptor registrations
// use index+1, kind sources kindKey|slot+1 (kinds.go).
const wakeKey = kindKey

type reg struct {
	fd    int
	token uint64
	live  bool
}

// Notifier is an epoll instance plus a wake eventfd.
type Notifier struct {
	epfd, wakefd int
	regs         []reg   // by index; data word = index+1
	free         []int32 // reusable indexes
	byFD         fdindex.Index[int32]
	bufs         waitBufs     // Wait's own; each Waiter has its own
	pwait2       atomic.Bool  // epoll_pwait2 available; cleared once on ENOSYS
	exclusive    bool         // register with EPOLLEXCLUSIVE (Options exclusive=1)
	kinds        kindfd.Table // timers, signals, user events (kinds.go)
	gate         callgate.Gate
	calls        notify.Counters
}

// ParamExclusive is the Options parameter that registers every source with
// EPOLLEXCLUSIVE (1) or without (0, the default): see doc.go.
const ParamExclusive = "exclusive"

func init() { notify.DeclareRange(ParamExclusive, 0, 1) }

// NewWith creates an epoll instance with Options' parameters (exclusive).
func NewWith(o notify.Options) (*Notifier, error) {
	x := o.Param(ParamExclusive, 0)
	if x != 0 && x != 1 {
		return nil, fmt.Errorf("epoll: %s=%d, want 0 or 1: %w", ParamExclusive, x, notify.ErrInvalid)
	}
	n, err := New()
	if err != nil {
		return nil, err
	}
	n.exclusive = x == 1
	return n, nil
}

// New creates an epoll instance.
func New() (*Notifier, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	n := &Notifier{epfd: epfd, wakefd: wakefd}
	n.pwait2.Store(true)
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	setData(&ev, wakeKey)
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wakefd, &ev); err != nil {
		n.closeFDs()
		return nil, fmt.Errorf("epoll_ctl add wake eventfd: %w", err)
	}
	return n, nil
}

func (n *Notifier) closeFDs() {
	unix.Close(n.epfd)
	unix.Close(n.wakefd)
}

// Caps: level, edge and oneshot, all native; every source kind, the
// non-fd ones through descriptors (kinds.go).
func (n *Notifier) Caps() notify.Caps {
	t := notify.Of(notify.Level, notify.Edge, notify.Oneshot)
	return notify.Caps{
		Triggers: t, Native: t, Interests: notify.Readable | notify.Writable,
		Kinds:       notify.KindsOf(notify.KindFD, notify.KindTimer, notify.KindSignal, notify.KindUser),
		NativeKinds: notify.KindsOf(notify.KindFD),
		KindNote:    KindNote,
	}
}

// KindNote is epoll's Caps.KindNote.
const KindNote = "timerfd, signalfd and eventfd items drained by Wait (drain calls); signals as the kernel queues them: standard ones coalesce while pending, real-time ones count one per raise"

// Syscalls reports the counters.
func (n *Notifier) Syscalls() notify.SyscallCounts { return n.calls.Snapshot() }

// setData stores a 64-bit cookie in epoll_event's data union (Fd and Pad
// are its two 32-bit halves in x/sys's layout).
func setData(ev *unix.EpollEvent, key uint64) {
	ev.Fd = int32(uint32(key))
	ev.Pad = int32(uint32(key >> 32))
}

func data(ev *unix.EpollEvent) uint64 {
	return uint64(uint32(ev.Fd)) | uint64(uint32(ev.Pad))<<32
}

// events translates an Interest and Trigger into epoll flags.
func events(in notify.Interest, tr notify.Trigger) (uint32, error) {
	if !in.Valid() {
		return 0, fmt.Errorf("interest %v: %w", in, notify.ErrInvalid)
	}
	var e uint32
	if in&notify.Readable != 0 {
		e |= unix.EPOLLIN | unix.EPOLLRDHUP
	}
	if in&notify.Writable != 0 {
		e |= unix.EPOLLOUT
	}
	switch tr {
	case notify.Level:
	case notify.Edge:
		e |= unix.EPOLLET
	case notify.Oneshot:
		e |= unix.EPOLLONESHOT
	default:
		return 0, fmt.Errorf("epoll trigger %v: %w", tr, errors.ErrUnsupported)
	}
	return e, nil
}

// exclusiveEvents adds EPOLLEXCLUSIVE to a registration. The kernel takes
// it with IN, OUT, ET, ERR, HUP and WAKEUP only (EINVAL otherwise): RDHUP
// goes (a hangup still reports EPOLLHUP), ONESHOT is unsupported.
func exclusiveEvents(e uint32, tr notify.Trigger) (uint32, error) {
	if tr == notify.Oneshot {
		return 0, fmt.Errorf("epoll: EPOLLEXCLUSIVE with EPOLLONESHOT: %w", errors.ErrUnsupported)
	}
	return e&^unix.EPOLLRDHUP | unix.EPOLLEXCLUSIVE, nil
}

func (n *Notifier) ctl(op, fd int, e uint32, key uint64) error {
	ev := unix.EpollEvent{Events: e}
	setData(&ev, key)
	n.calls.Inc(notify.CallCtl)
	// A raw call: epoll_ctl never waits for readiness (at most for ep->mtx,
	// held only for the length of another ctl or of an epoll_wait's copy-out),
	// so it need not hand the P back to the scheduler. Skipping
	// entersyscall/exitsyscall is what the C twin's ctl saves too, and a P
	// never seen in a system call is one sysmon does not retake.
	// rawsys: one frame between this and the kernel, as a C caller has.
	_, errno := rawsys.Syscall6(unix.SYS_EPOLL_CTL, uintptr(n.epfd), uintptr(op), uintptr(fd),
		uintptr(unsafe.Pointer(&ev)), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// Add registers fd.
func (n *Notifier) Add(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	e, err := events(in, tr)
	if err != nil {
		return err
	}
	if n.exclusive {
		if e, err = exclusiveEvents(e, tr); err != nil {
			return err
		}
	}
	if _, ok := n.byFD.Get(fd); ok {
		return fmt.Errorf("epoll add fd %d: %w", fd, os.ErrExist)
	}
	var idx int32
	if k := len(n.free); k > 0 {
		idx = n.free[k-1]
		n.free = n.free[:k-1]
	} else {
		idx = int32(len(n.regs))
		n.regs = append(n.regs, reg{})
	}
	if err := n.ctl(unix.EPOLL_CTL_ADD, fd, e, uint64(idx)+1); err != nil {
		n.free = append(n.free, idx)
		return fmt.Errorf("epoll_ctl add fd %d: %w", fd, err)
	}
	n.regs[idx] = reg{fd: fd, token: token, live: true}
	n.byFD.Set(fd, idx)
	return nil
}

// Modify replaces fd's registration; for Oneshot it re-arms.
func (n *Notifier) Modify(fd int, token uint64, in notify.Interest, tr notify.Trigger) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	if n.exclusive {
		return fmt.Errorf("epoll modify fd %d: EPOLLEXCLUSIVE registrations cannot be modified: %w", fd, errors.ErrUnsupported)
	}
	e, err := events(in, tr)
	if err != nil {
		return err
	}
	idx, ok := n.byFD.Get(fd)
	if !ok {
		return fmt.Errorf("epoll modify fd %d: %w", fd, os.ErrNotExist)
	}
	if err := n.ctl(unix.EPOLL_CTL_MOD, fd, e, uint64(idx)+1); err != nil {
		return fmt.Errorf("epoll_ctl mod fd %d: %w", fd, err)
	}
	n.regs[idx].token = token
	return nil
}

// Remove unregisters fd.
func (n *Notifier) Remove(fd int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	idx, ok := n.byFD.Get(fd)
	if !ok {
		return fmt.Errorf("epoll remove fd %d: %w", fd, os.ErrNotExist)
	}
	n.byFD.Del(fd)
	n.regs[idx] = reg{}
	n.free = append(n.free, idx)
	if err := n.ctl(unix.EPOLL_CTL_DEL, fd, 0, 0); err != nil {
		return fmt.Errorf("epoll_ctl del fd %d: %w", fd, err)
	}
	return nil
}

// Wake makes a blocked (or the next) Wait return.
func (n *Notifier) Wake() error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	return n.wake()
}

func (n *Notifier) wake() error {
	one := [8]byte{1}
	n.calls.Inc(notify.CallWake)
	if _, err := unix.Write(n.wakefd, one[:]); err != nil && err != unix.EAGAIN {
		return fmt.Errorf("eventfd write: %w", err)
	}
	return nil
}

// Close wakes any waiter, waits for it to leave, then closes the fds. With
// several Waiters blocked, the one write wakes them all: a Wait that finds
// the gate closed returns without draining the wake eventfd, which stays
// ready, level-triggered, for the next exclusive waiter.
func (n *Notifier) Close() error {
	if !n.gate.Close() {
		return notify.ErrClosed
	}
	n.wake()
	n.gate.WaitIdle()
	n.closeKinds()
	n.closeFDs()
	return nil
}
