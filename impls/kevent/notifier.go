package kevent

import (
	"fmt"
	"sync/atomic"

	"kbench/internal/callgate"
	"kbench/internal/rusage"
	"kbench/notify"
)

// Path selects how a Notifier collects: one of the three designs compared.
type Path uint8

const (
	// PathSyscall collects with kevent_get_events only.
	PathSyscall Path = iota
	// PathTake29 collects through take29's ring: kevent_wait fills it with
	// whole ukevents, kevent_commit releases them.
	PathTake29
	// PathZach collects through Zach Brown's ownership-word ring, filled at
	// storage_ready time and read without a system call. It is Zach Brown's
	// July 2006 review proposal, not Polyakov's design: a kevent completes
	// when it is published, so a ONESHOT kevent is freed before user space
	// reads it (a MODIFY re-arm gets ENOENT; see zachNote).
	PathZach
)

func (p Path) String() string { return mode(p).String() }

// Parameter names (notify.Options.Params) and their defaults.
const (
	ParamRingSlots   = "ring_slots"   // take29 and zach: ring size in records
	ParamZachN       = "zach_n"       // zach: a collection call every N ring records
	ParamCommitBatch = "commit_batch" // take29: kevent_commit once this many records are read
	// ParamFireDirect selects how Fire makes a user source ready. 0 (the
	// default) is take30's: the source is a unotify kevent on the queue's
	// storage and the producer marks it ready with KEVENT_CTL_READY, one
	// kernel entry per firing (counted as CallFire). 1 is kbench's variant:
	// each source is an origin with a storage of its own and Fire calls
	// storage_ready on it directly, as kernel code fires a socket, with no
	// kernel entry — a producer the patch did not have.
	ParamFireDirect = "fire_direct"
	// ParamWakeupAll: 1 registers every kevent of the queue with
	// KEVENT_REQ_WAKEUP_ALL. It matters when queues share a Kernel: without
	// it an origin's report readies only the first kevent on its storage
	// (of whichever queue added first), with it every queue's.
	ParamWakeupAll = "wakeup_all"

	DefaultRingSlots = 1024
	// DefaultZachN: one collection call per 256 ring records, 0.004 system
	// calls per record. Zach suggested "every N events" without a number;
	// at 64 the call alone would cost 1/64 = 0.016 per event.
	DefaultZachN       = 256
	DefaultCommitBatch = DefaultRingSlots / 2
	DefaultFireDirect  = 0
	DefaultWakeupAll   = 0
)

// Notifier is a kevent queue behind the notify contract: the emulated
// queue (kuser) in its Kernel (fd and timer storages and the hook thread,
// started by the first fd Add or AddTimer), and the user-side reader of
// the selected path.
type Notifier struct {
	u        *kuser
	k        *Kernel
	path     Path
	calls    notify.Counters
	gate     callgate.Gate
	closed   atomic.Bool
	emulated bool

	zachN       int
	commitBatch int
	fireDirect  bool   // Fire calls storage_ready on the source's own storage
	reqExtra    uint32 // request flags every kevent gets (wakeup_all)

	// Collector-owned registration table. A kevent's id is its slot plus the
	// slot's generation; user space keeps the token, so Modify can change
	// it without the kernel (take29's MODIFY never touched the user field).
	regs []reg
	free []int
	byFD map[int]int
	utab ptrTable[usrc] // user sources, for Fire
	// levelFDs counts fd registrations with the Level trigger; while there
	// are any, each Wait first catches up with the hook (hook.harvest).
	levelFDs int
	// timers counts timer sources: while there are any, each Wait first
	// catches up with the hook, as for level fds.
	timers int
	// sigSources counts signal sources; the first makes the queue drain the
	// collector thread's signalfd (signal.go), the last stops it.
	sigSources int

	batch batchScratch // Batch's arrays

	own     waitCtx // the owner's get_events buffer and collector
	waitSeq uint64  // Waits so far (translate); under the waiters' lock once a queue is shared
	uk1     ukevent // one zach record

	ringSeen   int    // zach: ring records since the last collection call
	t29uidx    uint32 // take29: committed index (the kernel's uidx)
	t29pending int    // take29: records read, not yet committed
}

type reg struct {
	live  bool
	user  bool // a unotify kevent (AddUser, AddEvent)
	ks    bool // a KindSources source: its events carry the kevent's count in Data
	gone  bool // an fd whose storage CloseFD finished: freed once its last record is read
	kind  notify.Kind
	typ   uint32 // the kevent's type
	kev   bool   // the kernel holds a kevent for it (false once a oneshot was delivered)
	gen   uint32 // generation of the current kevent's id
	fd    int
	token uint64
	in    notify.Interest
	tr    notify.Trigger
	req   uint32   // request flags the kevent was registered with
	st    *storage // the origin's (nil: a unotify kevent on the queue's storage)
	us    *usrc
	slot  int // a timer's origin slot in the Kernel
	// waitSeq and evIdx: the Wait (Notifier.waitSeq) that reported this
	// counting source last, and its event's index there (translate).
	waitSeq uint64
	evIdx   int
	sig     int      // a signal's number
	task    *sigTask // a signal's thread
}

// usrc is what a producer's Fire or Post needs of a user source.
type usrc struct {
	st    *storage      // fire_direct: the source's own storage
	id    atomic.Uint64 // otherwise: its current kevent's id, for KEVENT_CTL_READY
	event bool          // an AddEvent source (Post), not an AddUser one (Fire)
}

// New opens a kevent queue collecting through path, in a Kernel of its
// own. Options.HelperCPU pins the hook thread (-1: unpinned);
// Options.Params may set ParamRingSlots, ParamZachN, ParamCommitBatch and
// ParamFireDirect.
func New(path Path, opts notify.Options) (*Notifier, error) {
	return newNotifier(path, opts, nil)
}

// newNotifier opens a queue in k (nil: a private Kernel counting on the
// queue's own counters). A shared k's mu is held by the caller.
func newNotifier(path Path, opts notify.Options, k *Kernel) (*Notifier, error) {
	if path > PathZach {
		return nil, fmt.Errorf("kevent: unknown path %d: %w", path, notify.ErrInvalid)
	}
	ringEntries(path, &opts)
	slots := opts.Param(ParamRingSlots, DefaultRingSlots)
	fd := opts.Param(ParamFireDirect, DefaultFireDirect)
	wa := opts.Param(ParamWakeupAll, DefaultWakeupAll)
	n := &Notifier{
		path:        path,
		emulated:    true,
		zachN:       opts.Param(ParamZachN, DefaultZachN),
		commitBatch: opts.Param(ParamCommitBatch, DefaultCommitBatch),
		fireDirect:  fd == 1,
		byFD:        make(map[int]int),
	}
	if n.zachN < 1 || n.commitBatch < 1 || fd < 0 || fd > 1 || wa < 0 || wa > 1 {
		return nil, fmt.Errorf("kevent: %s %d, %s %d, %s %d, %s %d: %w", ParamZachN, n.zachN, ParamCommitBatch, n.commitBatch,
			ParamFireDirect, fd, ParamWakeupAll, wa, notify.ErrInvalid)
	}
	if wa == 1 {
		n.reqExtra = reqWakeupAll
	}
	u, err := newKuser(mode(path), &n.calls, &sysPoller{calls: &n.calls}, slots)
	if err != nil {
		return nil, err
	}
	n.u = u
	n.own.c = &u.own
	if k == nil {
		k = newPrivateKernel(&n.calls, opts.HelperCPU)
		k.queues = 1
	}
	n.k = k
	return n, nil
}

// Caps: Edge (ET) and Oneshot (ONESHOT) are kevent's own; Level is built
// from kbench's requeue-with-LAST_CHECK (see doc.go). No multishot. Every
// kind is a kevent type of the emulated kernel, none a descriptor the
// Notifier drains (kinds.go).
func (n *Notifier) Caps() notify.Caps {
	return notify.Caps{
		Triggers:    notify.Of(notify.Level, notify.Edge, notify.Oneshot),
		Native:      notify.Of(notify.Edge, notify.Oneshot),
		Interests:   notify.Readable | notify.Writable,
		UserSources: true,
		Emulated:    n.emulated,
		Kinds:       notify.KindsOf(notify.KindFD, notify.KindTimer, notify.KindSignal, notify.KindUser),
		NativeKinds: notify.KindsOf(notify.KindTimer, notify.KindSignal, notify.KindUser),
		KindNote:    kindNote,
	}
}

// Syscalls reports the counters.
func (n *Notifier) Syscalls() notify.SyscallCounts { return n.calls.Snapshot() }

// The hook thread is the queue's helper thread (notify.HelperThread).
var _ notify.HelperThread = (*Notifier)(nil)

// HasHelper reports whether the hook thread runs (it starts with the first
// fd or timer source); user-source rows have none.
func (n *Notifier) HasHelper() bool { return n.k.getHook() != nil }

// HelperUsage is the hook thread's RUSAGE_THREAD totals so far, sampled by
// the thread itself on request (zero if no fd source was ever added). After
// Close it is the thread's final sample. In a shared Kernel the thread
// serves every queue.
func (n *Notifier) HelperUsage() rusage.Usage { return n.k.HookUsage() }

func (n *Notifier) allocReg() int {
	if k := len(n.free); k > 0 {
		idx := n.free[k-1]
		n.free = n.free[:k-1]
		return idx
	}
	n.regs = append(n.regs, reg{})
	return len(n.regs) - 1
}

func (n *Notifier) freeReg(idx int) {
	gen := n.regs[idx].gen
	n.regs[idx] = reg{gen: gen} // keep the generation: ids stay unique per slot
	n.free = append(n.free, idx)
}

// addKevent registers a fresh kevent (new generation) for slot idx.
func (n *Notifier) addKevent(idx int, event uint32) error {
	r := &n.regs[idx]
	r.gen++
	uk := ukevent{ID: keventID(idx, r.gen), Type: r.typ, Event: event, ReqFlags: r.req | n.reqExtra, User: r.token}
	if _, err := n.u.add(&uk, r.st); err != nil {
		return err
	}
	r.kev = true
	if r.us != nil {
		// Release: pairs with Fire's Load, so a producer firing after the
		// re-arm names the new kevent.
		r.us.id.Store(uk.ID)
	}
	return nil
}

// Wake is kevent_ctl(READY) with no kevents: need_exit and a wake-up.
func (n *Notifier) Wake() error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	n.u.wake()
	return nil
}

// Close wakes the collector and waits for it to leave. In a shared Kernel
// its kevents then leave the fd storages (kevent_user_release); a private
// Kernel is closed with it, hook thread and all.
func (n *Notifier) Close() error {
	if !n.gate.Close() {
		return notify.ErrClosed
	}
	n.closed.Store(true)
	n.u.shutdown()
	n.gate.WaitIdle()
	for idx := range n.regs {
		if r := &n.regs[idx]; r.live && r.ks {
			n.releaseSource(idx, true) // timerfds and signalfds are kernel objects too
		}
	}
	n.u.closeSigWake()
	if !n.k.private {
		for fd, idx := range n.byFD {
			if r := &n.regs[idx]; r.kev {
				n.u.removeOne(keventID(idx, r.gen))
			}
			n.k.detach(fd, n.regs[idx].st)
		}
		n.u.reapDead()
	}
	n.u.closePollFD()
	n.k.queueClosed()
	return nil
}
