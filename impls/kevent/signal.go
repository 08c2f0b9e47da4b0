package kevent

import (
	"fmt"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// Signal origins: the emulated kernel's KEVENT_SIGNAL (take26
// kernel/kevent/kevent_signal.c). There a signal kevent joins the storage
// of the task that adds it (current->st), and send_signal to that task
// runs kevent_storage_ready on it, in the sender's context, before (or,
// with KEVENT_SIGNAL_NOMASK, instead of) the usual delivery.
//
// Go owns signal handling, so here a watched signal is thread-directed:
// the collecting goroutine, locked to its thread, blocks the signal in
// that thread and the producer raises it there with tgkill; it stays
// pending on the thread, which is the NOMASK behaviour (no handler runs).
// The emulated kernel learns it from a signalfd. signalfd's readiness and
// its reads are per thread: a signalfd reports and dequeues the signals
// pending for the thread that polls or reads it (and the process's). The
// hook thread therefore cannot see them — its epoll would be woken through
// the process's shared signal wait queue and then find nothing pending for
// itself — and neither can any thread but the collector's. So the
// signalfd is read on the collector's own thread, by the emulated kernel's
// collection calls (kevent_get_events, kevent_wait), which in the kernel
// would run in that thread's context: each call first drains the signalfd
// and runs storage_ready on the storage of every signal read, with the
// number of times it was read as the count; and a collector that sleeps
// while it watches signals sleeps in ppoll on the signalfd and an eventfd
// (producers then wake it through the eventfd instead of the futex), so a
// signal raised meanwhile wakes it. The reads are the emulation's
// (CallHook, as the ppoll standing for f_op->poll: in the kernel they are
// send_signal's work, no system call of the collector's; not CallDrain,
// which counts a backend's own reads of its descriptors), on the
// collector's CPU, not the hook thread's. A standard signal raised
// again while pending is coalesced by the kernel, a real-time one queued
// per raise; the count is what signalfd gave, nothing added or lost.
//
// Variants, against take26: one storage per thread and signal, so the
// kevent's id stays kbench's (take26 matched the signal number in id.raw
// in the callback, on one storage per task); the count in ret_data
// (take26 returned nothing); the storage lives while a kevent watches the
// signal on the thread (take26's lived and died with the task, finished by
// kevent_storage_fini at __put_task_struct; a thread's exit is not
// emulated).

const nsig = 64

// sigTask is a thread's signal storages and the signalfd that feeds them.
type sigTask struct {
	mu   sync.Mutex // the collector's; Close may run on another goroutine
	tid  int
	fd   int // signalfd for mask, -1 while no signal is watched
	mask unix.Sigset_t
	sts  [nsig + 1]*storage
	refs [nsig + 1]int
	// drain's scratch
	buf [16]unix.SignalfdSiginfo
	cnt [nsig + 1]uint64
	hit []int
}

const siginfoSize = int(unsafe.Sizeof(unix.SignalfdSiginfo{}))

func sigBit(sig int) (int, uint64) { return (sig - 1) / 64, 1 << (uint(sig-1) % 64) }

// attachSignal returns thread tid's storage for sig, creating it (and the
// thread's signalfd, or widening its mask) for the first kevent.
func (k *Kernel) attachSignal(tid, sig int) (*sigTask, *storage, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, nil, notify.ErrClosed
	}
	if k.tasks == nil {
		k.tasks = make(map[int]*sigTask)
	}
	t := k.tasks[tid]
	if t == nil {
		t = &sigTask{tid: tid, fd: -1, hit: make([]int, 0, nsig)}
		k.tasks[tid] = t
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sts[sig] == nil {
		mask := t.mask
		w, b := sigBit(sig)
		mask.Val[w] |= b
		k.calls.Inc(notify.CallHook)
		fd, err := unix.Signalfd(t.fd, &mask, unix.SFD_NONBLOCK|unix.SFD_CLOEXEC)
		if err != nil {
			if t.fd < 0 {
				delete(k.tasks, tid)
			}
			return nil, nil, fmt.Errorf("kevent signal %d: signalfd: %w", sig, err)
		}
		t.fd, t.mask = fd, mask
		t.sts[sig] = &storage{origin: sig, typ: typeSignal}
	}
	t.refs[sig]++
	return t, t.sts[sig], nil
}

// detachSignal drops one kevent's reference to st; the last one takes sig
// out of the signalfd's mask, and the thread's last signal closes it.
func (k *Kernel) detachSignal(t *sigTask, sig int, st *storage) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.sts[sig] != st {
		return
	}
	if t.refs[sig]--; t.refs[sig] > 0 {
		return
	}
	t.sts[sig] = nil
	w, b := sigBit(sig)
	t.mask.Val[w] &^= b
	k.calls.Inc(notify.CallHook)
	if t.mask == (unix.Sigset_t{}) {
		unix.Close(t.fd)
		t.fd = -1
		delete(k.tasks, t.tid)
		return
	}
	unix.Signalfd(t.fd, &t.mask, 0)
}

// drain reads every signal pending for the calling thread (which must be
// t's) from the signalfd and runs storage_ready on each signal's storage
// with the number of times it was read. It allocates nothing.
func (t *sigTask) drain(c *notify.Counters) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.fd < 0 {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&t.buf[0])), len(t.buf)*siginfoSize)
	hit := t.hit[:0]
	for {
		c.Inc(notify.CallHook)
		n, err := unix.Read(t.fd, b)
		if err == unix.EINTR {
			continue
		}
		if n <= 0 {
			break
		}
		for i := range n / siginfoSize {
			s := int(t.buf[i].Signo)
			if s < 1 || s > nsig || t.sts[s] == nil {
				continue
			}
			if t.cnt[s] == 0 {
				hit = append(hit, s)
			}
			t.cnt[s]++
		}
		if n < len(b) {
			break
		}
	}
	for _, s := range hit {
		storageReady(t.sts[s], signalDelivery, t.cnt[s], c)
		t.cnt[s] = 0
	}
	t.hit = hit[:0]
}

// watchSignals makes the queue's collection calls drain t and its sleeps
// wake on t's signalfd (see the file comment). Collector only, not asleep.
func (u *kuser) watchSignals(t *sigTask) error {
	if u.sigWake < 0 {
		u.calls.Inc(notify.CallHook)
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			return fmt.Errorf("kevent signal wake eventfd: %w", err)
		}
		u.sigWake = fd
	}
	u.sig = t
	// Release: pairs with the producers' Load in wakeup. A producer that
	// read -1 just before woke a futex sleep, which this collector, not
	// asleep, no longer needs; one that reads the eventfd after it is
	// dropped again (unwatchSignals) leaves a token there, a spurious
	// wake-up the next ppoll sleep swallows.
	u.wakefd.Store(int32(u.sigWake))
	return nil
}

// unwatchSignals: the queue's last signal kevent is gone; sleeps are on
// the futex again.
func (u *kuser) unwatchSignals() {
	u.sig = nil
	u.wakefd.Store(-1) // release, as in watchSignals
}

// drainSignals: the start of a collection call on a queue watching signals.
func (u *kuser) drainSignals() {
	if t := u.sig; t != nil {
		t.drain(u.calls)
	}
}

// sleepSignals is sleepLocked's wait while signals are watched: ppoll on
// the thread's signalfd and the wake eventfd, at most wait (negative: no
// limit). It reports whether a signal handler (EINTR) ended it.
func (u *kuser) sleepSignals(t *sigTask, wait time.Duration) bool {
	u.spfd[0] = unix.PollFd{Fd: int32(t.fd), Events: pollIn}
	u.spfd[1] = unix.PollFd{Fd: int32(u.sigWake), Events: pollIn}
	var ts *unix.Timespec
	if wait >= 0 {
		u.sts = unix.NsecToTimespec(int64(wait))
		ts = &u.sts
	}
	_, err := unix.Ppoll(u.spfd[:], ts, nil)
	if u.spfd[1].Revents != 0 {
		var b [8]byte
		u.calls.Inc(notify.CallHook)
		unix.Read(u.sigWake, b[:])
	}
	return err == unix.EINTR
}

// closeSigWake releases the wake eventfd (Close, after the collector left).
func (u *kuser) closeSigWake() {
	u.wakefd.Store(-1)
	if u.sigWake >= 0 {
		unix.Close(u.sigWake)
		u.sigWake = -1
	}
}
