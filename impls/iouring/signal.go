package iouring

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/internal/kindfd"
	"kbench/notify"
)

// Signals go through a descriptor: io_uring has no signal opcode. Each
// watched signal gets a signalfd (SFD_NONBLOCK) that the ring polls, with
// IORING_POLL_ADD_MULTI when Config.Multishot is set and re-armed oneshot
// polls otherwise. A CQE makes Wait read the signalfd until EAGAIN; the
// number of siginfo records read is the event's Data, and every read is
// counted (CallDrain). A CQE whose signals an earlier read already took
// brings nothing and reports nothing.
//
// Which thread's signals. signalfd_poll and signalfd_read look at the
// pending signals of the task that calls them (current), plus the
// process-wide ones. The read is Wait's, on the collecting thread. The poll
// is the ring's: the first vfs_poll runs in the task that submits the
// POLL_ADD, and the re-poll after a wakeup (signalfd_notify wakes every
// signalfd of the process) runs as task_work of that same task. On the plain
// and coop setups that task is the collecting thread (its goroutine is
// locked to it, as notify.BlockSignal requires, so every POLL_ADD is
// submitted from there), which has the signal blocked and is the one
// notify.RaiseSignal targets (tgkill), so a thread-directed signal is seen
// (TestSignalThreadDirected). On the sqpoll
// setup it is the SQPOLL kernel thread, whose pending set never holds the
// collector's signals: AddSignal refuses there (errors.ErrUnsupported; shown
// by TestSignalSQPoll).

// sigInfoSize is sizeof(struct signalfd_siginfo); a read returns whole ones.
const sigInfoSize = 128

// sigBuf is where signalfd reads land, one buffer per Notifier (Wait's).
type sigBuf [16 * sigInfoSize]byte

// AddSignal watches sig, which the calling (collecting) thread has blocked.
func (n *Notifier) AddSignal(sig int, token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	if n.kops.signals != nil {
		return 0, n.kops.signals
	}
	for i := range n.ksrcs {
		if s := &n.ksrcs[i]; s.live && s.kind == notify.KindSignal && s.sig == sig {
			return 0, fmt.Errorf("iouring add signal %d: watched already as source %d: %w", sig, i, os.ErrExist)
		}
	}
	// Checked, and blocked in this thread (unblocked, the signal would go to
	// Go's handler rather than stay pending for the signalfd).
	fd, err := kindfd.OpenSignal(sig)
	if err != nil {
		return 0, fmt.Errorf("iouring add signal %d: %w", sig, err)
	}
	slot, s := n.newKind(notify.KindSignal, token)
	s.sig, s.fd = sig, fd
	if err := n.armSignal(slot); err != nil {
		n.freeKind(slot) // closes fd
		return 0, fmt.Errorf("iouring add signal %d: %w", sig, err)
	}
	return int(slot), nil
}

// armSignal queues the POLL_ADD on the signal's signalfd.
func (n *Notifier) armSignal(slot uint32) error {
	s := &n.ksrcs[slot]
	sqe, err := n.nextSQE()
	if err != nil {
		return err
	}
	sqe.Opcode = uring.IORING_OP_POLL_ADD
	sqe.FD = int32(s.fd)
	sqe.OpFlags = unix.EPOLLIN
	if n.multishot {
		sqe.Len = uring.IORING_POLL_ADD_MULTI
	}
	sqe.UserData = kindData(slot, s.gen)
	s.armed = true
	return nil
}

// signalDone takes a signalfd poll's CQE: drain, and re-arm if the request
// ended (oneshot, or a multishot poll the kernel ended).
func (n *Notifier) signalDone(slot uint32, res int32, flags uint32) {
	s := &n.ksrcs[slot]
	if flags&uring.IORING_CQE_F_MORE == 0 {
		s.armed = false
	}
	if res < 0 {
		n.requestFailed(slot, res)
		return
	}
	if !s.armed {
		// Queued before draining, so a signal raised after the drain's
		// EAGAIN is caught by the new poll's first vfs_poll.
		n.krearmq = append(n.krearmq, slot) // capacity: one per slot (newKind)
	}
	if k := n.drainSignal(s.fd); k > 0 {
		n.report(slot, k, 0)
	}
}

// drainSignal reads fd until EAGAIN and returns the signals read.
func (n *Notifier) drainSignal(fd int) uint64 {
	var k uint64
	for {
		n.Inc(notify.CallDrain)
		m, err := unix.Read(fd, n.sigbuf[:])
		if err == unix.EINTR {
			continue
		}
		if err != nil || m <= 0 {
			return k
		}
		k += uint64(m / sigInfoSize)
		if m < len(n.sigbuf) {
			// A short read emptied the queue of this signal (signalfd_read
			// stops at the first dequeue that finds nothing).
			return k
		}
	}
}
