//go:build linux

package aioring

import (
	"fmt"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// Wake makes a blocked Wait return, or the next one. Concurrent Wakes share
// one eventfd write: the flag stays set until the Wait that consumes the
// eventfd clears it (the runtime netpoller's netpollWakeSig idea).
func (n *Notifier) Wake() error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	if !n.wakeSig.CompareAndSwap(0, 1) {
		return nil
	}
	return n.signal()
}

func (n *Notifier) signal() error {
	_, err := unix.Write(n.wakefd, n.one[:])
	n.calls.Inc(notify.CallWake)
	if err != nil && err != unix.EAGAIN { // EAGAIN: the counter is saturated, so already readable
		return fmt.Errorf("aioring: wake: eventfd write: %w", err)
	}
	return nil
}

// consumeWake handles the wake poll's completion inside Wait.
func (n *Notifier) consumeWake() {
	// Drain first, then clear the flag: a Wake between the two sees the flag
	// still set and writes nothing, and this returning Wait stands for it.
	// The other order could leave the flag set over an empty eventfd, and
	// every later Wake would be lost.
	unix.Read(n.wakefd, n.drain[:])
	n.calls.Inc(notify.CallOther)
	n.wakeSig.Store(0)
	n.woken = true
	n.wakeArm = true
}
