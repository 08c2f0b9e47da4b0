package kevent

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/ring"
	"kbench/notify"
)

// mode is the collection path a queue is built for.
type mode uint8

const (
	modeSyscall mode = iota // kevent_get_events only
	modeTake29              // take29's ring, kevent_wait + kevent_commit
	modeZach                // Zach Brown's ownership-word ring, filled at storage_ready
)

func (m mode) String() string { return [...]string{"syscall", "take29", "zach"}[m] }

// kuser is struct kevent_user: the queue behind one kevent descriptor, the
// "kernel side" of this package.
//
// mu stands for the original's kevent_lock, ready_lock and per-kevent
// ulock: the index, the ready lists and every kevent's ukevent are under it.
// Storages have their own lock and are shared by every queue watching the
// origin (see storage). Producers (storage_ready from the hook thread or a
// user-source producer, and ctl READY) may run on any goroutine; everything
// else (ctl ADD/MODIFY/REMOVE, collection, the take29 ring, the zach ring's
// consumer) belongs to the collecting one.
type kuser struct {
	mu    spinlock
	calls *notify.Counters
	mode  mode

	index    map[uint64]*kevent // kevent_root: all kevents by id
	lists    [2 * numPrio]klist // per priority p: lists[2p] ready, lists[2p+1] zach's syscall-only list
	readyNum int                // kevents on any list (ready_num)
	parked   int                // zach: kevents on the lists[2p], waiting for ring slots
	pool     kpool
	poll     poller

	// ust is the queue's own storage, take30's k->user->st: every unotify
	// kevent of the queue sits on it, and nothing calls storage_ready on it
	// (they are made ready by KEVENT_CTL_READY).
	ust *storage
	// stHeld is the storage whose lock the current holder of mu also holds
	// (nil if none): only that storage's list may be changed.
	stHeld *storage
	// reap holds finished kevents still on a storage whose lock their
	// finisher did not hold; the collector unlinks and recycles them (the
	// patch frees kevents through RCU for the same reason).
	reap, reapSpare []*kevent

	// Sleeping and waking: the queue's wait queue (u->wait). futex is a
	// wake generation the collectors sleep on; sleepers counts the
	// collectors asleep on it that no wake has reached yet, and
	// sigSleeping says the owner sleeps in ppoll on its signalfd and the
	// wake eventfd instead (signal.go). Both are read and written under
	// mu, so a producer makes a system call only when a collector is
	// actually asleep, and then wakes every one, as wake_up does on a
	// wait queue whose sleepers are not exclusive (shared.go).
	futex       atomic.Uint32
	sleep       func(w *atomic.Uint32, val uint32, d time.Duration) unix.Errno // futexWait; tests stand in signals
	sleepers    int
	sigSleeping bool
	wakePending uint8 // wakeFutex|wakeEventfd, set under mu by wakeLocked; issued after unlock
	needExit    bool  // Wake (ctl READY with num 0): the next collection returns at once
	closed      bool
	// nonblock is O_NONBLOCK on the queue's file: get_events and
	// kevent_wait never sleep and ignore their timeout (take29).
	nonblock bool

	// The poll fd (pollable.go): an eventfd readable while the queue is
	// (kevent_user_poll's ready_num || need_exit); -1 until asked for.
	pollfd  int
	pollSet bool     // the eventfd is readable (under mu)
	pollMu  spinlock // orders the eventfd's writes and reads

	// Signal kevents (signal.go): the collector thread's signal storages,
	// drained by its collection calls, and the eventfd its sleeps then
	// wait on beside the signalfd. wakefd is what a producer wakes: -1
	// for the futex, else the eventfd.
	sig     *sigTask
	sigWake int
	wakefd  atomic.Int32
	spfd    [2]unix.PollFd
	sts     unix.Timespec

	absMu    sync.Mutex  // the ABSTIME timer (timeout.go)
	absTimer *time.Timer // take29's u->timer: armed by an ABSTIME wait, left armed after it

	zring  *ring.Owned  // zach: the kernel is its producer, the Notifier's Wait its consumer
	t29    *ring.Take29 // take29: kevent_ring and the kernel's private indices
	t29buf []ukevent

	// own is the owner's collection state (the Notifier's Wait, take29's
	// kevent_wait, Zach's collection calls); each Waiter of a shared
	// queue has one of its own.
	own  collector
	pfd1 [1]unix.PollFd
	// reapMu serialises reapDead between collectors of a shared queue.
	reapMu sync.Mutex
	// ADD array scratch (collector only).
	addIDs  map[uint64]struct{}
	addKs   []*kevent
	addPfds []unix.PollFd
	addRes  []int8
	addUk   []ukevent
}

// collector is one collecting thread's part of a collection call: scratch
// reused so that collection never allocates, and whether the thread is
// the queue's owner, the one whose signal storages the queue drains and
// whose sleeps watch its signalfd (signal.go). Other threads collect only
// on a shared queue, each through a Waiter (shared.go).
type collector struct {
	owner    bool
	round    []*kevent
	checkIdx []int
	pfds     []unix.PollFd
	deferred []*kevent
}

// Wakes a producer decided on under mu (kuser.wakePending).
const (
	wakeFutex   uint8 = 1 << iota // FUTEX_WAKE every futex sleeper
	wakeEventfd                   // write the owner's wake eventfd (it sleeps in ppoll)
)

// ringSlotSize is a zach slot: the ownership header and one ukevent.
const ringSlotSize = ring.OwnedHeader + ukeventSize

func newKuser(m mode, calls *notify.Counters, p poller, ringSlots int) (*kuser, error) {
	u := &kuser{calls: calls, mode: m, index: make(map[uint64]*kevent), poll: p,
		ust: &storage{origin: -1, typ: typeUnotify}, sleep: futexWait, pollfd: -1, sigWake: -1, addIDs: make(map[uint64]struct{}),
		own: collector{owner: true}}
	u.wakefd.Store(-1)
	switch m {
	case modeZach:
		r, err := ring.NewOwned(ringSlots, ringSlotSize)
		if err != nil {
			return nil, fmt.Errorf("kevent zach ring: %w", err)
		}
		u.zring = r
	case modeTake29:
		r, err := ring.NewTake29(ringSlots, ukeventSize)
		if err != nil {
			return nil, fmt.Errorf("kevent take29 ring: %w", err)
		}
		u.t29 = r
		u.t29buf = make([]ukevent, ringSlots)
	}
	return u, nil
}

func (u *kuser) lock() { u.mu.lock(u.calls) }

// lockSt takes st's lock, then the queue's, in the one order allowed.
func (u *kuser) lockSt(st *storage) {
	st.mu.lock(u.calls)
	u.lock()
	u.stHeld = st
}

func (u *kuser) unlockSt(st *storage) {
	u.stHeld = nil
	u.unlock()
	st.mu.unlock()
}

// unlock releases the queue and issues the wake a producer decided on
// under the lock, so the sleepers do not wake into a held lock.
//
// With a poll fd (pollable.go) it also brings the fd's readiness in line
// with the queue's, deciding under the lock and signalling under pollMu,
// taken before the queue is released, so signals keep the decisions' order.
func (u *kuser) unlock() {
	wake := u.wakePending
	u.wakePending = 0
	if u.pollfd >= 0 {
		u.unlockPollable(wake)
		return
	}
	u.mu.unlock()
	if wake != 0 {
		u.wakeup(wake)
	}
}

// wakeup issues the wakes decided under the lock: a FUTEX_WAKE of every
// futex sleeper, and an eventfd write for an owner asleep in ppoll while
// it watches signals. Each is one system call, counted as CallWake.
func (u *kuser) wakeup(wake uint8) {
	if wake&wakeEventfd != 0 {
		// Acquire: pairs with the Store in watchSignals and unwatchSignals.
		if fd := u.wakefd.Load(); fd >= 0 {
			u.calls.Inc(notify.CallWake)
			one := [8]byte{1}
			unix.Write(int(fd), one[:])
		}
	}
	if wake&wakeFutex != 0 {
		u.calls.Inc(notify.CallWake)
		futexWake(&u.futex)
	}
}

// wakeLocked is wake_up(&u->wait) with the waiter check: nothing to do,
// and no system call, unless a collector is asleep; otherwise every
// sleeper is woken (take29's collectors wait on u->wait without
// WQ_FLAG_EXCLUSIVE), and each re-checks the queue under the lock.
func (u *kuser) wakeLocked() {
	if u.sleepers > 0 {
		u.sleepers = 0
		// A new generation, under mu: pairs with the generation each
		// sleeper read under mu and passed to FUTEX_WAIT (sleepLocked).
		// One that has not slept yet finds the word changed (EAGAIN);
		// one asleep is in the FUTEX_WAKE after unlock.
		u.futex.Add(1)
		u.wakePending |= wakeFutex
	}
	if u.sigSleeping {
		u.sigSleeping = false
		u.wakePending |= wakeEventfd
	}
}

// storageReady is kevent_storage_ready: the origin reports activity mask
// to every queue watching it. Each kevent interested in mask has its
// callback run and is queued once on its own queue; without WAKEUP_ALL a
// kevent is skipped once an earlier one of the storage — of this queue or
// another — has been made ready by this call (first-waker-only). The
// storage's lock is held throughout and each kevent's queue is locked in
// turn, so two queues never hold each other up for longer than one kevent.
// n is what a counting origin (a timer's expirations, a signal's
// deliveries, a direct user event's value) adds to each kevent it readies;
// poll origins pass 0.
func storageReady(st *storage, mask uint32, n uint64, c *notify.Counters) {
	st.mu.lock(c)
	woken := 0
	st.walk, st.walking = 0, true
	for st.walk < len(st.list) {
		k := st.list[st.walk]
		u := k.u
		u.lock()
		u.stHeld = st
		// A kevent finished by a queue that did not hold this storage's lock
		// waits on the list for its reaper: it has left its queue (kUser
		// clear) and must not be made ready.
		if k.flags&kUser != 0 && mask&k.uk.Event != 0 && (k.uk.ReqFlags&reqWakeupAll != 0 || woken == 0) {
			r := readyVerdict(k, mask, n)
			u.ready(k, r)
			if r != 0 {
				woken++
			}
		}
		u.stHeld = nil
		u.unlock()
		// ready() may have taken k (a oneshot or broken kevent) or, through
		// zach's flush, another kevent off this list; storageDequeue keeps
		// walk on the kevent after k either way.
		if st.walk < len(st.list) && st.list[st.walk] == k {
			st.walk++
		}
	}
	st.walking = false
	st.mu.unlock()
}

// storageFini is kevent_storage_fini: the origin is going away (its file's
// last reference, a task's exit). Every kevent on the storage, of every
// queue, is marked broken (kevent_break) and made ready with a broken
// verdict, which takes it off the storage and queues it once with
// BROKEN|DONE; the storage is dead afterwards and refuses new kevents
// (ADD: EBADF). take29 wrote this as storage_ready(st, kevent_break,
// KEVENT_MASK_ALL), whose first-waker-only rule and the type's own verdict
// could leave kevents on the dying storage (a positive verdict keeps a
// non-oneshot kevent there); here every kevent leaves, as the function's
// comment says it must ("that will remove them from storage, so storage
// origin can be safely removed"). A broken kevent is freed when it is
// delivered (completeReady), so it is reported once and never again.
func storageFini(st *storage, c *notify.Counters) {
	st.mu.lock(c)
	st.dead = true
	st.walk, st.walking = 0, true
	for st.walk < len(st.list) {
		k := st.list[st.walk]
		u := k.u
		u.lock()
		u.stHeld = st
		if k.flags&kUser != 0 {
			k.uk.RetFlags |= retBroken
			u.ready(k, -1)
		}
		u.stHeld = nil
		u.unlock()
		if st.walk < len(st.list) && st.list[st.walk] == k {
			st.walk++ // a reaper's kevent stays for its reaper
		}
	}
	st.walking = false
	st.mu.unlock()
}

// storageReady on a storage this queue watches (tests and the direct user
// sources): the same storage_ready, counted on this queue.
func (u *kuser) storageReady(st *storage, mask uint32) { storageReady(st, mask, 0, u.calls) }

// readyVerdict is the type's callback as storage_ready runs it. A poll
// kevent trusts the activity the hook observed. That is take28's poll
// callback only while the kevent has KEVENT_REQ_LAST_CHECK set: take28
// sets it on every poll kevent at enqueue, and the dequeue check clears it
// for good once it confirms readiness, after which kevent_poll_callback
// calls f_op->poll at every wake-up (a kbench variant, see doc.go: here
// that would be a system call on the hook thread per report). take30's
// unotify callback always says ready, and so do the timer's and the
// signal's (take29, take26) when their origin fires; a counting kevent
// adds the origin's n to its count.
func readyVerdict(k *kevent, mask uint32, n uint64) int {
	if k.st.typ == typePoll {
		k.uk.RetData[0] = mask & k.uk.Event
	} else {
		k.uk.addCount(n)
	}
	return 1
}

// checkVerdict is the type's callback run outside storage_ready (at ADD with
// ALWAYS_QUEUE, at MODIFY, at dequeue for LAST_CHECK), given the origin's
// current poll state: ready, not ready, or broken (the fd is gone). A
// unotify kevent is always ready (take30); a timer or signal kevent is
// ready while it holds a count (kbench's: take29's timer callback said
// ready whatever the time, take26's signal callback compared the task's
// last signal, neither of which a re-check outside the origin can use).
func checkVerdict(k *kevent, revents uint32) int {
	switch k.st.typ {
	case typePoll:
	case typeTimer, typeSignal:
		if k.uk.count() != 0 {
			return 1
		}
		return 0
	default:
		return 1
	}
	if revents&pollNval != 0 {
		return -1
	}
	r := revents & k.uk.Event
	k.uk.RetData[0] = r
	if r != 0 {
		return 1
	}
	return 0
}

// ready is kevent_ready: record the callback's verdict in ret_flags and, if
// the kevent has something to report (now, or a DONE/BROKEN still set from
// before: take29's "level-like" default), take a oneshot or broken kevent
// off its storage and queue it once.
func (u *kuser) ready(k *kevent, ret int) {
	switch {
	case ret > 0:
		k.uk.RetFlags |= retDone
	case ret < 0:
		k.uk.RetFlags |= retBroken | retDone
	default:
		ret = int(k.uk.RetFlags & (retBroken | retDone))
	}
	if ret == 0 {
		return
	}
	if (k.uk.ReqFlags&reqOneshot != 0 || ret < 0) && k.flags&kStorage != 0 {
		if u.stHeld != k.st {
			panic("kevent: kevent_ready without its storage's lock")
		}
		storageDequeue(k)
	}
	if k.flags&kInFlight != 0 {
		k.flags |= kRequeue
		return
	}
	u.enqueue(k)
}

// zachEligible: may this kevent go into Zach's ring at storage_ready time?
// Level kevents may not ("we can't have some source constantly spewing into
// the ring"), nor kevents whose LAST_CHECK must run at dequeue: both are
// collected only by the collection call.
func zachEligible(k *kevent) bool { return k.uk.ReqFlags&(reqLevel|reqLastCheck) == 0 }

// enqueue puts a kevent that has something to report where the collector
// will find it: on its priority's ready list, or, in zach mode, straight
// into the ring when nothing is parked ahead of it and a slot is free.
func (u *kuser) enqueue(k *kevent) {
	queued := k.flags&kReady != 0
	if u.mode == modeZach && u.parked > 0 {
		// Parked kevents go first, at every event, so none is overlooked
		// ("we'd first have to check this ready list when later events are
		// generated"). If k itself was parked, its report covers this event
		// whether or not the flush published it.
		u.flush()
	}
	if queued {
		return
	}
	p := prio(k.uk.ReqFlags)
	switch {
	case u.mode != modeZach:
		u.push(k, 2*p)
	case zachEligible(k):
		if u.parked == 0 {
			if slot, ok := u.zring.Reserve(); ok {
				u.publish(k, slot)
				return
			}
		}
		u.push(k, 2*p)
	default:
		u.push(k, 2*p+1)
	}
	u.wakeLocked()
}

func (u *kuser) push(k *kevent, li int) {
	u.lists[li].pushBack(k)
	k.list = int8(li)
	k.flags |= kReady
	u.readyNum++
	if u.mode == modeZach && li%2 == 0 {
		u.parked++
	}
}

func (u *kuser) unlinkReady(k *kevent) {
	li := int(k.list)
	u.lists[li].unlink(k)
	k.flags &^= kReady
	u.readyNum--
	if u.mode == modeZach && li%2 == 0 {
		u.parked--
	}
}

// popFirst takes the head of the highest-priority non-empty list. Within a
// priority, zach's syscall-only list (level kevents) goes before the parked
// one: parked kevents also leave through the ring, level ones only here, so
// a steady stream of parked kevents cannot starve them.
func (u *kuser) popFirst() *kevent {
	for li := 2*numPrio - 1; li >= 0; li-- {
		if k := u.lists[li].head; k != nil {
			u.unlinkReady(k)
			return k
		}
	}
	return nil
}

// completeReady is kevent_complete_ready, run once a kevent has been handed
// to user space: a oneshot kevent is freed, an ET kevent's return state
// cleared, and (kbench's level) a level kevent goes back on the ready list
// with LAST_CHECK — after the current collection, via deferred, so one
// collection reports it once. A broken kevent is freed like a oneshot one
// (kbench's: take29 left it in the index, off its storage, until user
// space removed it): its origin is gone, so it is reported once.
func (u *kuser) completeReady(k *kevent, deferred *[]*kevent) {
	req := k.uk.ReqFlags
	if req&reqOneshot != 0 || k.uk.RetFlags&retBroken != 0 {
		u.finish(k)
		return
	}
	if req&reqET != 0 {
		k.uk.RetFlags = 0
		k.uk.RetData = [2]uint32{}
	}
	if req&reqLevel != 0 {
		k.uk.ReqFlags |= reqLastCheck
		if deferred != nil {
			*deferred = append(*deferred, k)
		} else {
			u.enqueue(k)
		}
	}
}

// finish is kevent_finish_user: out of the index and the ready list, off
// the storage and back to the pool. If the storage's lock is not held here
// (collection, or zach's publish of another storage's kevent), the kevent
// leaves the queue now and the storage later, through reap.
func (u *kuser) finish(k *kevent) {
	delete(u.index, k.uk.ID)
	k.flags &^= kUser
	if k.flags&kReady != 0 {
		u.unlinkReady(k)
	}
	if k.flags&kStorage != 0 {
		if u.stHeld != k.st {
			u.reap = append(u.reap, k)
			return
		}
		storageDequeue(k)
	}
	u.pool.put(k)
}

// reapDead unlinks the kevents finish left on their storages and recycles
// them. Collector only, with no lock held.
func (u *kuser) reapDead() {
	u.reapMu.Lock()
	defer u.reapMu.Unlock()
	u.lock()
	dead := u.reap
	if len(dead) == 0 {
		u.unlock()
		return
	}
	u.reap = u.reapSpare[:0]
	u.unlock()
	for _, k := range dead {
		st := k.st
		u.lockSt(st)
		if k.flags&kStorage != 0 {
			storageDequeue(k)
		}
		u.pool.put(k)
		u.unlockSt(st)
	}
	clear(dead)
	u.lock()
	u.reapSpare = dead[:0]
	u.unlock()
}

func storageEnqueue(st *storage, k *kevent) {
	k.st = st
	st.list = append(st.list, k)
	k.flags |= kStorage
}

// storageDequeue removes k keeping the others' order (first-waker-only
// depends on it).
func storageDequeue(k *kevent) {
	st := k.st
	l := st.list
	for i, x := range l {
		if x == k {
			copy(l[i:], l[i+1:])
			l[len(l)-1] = nil
			st.list = l[:len(l)-1]
			if st.walking && i < st.walk {
				st.walk--
			}
			break
		}
	}
	k.flags &^= kStorage
}

// shutdown marks the queue closed and wakes the collector.
func (u *kuser) shutdown() {
	u.lock()
	u.closed = true
	u.wakeLocked()
	u.unlock()
	u.cancelAbs() // kevent_user_put's hrtimer_cancel
}

var errNoKevent = fmt.Errorf("kevent: no such kevent: %w", os.ErrNotExist)
