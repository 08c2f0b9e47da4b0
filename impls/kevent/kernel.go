package kevent

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"

	"kbench/internal/rusage"
	"kbench/notify"
)

// Kernel is the emulated kernel that queues live in: the storages of fd
// origins and the hook thread that reports their activity. As in take28's
// kevent_poll.c, where struct file carries the kevent_storage, an fd has
// one storage however many queues watch it, so a report reaches the
// kevents of every queue in the order they were added, and
// KEVENT_REQ_WAKEUP_ALL versus first-waker-only chooses between queues
// (and the threads collecting from them).
//
// New opens a queue in a Kernel of its own; NewKernel and Kernel.Open put
// several queues in one.
type Kernel struct {
	calls     *notify.Counters // the hook thread's plumbing
	own       notify.Counters  // where calls points for a shared Kernel
	helperCPU int
	private   bool // New's: belongs to one Notifier, counts on its counters

	mu      sync.Mutex // the fd table, timers and signal tasks; any queue's collector
	fds     map[int]int
	origins []fdOrigin // fd and timer origins, by slot (the hook's cookie)
	free    []int
	queues  int
	closed  bool
	tasks   map[int]*sigTask     // signal storages by thread id (signal.go)
	hook    atomic.Pointer[hook] // started with the first fd or timer origin (under mu); read by anyone

	tab ptrTable[storage] // origin slot → storage, for the hook thread
}

// fdOrigin is one fd's storage and what the hook watches it for.
type fdOrigin struct {
	st   *storage
	refs int             // kevents of any queue registered on it (one per queue at most)
	in   notify.Interest // the union registered with the hook
	gen  uint32
}

// NewKernel opens a Kernel whose fd storages are shared by the queues
// opened in it; helperCPU pins its hook thread (-1: unpinned). Close it
// after its queues.
func NewKernel(helperCPU int) *Kernel {
	k := &Kernel{helperCPU: helperCPU, fds: make(map[int]int)}
	k.calls = &k.own
	return k
}

func newPrivateKernel(calls *notify.Counters, helperCPU int) *Kernel {
	return &Kernel{helperCPU: helperCPU, fds: make(map[int]int), calls: calls, private: true}
}

// Open opens a queue collecting through path in k. Options.HelperCPU is
// ignored: the hook thread is k's.
func (k *Kernel) Open(path Path, opts notify.Options) (*Notifier, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.closed {
		return nil, notify.ErrClosed
	}
	n, err := newNotifier(path, opts, k)
	if err != nil {
		return nil, err
	}
	k.queues++
	return n, nil
}

// Syscalls reports the hook thread's system calls (a shared Kernel's own;
// a private one's are in its Notifier's counters).
func (k *Kernel) Syscalls() notify.SyscallCounts { return k.calls.Snapshot() }

// HookUsage is the hook thread's RUSAGE_THREAD totals (zero before the
// first fd or timer origin).
func (k *Kernel) HookUsage() rusage.Usage {
	if h := k.getHook(); h != nil {
		return h.usage()
	}
	return rusage.Usage{}
}

// Close stops the hook thread. Every queue opened in k must be closed first.
func (k *Kernel) Close() error {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return notify.ErrClosed
	}
	if k.queues > 0 {
		k.mu.Unlock()
		return fmt.Errorf("kevent kernel close: %d queues still open: %w", k.queues, notify.ErrInvalid)
	}
	k.closed = true
	k.mu.Unlock()
	if h := k.hook.Load(); h != nil {
		h.stop()
	}
	return nil
}

func (k *Kernel) getHook() *hook { return k.hook.Load() }

// queueClosed is a queue leaving k; the last one out of a private Kernel
// stops it.
func (k *Kernel) queueClosed() {
	k.mu.Lock()
	k.queues--
	last := k.private && k.queues == 0
	if last {
		k.closed = true
	}
	k.mu.Unlock()
	if last {
		if h := k.getHook(); h != nil {
			h.stop()
		}
	}
}

// startHookLocked starts the hook thread with the first origin; k.mu held.
func (k *Kernel) startHookLocked() (*hook, error) {
	if h := k.hook.Load(); h != nil {
		return h, nil
	}
	h, err := startHook(&k.tab, k.calls, k.helperCPU)
	if err != nil {
		return nil, err
	}
	k.hook.Store(h)
	return h, nil
}

// allocSlot takes a free origin slot with a new generation; k.mu held.
func (k *Kernel) allocSlot() int {
	if n := len(k.free); n > 0 {
		idx := k.free[n-1]
		k.free = k.free[:n-1]
		k.origins[idx].gen++
		return idx
	}
	k.origins = append(k.origins, fdOrigin{gen: 1})
	return len(k.origins) - 1
}

// attach returns fd's storage, creating it (and registering the fd with
// the hook) for its first kevent, and widening the hook's interest if in
// asks for more. Before it returns (with harvest; a batch harvests once
// after all its attaches), every report the hook had for the fd has
// reached the storage: the caller's kevent, not yet on it, then sees only
// what comes after, plus what its own poll finds.
func (k *Kernel) attach(fd int, in notify.Interest, harvest bool) (*storage, error) {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return nil, notify.ErrClosed
	}
	h, err := k.startHookLocked()
	if err != nil {
		k.mu.Unlock()
		return nil, err
	}
	idx, ok := k.fds[fd]
	if !ok {
		idx = k.allocSlot()
		o := &k.origins[idx]
		st := &storage{origin: fd, typ: typePoll, gen: o.gen}
		k.tab.store(idx, st)
		if err := h.register(fd, keventID(idx, o.gen), in); err != nil {
			k.tab.store(idx, nil)
			k.free = append(k.free, idx)
			k.mu.Unlock()
			return nil, fmt.Errorf("hook epoll_ctl: %w", err)
		}
		o.st, o.refs, o.in = st, 0, in
		k.fds[fd] = idx
	}
	o := &k.origins[idx]
	if in&^o.in != 0 {
		if err := h.reregister(fd, keventID(idx, o.gen), o.in|in); err != nil {
			k.mu.Unlock()
			return nil, fmt.Errorf("hook epoll_ctl: %w", err)
		}
		o.in |= in
	}
	o.refs++
	st := o.st
	k.mu.Unlock()
	if harvest {
		h.harvest()
	}
	return st, nil
}

// widen makes the hook report in for fd (Modify to a wider interest), then
// harvests as attach does. The caller's kevent is off the storage meanwhile.
func (k *Kernel) widen(fd int, in notify.Interest) error {
	k.mu.Lock()
	idx, ok := k.fds[fd]
	if !ok {
		k.mu.Unlock()
		return errors.New("fd has no origin")
	}
	o := &k.origins[idx]
	h := k.hook.Load()
	if in&^o.in != 0 {
		if err := h.reregister(fd, keventID(idx, o.gen), o.in|in); err != nil {
			k.mu.Unlock()
			return fmt.Errorf("hook epoll_ctl: %w", err)
		}
		o.in |= in
	}
	k.mu.Unlock()
	h.harvest()
	return nil
}

// detach drops one reference to fd's storage st; the last one unregisters
// the fd from the hook, and a late report for it finds no storage (or one
// of a newer generation) and is ignored. A storage kevent_storage_fini
// took away (CloseFD) is no longer fd's: nothing to drop.
func (k *Kernel) detach(fd int, st *storage) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	idx, ok := k.fds[fd]
	if !ok || k.origins[idx].st != st {
		return nil
	}
	o := &k.origins[idx]
	if o.refs--; o.refs > 0 {
		return nil
	}
	k.tab.store(idx, nil)
	delete(k.fds, fd)
	o.st = nil
	k.free = append(k.free, idx)
	if err := k.hook.Load().unregister(fd); err != nil {
		return fmt.Errorf("hook epoll_ctl: %w", err)
	}
	return nil
}

// harvest catches up with the hook (see hook.harvest).
func (k *Kernel) harvest() {
	if h := k.getHook(); h != nil {
		h.harvest()
	}
}

// CloseFD closes fd as the last close of its file does (closeFD): every
// queue's kevents watching it are completed broken and reported once.
func (k *Kernel) CloseFD(fd int) error { return k.closeFD(fd) }

// closeFD is the emulated close(2) of fd's last reference: as take28's
// __fput calls kevent_storage_fini(&file->st) before the file goes, every
// kevent on fd's storage, of every queue of k, is completed BROKEN|DONE
// and queued once (storageFini), the storage leaves the fd table and the
// hook, and then fd is closed. A number fd reuses later gets a new
// storage. An fd no queue watches is just closed.
func (k *Kernel) closeFD(fd int) error {
	k.mu.Lock()
	idx, ok := k.fds[fd]
	var st *storage
	var uerr error
	if ok {
		o := &k.origins[idx]
		st = o.st
		k.tab.store(idx, nil)
		delete(k.fds, fd)
		o.st, o.refs, o.in = nil, 0, 0
		k.free = append(k.free, idx)
		uerr = k.hook.Load().unregister(fd)
	}
	k.mu.Unlock()
	if st != nil {
		storageFini(st, k.calls)
	}
	k.calls.Inc(notify.CallOther)
	if err := unix.Close(fd); err != nil {
		return fmt.Errorf("kevent close fd %d: %w", fd, err)
	}
	if uerr != nil {
		return fmt.Errorf("kevent close fd %d: hook epoll_ctl: %w", fd, uerr)
	}
	return nil
}
