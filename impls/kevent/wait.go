package kevent

import (
	"fmt"
	"sync"
	"time"

	"kbench/internal/clock"
	"kbench/notify"
)

// Wait collects events as notify's doc.go describes, through the path the
// Notifier was opened with.
func (n *Notifier) Wait(events []notify.Event, min int, timeout time.Duration) (int, error) {
	return n.wait(&n.own, events, min, timeout)
}

// waitCtx is one waiting goroutine's user side: its get_events buffer,
// its collector in the queue, and the lock every waiter of a shared queue
// takes to translate records against the registration table (nil: the
// owner alone).
type waitCtx struct {
	ubuf []ukevent
	c    *collector
	mu   *sync.Mutex
}

func (n *Notifier) wait(w *waitCtx, events []notify.Event, min int, timeout time.Duration) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	timeout, err := notify.WaitArgs("kevent", events, min, timeout)
	if err != nil {
		return 0, err
	}
	if len(events) == 0 {
		return 0, nil
	}
	if len(w.ubuf) < len(events) {
		w.ubuf = make([]ukevent, len(events))
	}
	// translate's merging of a counting source's records: each Wait, of
	// any waiter, has a number of its own.
	if w.mu != nil {
		w.mu.Lock()
	}
	n.waitSeq++
	seq := n.waitSeq
	if w.mu != nil {
		w.mu.Unlock()
	}
	if n.levelFDs > 0 || n.timers > 0 {
		// A level Wait reports every fd ready when it began; fd readiness
		// that epoll has seen but the hook thread has not yet passed to
		// storage_ready would be missed, so collect it here first. So with
		// timers: an hrtimer runs storage_ready at its expiry, so a Wait
		// reports every expiration due when it began, which a hook thread
		// kept off its CPU would otherwise hold back.
		n.k.harvest()
	}
	var deadline int64
	if timeout > 0 {
		deadline = clock.Now() + int64(timeout)
	}
	var got int
	switch n.path {
	case PathSyscall:
		got = n.waitSyscall(w, seq, events, min, timeout, deadline)
	case PathTake29:
		got, err = n.waitTake29(seq, events, min, timeout, deadline)
	case PathZach:
		got = n.waitZach(seq, events, min, timeout, deadline)
	}
	if n.gate.Closed() {
		return got, notify.ErrClosed
	}
	return got, err
}

// left is what remains of the caller's timeout: negative blocks, zero (or
// an expired deadline) polls.
func left(timeout time.Duration, deadline int64) time.Duration {
	if timeout <= 0 {
		return timeout
	}
	return max(time.Duration(deadline-clock.Now()), 0)
}

// translate turns a delivered ukevent into a notify.Event. A record whose
// id generation is not the slot's current one belongs to a kevent removed
// (or replaced) after it was delivered into a ring: dropped, so that no
// event of a removed source is ever reported.
//
// A broken record (KEVENT_RET_BROKEN: the origin went away,
// kevent_storage_fini, or the emulation found the fd closed) reports the
// registered interest with Hangup|Error. Its kevent was freed at delivery,
// and so is an fd registration then: the descriptor is no longer
// registered, as epoll forgets a closed one (Remove: os.ErrNotExist).
//
// It fills events[got] and returns the new number of events. A second
// record of a counting source (timer, signal, user event) within one Wait
// adds its count to the source's event instead: Zach's ring publishes a
// record per readiness, where the other paths coalesce on the ready list,
// and an Event reports everything since the source's last one.
func (n *Notifier) translate(uk *ukevent, events []notify.Event, got int, seq uint64) int {
	idx, gen := idSlot(uk.ID)
	if idx >= len(n.regs) {
		return got
	}
	r := &n.regs[idx]
	if !r.live || r.gen != gen {
		return got
	}
	if r.ks && r.waitSeq == seq {
		events[r.evIdx].Data += uk.count()
		return got
	}
	ev := &events[got]
	broken := uk.RetFlags&retBroken != 0
	if uk.ReqFlags&reqOneshot != 0 || broken {
		r.kev = false // take29 frees a oneshot kevent on delivery; kbench a broken one
	}
	ev.Token = r.token
	ev.Flags = 0
	ev.Kind = r.kind
	ev.Data = 0
	switch {
	case r.ks:
		ev.Ready = notify.Readable
		ev.Data = uk.count()
	case r.user:
		ev.Ready = notify.Readable
	default:
		ev.Ready = 0
		m := uk.RetData[0]
		if m&(pollIn|pollRdHup|pollHup|pollErr) != 0 && r.in&notify.Readable != 0 {
			ev.Ready |= notify.Readable
		}
		if m&(pollOut|pollHup|pollErr) != 0 && r.in&notify.Writable != 0 {
			ev.Ready |= notify.Writable
		}
		if m&(pollHup|pollRdHup) != 0 {
			ev.Flags |= notify.Hangup
		}
		if m&pollErr != 0 {
			ev.Flags |= notify.Error
		}
	}
	if broken {
		ev.Flags |= notify.Hangup | notify.Error
		if ev.Ready == 0 {
			ev.Ready = r.in
		}
	}
	if r.ks {
		r.waitSeq, r.evIdx = seq, got
	}
	if r.kind == notify.KindFD && !r.kev && (broken || r.gone) {
		n.dropFD(idx)
	}
	return got + 1
}

// deliver translates the first k records of w's buffer, under w's lock
// on a shared queue.
func (n *Notifier) deliver(w *waitCtx, seq uint64, events []notify.Event, got, k int) int {
	if k == 0 {
		return got
	}
	if w.mu != nil {
		w.mu.Lock()
		defer w.mu.Unlock()
	}
	for i := range k {
		got = n.translate(&w.ubuf[i], events, got, seq)
	}
	return got
}

// waitSyscall: kevent_get_events(min, max, timeout), once, unless records
// were dropped as stale.
func (n *Notifier) waitSyscall(w *waitCtx, seq uint64, events []notify.Event, min int, timeout time.Duration, deadline int64) int {
	got := 0
	for {
		wait := left(timeout, deadline)
		k, woke := n.u.getEventsAs(w.c, w.ubuf[:len(events)-got], min-got, wait)
		got = n.deliver(w, seq, events, got, k)
		if got >= min || woke || n.gate.Closed() || wait == 0 {
			return got
		}
	}
}

// waitTake29: kevent_wait fills the ring, the records are read in place
// and released with kevent_commit once commit_batch of them are read.
//
// The reader never lets kevent_wait fill the last free record: take29's
// commit reads new_uidx == uidx as "nothing to commit", so a completely
// full ring could only be released in two calls, and ring_kidx could not
// tell it from an empty one.
func (n *Notifier) waitTake29(seq uint64, events []notify.Event, want int, timeout time.Duration, deadline int64) (int, error) {
	slots := n.u.t29.Slots()
	got := 0
	for {
		if n.t29pending >= n.commitBatch || n.t29pending >= slots-1 {
			if err := n.t29Commit(); err != nil {
				return got, err
			}
		}
		wait := left(timeout, deadline)
		num := min(len(events)-got, slots-1-n.t29pending)
		copied, woke, err := n.u.keventWait(num, n.t29uidx, wait)
		if err != nil {
			return got, err
		}
		for range copied {
			pos := (n.t29uidx + uint32(n.t29pending)) % uint32(slots)
			n.t29pending++
			got = n.translate(n.u.t29Record(pos), events, got, seq)
		}
		if got >= want || woke || n.gate.Closed() || wait == 0 {
			break
		}
	}
	if n.t29pending >= n.commitBatch {
		if err := n.t29Commit(); err != nil {
			return got, err
		}
	}
	return got, nil
}

// t29Commit releases every record read: kevent_commit(new_uidx, over)
// with the ring_over the kernel published.
func (n *Notifier) t29Commit() error {
	if n.t29pending == 0 {
		return nil
	}
	slots := uint32(n.u.t29.Slots())
	newUidx := (n.t29uidx + uint32(n.t29pending)) % slots
	c, err := n.u.keventCommit(newUidx, n.u.t29.Over())
	if err != nil {
		return fmt.Errorf("kevent_commit: %w", err)
	}
	if c != n.t29pending {
		return fmt.Errorf("kevent_commit(%d) released %d records, want %d", newUidx, c, n.t29pending)
	}
	n.t29uidx = newUidx
	n.t29pending = 0
	return nil
}

// waitZach reads Zach's ring without a system call; every zach_n ring
// records it makes one non-blocking collection call for what only that
// call delivers (level kevents, kevents parked while the ring was full),
// and it blocks in the collection call only when the ring is empty.
func (n *Notifier) waitZach(seq uint64, events []notify.Event, min int, timeout time.Duration, deadline int64) int {
	got := 0
	done := false
	for {
		// The ring pass stops at the N-th record, so a busy ring that keeps
		// every Wait full cannot postpone the collection call for ever.
		empty := false
		for got < len(events) && n.ringSeen < n.zachN {
			if !n.u.zachNext(&n.uk1) {
				empty = true
				break
			}
			n.ringSeen++
			got = n.translate(&n.uk1, events, got, seq)
		}
		if n.ringSeen >= n.zachN && got < len(events) {
			n.ringSeen = 0
			k, woke := n.u.getEvents(n.own.ubuf[:len(events)-got], 0, 0)
			got = n.deliver(&n.own, seq, events, got, k)
			done = done || woke
		}
		if got >= min || got == len(events) || done {
			return got
		}
		if !empty {
			continue // the pass stopped at the N-th record, not at an empty ring
		}
		// The ring is empty: block in the collection call, which also
		// returns once the kernel publishes a record.
		wait := left(timeout, deadline)
		k, woke := n.u.getEvents(n.own.ubuf[:len(events)-got], min-got, wait)
		n.ringSeen = 0
		got = n.deliver(&n.own, seq, events, got, k)
		done = woke || wait == 0 || n.gate.Closed()
	}
}
