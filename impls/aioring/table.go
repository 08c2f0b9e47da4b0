//go:build linux

package aioring

import (
	"golang.org/x/sys/unix"

	"kbench/notify"
)

// A registration lives in a slot. Its iocb sits at a fixed address for the
// slot's lifetime (io_cancel finds a request by that address), and the
// aio_data of every request carries key(slot, gen): an index to look the
// token up, never a pointer.
//
// gen changes whenever the slot's outstanding request stops being the one
// the registration wants: on Remove, and on a Modify that must cancel and
// resubmit. A completion whose gen is not the slot's current one is the
// leftover of a cancelled or removed request and is dropped, even if it was
// already in the ring when Remove ran.

// wakeSlot is the internal eventfd poll that Wake and Close complete.
const wakeSlot = 0

type state uint8

const (
	idle     state = iota // disarmed: oneshot delivered, or the kernel refused or ended the request
	queued                // on pending or requeue, submitted by the next Wait's io_submit
	inflight              // submitted; its completion has not been consumed
)

type reg struct {
	token  uint64
	fd     int32
	gen    uint32
	in     notify.Interest
	tr     notify.Trigger
	st     state
	kind   notify.Kind // KindFD, or the source kind whose descriptor fd is (kinds.go)
	live   bool
	failed unix.Errno // a submission refused by the kernel, reported as an Error event
}

func key(slot, gen uint32) uint64 { return uint64(gen)<<32 | uint64(slot) }

func splitKey(k uint64) (slot, gen uint32) { return uint32(k), uint32(k >> 32) }

// pollMask translates an Interest into the POLL* mask of aio_buf. The kernel
// adds POLLERR and POLLHUP itself.
func pollMask(in notify.Interest) uint64 {
	var m uint64
	if in&notify.Readable != 0 {
		m |= pollIn
	}
	if in&notify.Writable != 0 {
		m |= pollOut
	}
	return m
}

// fromPoll translates a poll completion's res into readiness and flags.
// res == 0 means the request ended without readiness: the kernel cancelled it
// itself (POLLFREE: the file's wait queue went away), so the source is gone.
func fromPoll(res int64, in notify.Interest) (notify.Interest, notify.Flags) {
	if res < 0 {
		return 0, notify.Error
	}
	if res == 0 {
		return 0, notify.Hangup
	}
	var ready notify.Interest
	var fl notify.Flags
	if res&(pollIn|pollRdNorm) != 0 {
		ready |= notify.Readable
	}
	if res&pollOut != 0 {
		ready |= notify.Writable
	}
	if res&(pollHup|pollRdHup) != 0 {
		fl |= notify.Hangup
	}
	if res&(pollErr|pollNval) != 0 {
		fl |= notify.Error
	}
	return ready & in, fl
}

// queue puts an idle registration on the list the next Wait submits.
func (n *Notifier) queue(slot uint32) {
	n.regs[slot].st = queued
	n.pending = append(n.pending, slot)
}

// unqueue takes a queued registration off whichever list holds it.
func (n *Notifier) unqueue(slot uint32) {
	n.pending = without(n.pending, slot)
	n.requeue = without(n.requeue, slot)
}

func without(list []uint32, slot uint32) []uint32 {
	for i, s := range list {
		if s == slot {
			return append(list[:i], list[i+1:]...)
		}
	}
	return list
}
