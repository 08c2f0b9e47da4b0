package iouring

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/notify"
)

// Multishot accept: one IORING_OP_ACCEPT with IORING_ACCEPT_MULTISHOT in
// sqe->ioprio (Linux 5.19) stays armed on a listening socket and posts one
// CQE per connection it accepts, the new descriptor in cqe->res and
// IORING_CQE_F_MORE while it stays armed. The request waits on the
// listener's wait queue exclusively (io_uring's opdef marks accept
// poll_exclusive), so a connection wakes one of several rings armed on the
// same listener, and that ring's task accepts it: the accept herd's
// io_uring answer to EPOLLEXCLUSIVE. Not a notify.Notifier: what it
// reports is a connection, not readiness.

// ABI values (include/uapi/linux/io_uring.h), kept with the one op that
// uses them.
const (
	opAccept        = 13     // IORING_OP_ACCEPT
	acceptMultishot = 1 << 0 // IORING_ACCEPT_MULTISHOT, in sqe->ioprio
	acceptTag       = 1      // user_data of the accept request's CQEs
	wakeTag         = 2      // user_data of the wake eventfd's multishot poll
)

// Acceptor is a plain io_uring ring (no task-running flags) with one
// multishot accept on a listening socket. Every method but Wake belongs to
// the goroutine that created it (locked to its OS thread: the ring's task
// runs the accepts).
type Acceptor struct {
	notify.Counters
	ring   *uring.Ring
	lfd    int
	armed  bool // the multishot accept is posted and has not ended
	wakefd int  // Wake's eventfd, polled multishot in the ring
	woken  bool // this Accept consumed a Wake
	wakeOn bool // the wake poll is posted and has not ended
	buf    [8]byte
}

// NewAcceptor sets up a ring for listener lfd (nonblocking, listening)
// and arms the multishot accept. A kernel that refuses io_uring, the
// accept op or its multishot flag returns an error wrapping
// notify.ErrUnavailable with the reason.
func NewAcceptor(lfd int) (*Acceptor, error) {
	p := uring.Params{Flags: uring.IORING_SETUP_CQSIZE, CQEntries: 1024}
	ring, err := uring.New(8, &p)
	if err != nil {
		return nil, refusal(Plain, err)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		ring.Close()
		return nil, fmt.Errorf("iouring accept: eventfd: %w", err)
	}
	a := &Acceptor{ring: ring, lfd: lfd, wakefd: wakefd}
	if ring.Params.Features&uring.IORING_FEAT_EXT_ARG == 0 {
		a.Close()
		return nil, fmt.Errorf("iouring accept: kernel lacks IORING_FEAT_EXT_ARG (no wait timeouts): %w", notify.ErrUnavailable)
	}
	if err := ring.Probe(opAccept, uring.IORING_OP_POLL_ADD); err != nil {
		a.Close()
		return nil, fmt.Errorf("iouring accept: %w: %w", notify.ErrUnavailable, err)
	}
	// An unknown ioprio flag fails the request at once (EINVAL, no
	// F_MORE), during the submit; one the kernel takes leaves no CQE until
	// a connection comes.
	a.arm()
	a.armWake()
	if _, e := ring.Submit(ring.SQ.Publish(), 0); e != 0 {
		a.Close()
		return nil, fmt.Errorf("iouring accept: submit: %w", e)
	}
	a.Inc(notify.CallSubmit)
	if head := ring.CQ.Head(); head != ring.CQ.Tail() {
		if c := ring.CQ.At(head); c.UserData == acceptTag && c.Res < 0 {
			a.Close()
			e := unix.Errno(-c.Res)
			if e == unix.EINVAL || e == unix.EOPNOTSUPP {
				return nil, fmt.Errorf("iouring accept: kernel refused IORING_ACCEPT_MULTISHOT (%w): %w", e, notify.ErrUnavailable)
			}
			return nil, fmt.Errorf("iouring accept: %w", e)
		}
	}
	return a, nil
}

// arm queues the multishot accept (the caller publishes and submits).
func (a *Acceptor) arm() {
	sqe := a.ring.SQ.Next() // two requests at most in an SQ of 8: never full
	sqe.Opcode = opAccept
	sqe.FD = int32(a.lfd)
	sqe.IOPrio = acceptMultishot
	sqe.OpFlags = unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC // accept_flags
	sqe.UserData = acceptTag
	a.armed = true
}

// armWake queues the multishot poll on Wake's eventfd.
func (a *Acceptor) armWake() {
	sqe := a.ring.SQ.Next()
	sqe.Opcode = uring.IORING_OP_POLL_ADD
	sqe.FD = int32(a.wakefd)
	sqe.Len = uring.IORING_POLL_ADD_MULTI
	sqe.OpFlags = unix.POLLIN // poll32_events
	sqe.UserData = wakeTag
	a.wakeOn = true
}

// Wake makes a blocked Accept return (with what it has, maybe nothing),
// or the next one; callable from any goroutine.
func (a *Acceptor) Wake() error {
	one := [8]byte{1}
	_, err := unix.Write(a.wakefd, one[:])
	a.Inc(notify.CallWake)
	if err != nil && err != unix.EAGAIN { // EAGAIN: saturated, so already readable
		return fmt.Errorf("iouring accept: wake: %w", err)
	}
	return nil
}

// Accept returns the descriptors of accepted connections in fds, at most
// len(fds), blocking up to timeout (< 0: no limit) while there is none;
// 0 at the timeout. The caller owns (and closes) what it returns. A
// multishot accept the kernel ended (a full CQ, an error such as
// ECONNABORTED or EMFILE) is re-armed here; an error it reports is
// returned once the connections before it are. It allocates nothing.
func (a *Acceptor) Accept(fds []int, timeout time.Duration) (int, error) {
	a.woken = false
	k, err := a.reap(fds)
	if k > 0 || err != nil || a.woken {
		return k, err
	}
	if !a.armed {
		a.arm()
	}
	if !a.wakeOn {
		a.armWake()
	}
	_, e := a.ring.Wait(a.ring.SQ.Publish(), 1, 0, timeout)
	a.Inc(notify.CallWait)
	switch e {
	case 0, unix.ETIME, unix.EINTR:
	default:
		return 0, fmt.Errorf("iouring accept: io_uring_enter: %w", e)
	}
	return a.reap(fds)
}

// reap consumes the CQEs that fit fds.
func (a *Acceptor) reap(fds []int) (int, error) {
	k := 0
	head, tail := a.ring.CQ.Head(), a.ring.CQ.Tail()
	var err error
	for ; head != tail && k < len(fds) && err == nil; head++ {
		c := a.ring.CQ.At(head)
		if c.UserData == wakeTag {
			if c.Flags&uring.IORING_CQE_F_MORE == 0 {
				a.wakeOn = false
			}
			unix.Read(a.wakefd, a.buf[:]) // drain: the next Wake is a new readiness
			a.Inc(notify.CallOther)
			a.woken = true
			continue
		}
		if c.UserData != acceptTag {
			continue
		}
		if c.Flags&uring.IORING_CQE_F_MORE == 0 {
			a.armed = false
		}
		switch {
		case c.Res >= 0:
			fds[k] = int(c.Res)
			k++
		case c.Res == -int32(unix.ECONNABORTED) || c.Res == -int32(unix.EAGAIN) || c.Res == -int32(unix.EINTR):
			// The connection went before it was taken, or nothing was
			// there: re-armed at the next Accept.
		default:
			err = fmt.Errorf("iouring accept: %w", unix.Errno(-c.Res))
		}
	}
	a.ring.CQ.Release(head)
	return k, err
}

// Syscalls reports the ring's system calls so far.
func (a *Acceptor) Syscalls() notify.SyscallCounts { return a.Snapshot() }

// Close tears the ring down (the kernel cancels the accept and the wake
// poll) and closes the wake eventfd.
func (a *Acceptor) Close() error {
	err := a.ring.Close()
	if cerr := unix.Close(a.wakefd); err == nil {
		err = cerr
	}
	return err
}
