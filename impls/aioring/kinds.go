//go:build linux

package aioring

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"kbench/internal/kindfd"
	"kbench/notify"
)

// Source kinds (notify.KindSources) are descriptors the instance owns
// (internal/kindfd), each a registration slot like a descriptor's with an
// IOCB_CMD_POLL for POLLIN outstanding: a timerfd per timer, a signalfd per
// signal, an eventfd per user event. When the poll completes, Wait drains
// the descriptor (the read is the Event's count, counted as
// notify.CallDrain) and queues the poll again at once: unlike a level
// descriptor it need not wait for the caller, since nothing is left to
// drain, so the source can complete again within the same Wait. Their
// slots count against MaxSources.
//
// Signals are refused (errors.ErrUnsupported). A signal wakes a signalfd's
// waiters without a poll key, so aio_poll_wake hands the request to a
// workqueue, and aio_poll_complete_work re-polls the signalfd from a
// kworker: signalfd_poll looks at the current task's pending signals, the
// kworker's, never the collector thread's, finds nothing and puts the
// request back to sleep (fs/aio.c, fs/signalfd.c). Only a signal already
// pending when io_submit polls inline, on the collector's thread, would
// complete it; a Wait blocked in io_getevents would never see one raised
// meanwhile. TestSignalfdPollStaysAsleep keeps watch on that kernel
// behaviour.

var kinds = notify.KindsOf(notify.KindFD, notify.KindTimer, notify.KindUser)

// KindNote is aioring's Caps.KindNote.
const KindNote = "timerfd and eventfd polled with IOCB_CMD_POLL and drained by Wait (drain calls); no signals: AIO re-polls a woken signalfd from a kworker, which never sees the collector's signals"

// AddTimer arms a timerfd and polls it.
func (n *Notifier) AddTimer(spec notify.TimerSpec, token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	fd, err := kindfd.OpenTimer(spec)
	if err != nil {
		return 0, fmt.Errorf("aioring: add timer: %w", err)
	}
	return n.addKind(&kindfd.Source{FD: fd, Token: token, Kind: notify.KindTimer})
}

// AddSignal watches sig through a polled signalfd; sig must be blocked in
// the calling thread, the collector's (notify.BlockSignal).
func (n *Notifier) AddSignal(sig int, token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	if !kinds.Has(notify.KindSignal) {
		return 0, fmt.Errorf("aioring: add signal: %w", errors.ErrUnsupported)
	}
	fd, err := kindfd.OpenSignal(sig)
	if err != nil {
		return 0, fmt.Errorf("aioring: add signal: %w", err)
	}
	return n.addKind(&kindfd.Source{FD: fd, Token: token, Kind: notify.KindSignal, Sig: sig})
}

// AddEvent registers a user event on a polled eventfd.
func (n *Notifier) AddEvent(token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	fd, err := kindfd.OpenEvent()
	if err != nil {
		return 0, fmt.Errorf("aioring: add event: %w", err)
	}
	return n.addKind(&kindfd.Source{FD: fd, Token: token, Kind: notify.KindUser})
}

// addKind records s, takes a registration slot for its descriptor and
// submits the poll; on failure the descriptor is closed.
func (n *Notifier) addKind(s *kindfd.Source) (int, error) {
	id, _, err := n.kinds.Add(s)
	if err != nil {
		unix.Close(s.FD)
		return 0, fmt.Errorf("aioring: add %v: %w", s.Kind, err)
	}
	slot, err := n.register(int32(s.FD), s.Token, notify.Readable, notify.Level, s.Kind)
	if err != nil {
		n.kinds.Remove(id)
		unix.Close(s.FD)
		return 0, fmt.Errorf("aioring: add %v: %w", s.Kind, err)
	}
	s.Ref = slot
	n.ksrc[slot] = s
	return id, nil
}

// Post adds value to user event id. Any goroutine, concurrently with Wait.
func (n *Notifier) Post(id int, value uint64) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	return n.kinds.Post(id, value, &n.calls)
}

// RemoveSource unregisters a timer, signal or user event. Its poll is
// cancelled and its slot's generation bumped, so a completion already in
// the ring is dropped (Remove's rule); the descriptor, with whatever was
// pending in it, is closed unread.
func (n *Notifier) RemoveSource(id int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	s, err := n.kinds.Remove(id)
	if err != nil {
		return fmt.Errorf("aioring: remove: %w", err)
	}
	n.ksrc[s.Ref] = nil
	err = n.release(s.Ref)
	// The cancelled request holds its own reference to the file until it
	// completes, so closing the descriptor now is safe.
	unix.Close(s.FD)
	return err
}

// kindEvent turns the completion of a kind source's poll into ev and
// reports whether there was anything to report.
func (n *Notifier) kindEvent(slot uint32, res int64, ev *notify.Event) bool {
	r := &n.regs[slot]
	if res <= 0 {
		// The kernel ended the request without readiness: report it once
		// and leave it disarmed, as for a descriptor.
		r.st = idle
		ready, fl := fromPoll(res, r.in)
		*ev = notify.Event{Token: r.token, Ready: ready, Flags: fl, Kind: r.kind}
		return true
	}
	count := kindfd.Drain(n.ksrc[slot], &n.kbuf, &n.calls)
	n.queue(slot) // drained: poll again in this Wait's next submission
	if count == 0 {
		return false
	}
	*ev = notify.Event{Token: r.token, Ready: notify.Readable, Kind: r.kind, Data: count}
	return true
}

// closeKinds closes every kind source's descriptor (Close).
func (n *Notifier) closeKinds() {
	n.kinds.Each(func(s *kindfd.Source) { unix.Close(s.FD) })
}
