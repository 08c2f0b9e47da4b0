package epoll

import (
	"fmt"

	"golang.org/x/sys/unix"

	"kbench/internal/kindfd"
	"kbench/notify"
)

// Source kinds (notify.KindSources) go through descriptors the instance
// owns (internal/kindfd): a timerfd per timer, a signalfd per signal, an
// eventfd per user event, each an ordinary level-triggered epoll item
// whose data word is kindKey|slot+1. Wait drains the descriptor when it is
// reported and turns the read into the Event's count.
//
// The data word's top bit marks the words that are not descriptor
// registrations: the wake eventfd's (kindKey alone) and the kind sources'.
// Wait's descriptor path tests one sign bit where it used to compare with
// the wake key, so fd events pay nothing for the kinds.
const kindKey = 1 << 63

// AddTimer arms a timerfd.
func (n *Notifier) AddTimer(spec notify.TimerSpec, token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	fd, err := kindfd.OpenTimer(spec)
	if err != nil {
		return 0, fmt.Errorf("epoll add timer: %w", err)
	}
	return n.addKind(&kindfd.Source{FD: fd, Token: token, Kind: notify.KindTimer})
}

// AddSignal watches sig through a signalfd; sig must be blocked in the
// calling thread, the collector's (notify.BlockSignal).
func (n *Notifier) AddSignal(sig int, token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	fd, err := kindfd.OpenSignal(sig)
	if err != nil {
		return 0, fmt.Errorf("epoll add signal: %w", err)
	}
	return n.addKind(&kindfd.Source{FD: fd, Token: token, Kind: notify.KindSignal, Sig: sig})
}

// AddEvent registers a user event on an eventfd.
func (n *Notifier) AddEvent(token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	fd, err := kindfd.OpenEvent()
	if err != nil {
		return 0, fmt.Errorf("epoll add event: %w", err)
	}
	return n.addKind(&kindfd.Source{FD: fd, Token: token, Kind: notify.KindUser})
}

// addKind records s and adds its descriptor to the epoll set; on failure
// the descriptor is closed.
func (n *Notifier) addKind(s *kindfd.Source) (int, error) {
	id, slot, err := n.kinds.Add(s)
	if err != nil {
		unix.Close(s.FD)
		return 0, fmt.Errorf("epoll add %v: %w", s.Kind, err)
	}
	if err := n.ctl(unix.EPOLL_CTL_ADD, s.FD, unix.EPOLLIN, kindKey|(uint64(slot)+1)); err != nil {
		n.kinds.Remove(id)
		unix.Close(s.FD)
		return 0, fmt.Errorf("epoll_ctl add %v: %w", s.Kind, err)
	}
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

// RemoveSource unregisters a timer, signal or user event and closes its
// descriptor. EPOLL_CTL_DEL takes the item off the ready list too, so a
// pending expiration, signal or post is never reported afterwards.
func (n *Notifier) RemoveSource(id int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	s, err := n.kinds.Remove(id)
	if err != nil {
		return fmt.Errorf("epoll remove: %w", err)
	}
	err = n.ctl(unix.EPOLL_CTL_DEL, s.FD, 0, 0)
	unix.Close(s.FD)
	if err != nil {
		return fmt.Errorf("epoll_ctl del %v: %w", s.Kind, err)
	}
	return nil
}

// kindEvent drains the kind source behind data word key into ev and
// reports whether there was anything to report (a source another Waiter
// drained first has nothing).
func (n *Notifier) kindEvent(b *waitBufs, key uint64, ev *notify.Event) bool {
	s := n.kinds.At(uint32(key&^kindKey) - 1)
	if s == nil {
		return false
	}
	count := kindfd.Drain(s, &b.drain, &n.calls)
	if count == 0 {
		return false
	}
	*ev = notify.Event{Token: s.Token, Ready: notify.Readable, Kind: s.Kind, Data: count}
	return true
}

// closeKinds closes every kind source's descriptor (Close, once no caller
// is inside).
func (n *Notifier) closeKinds() {
	n.kinds.Each(func(s *kindfd.Source) { unix.Close(s.FD) })
}
