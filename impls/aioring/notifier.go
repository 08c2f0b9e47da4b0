//go:build linux

package aioring

import (
	"fmt"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/callgate"
	"kbench/internal/fdindex"
	"kbench/internal/kindfd"
	"kbench/notify"
)

// Reap selects how completions are collected.
type Reap uint8

const (
	// ReapRing reads completions from the mmap'd struct aio_ring in user
	// space and enters the kernel only to block on an empty ring.
	ReapRing Reap = iota
	// ReapSyscall collects every completion with io_getevents.
	ReapSyscall
)

func (r Reap) String() string {
	if r == ReapSyscall {
		return "syscall"
	}
	return "ring"
}

// DefaultMaxSources sizes the context when Options.MaxSources is zero.
const DefaultMaxSources = 1024

// Options configure a Notifier.
type Options struct {
	// MaxSources is the most fds registered at once; Add refuses more. It
	// sizes the AIO context, which counts against fs.aio-max-nr.
	MaxSources int
	// Reap is the collection path.
	Reap Reap
}

// Notifier is the AIO poll backend; see the package documentation.
type Notifier struct {
	gate  callgate.Gate
	calls notify.Counters

	id   uintptr // the aio_context_t for system calls; an integer only, never turned back into a pointer
	ring *ring   // nil: every completion comes through io_getevents
	mode Reap    // effective collection path
	// ringErr says why ReapRing fell back to io_getevents.
	ringErr error

	wakefd  int
	wakeSig atomic.Uint32 // 1 while a Wake's eventfd write is unconsumed
	wakeArm bool          // the wake poll needs submitting
	woken   bool          // the current Wait consumed a wake
	one     [8]byte       // eventfd increment, read-only after New
	drain   [8]byte

	limit    int  // requests the context was sized for, the wake poll's included
	inflight int  // submitted requests whose completion has not been consumed
	refused  bool // the last flush met EAGAIN: wait for completions before retrying

	regs    []reg
	iocbs   []iocb // one per slot, at fixed addresses
	free    []uint32
	byFD    fdindex.Index[uint32]
	pending []uint32 // queued: submit in the next flush
	requeue []uint32 // level sources reported by this Wait: submit in the next Wait
	failed  []uint64 // keys of registrations whose submission the kernel refused
	batch   []*iocb
	batchOf []uint32 // slot of each batch entry
	evs     []ioEvent
	ts      unix.Timespec
	cancel  ioEvent

	kinds kindfd.Table     // timers, signals, user events (kinds.go)
	ksrc  []*kindfd.Source // by registration slot; nil for descriptors
	kbuf  kindfd.Buf       // Wait's drain reads
}

// New creates an AIO context sized for o.MaxSources. A kernel refusal of
// io_setup (EAGAIN: fs.aio-max-nr exhausted; ENOSYS: no CONFIG_AIO; EPERM:
// seccomp) is an error wrapping notify.ErrUnavailable and the errno.
func New(o Options) (*Notifier, error) {
	maxSrc := o.MaxSources
	if maxSrc <= 0 {
		maxSrc = DefaultMaxSources
	}
	slots := maxSrc + 1 // slot 0 is the wake poll
	// Headroom for cancelled requests whose completions are not yet reaped:
	// a Remove frees its slot at once, but its request holds a ring slot
	// until Wait consumes the cancellation's completion.
	limit := slots + maxSrc/4 + 8
	if limit > math.MaxInt32/2 {
		return nil, fmt.Errorf("aioring: MaxSources %d: %w", o.MaxSources, notify.ErrInvalid)
	}
	wakefd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("aioring: eventfd: %w", err)
	}
	var ctx unsafe.Pointer
	if e := ioSetup(uint32(limit), &ctx); e != 0 {
		unix.Close(wakefd)
		return nil, setupError(limit, e)
	}
	n := &Notifier{
		id:      uintptr(ctx),
		mode:    o.Reap,
		wakefd:  wakefd,
		limit:   limit,
		regs:    make([]reg, slots),
		iocbs:   make([]iocb, slots),
		free:    make([]uint32, 0, slots),
		pending: make([]uint32, 0, slots),
		requeue: make([]uint32, 0, slots),
		failed:  make([]uint64, 0, slots),
		batch:   make([]*iocb, 0, slots),
		batchOf: make([]uint32, 0, slots),
		evs:     make([]ioEvent, limit),
		ksrc:    make([]*kindfd.Source, slots),
		wakeArm: true,
	}
	n.calls.Inc(notify.CallOther) // io_setup
	n.one[0] = 1
	for s := slots - 1; s > wakeSlot; s-- {
		n.free = append(n.free, uint32(s))
	}
	if o.Reap == ReapRing {
		mem, err := kernelRing(ctx)
		if err == nil {
			n.ring, err = newRing(mem)
		}
		if err != nil {
			n.ringErr = err
			n.mode = ReapSyscall
		}
	}
	return n, nil
}

func setupError(nr int, e unix.Errno) error {
	switch e {
	case unix.EAGAIN:
		return fmt.Errorf("aioring: io_setup(%d): %w (%s): %w", nr, e, aioLimits(), notify.ErrUnavailable)
	case unix.ENOSYS, unix.EPERM:
		return fmt.Errorf("aioring: io_setup(%d): %w: %w", nr, e, notify.ErrUnavailable)
	}
	return fmt.Errorf("aioring: io_setup(%d): %w", nr, e)
}

// aioLimits describes the system-wide request budget EAGAIN refers to.
func aioLimits() string {
	read := func(name string) string {
		b, err := os.ReadFile("/proc/sys/fs/" + name)
		if err != nil {
			return "?"
		}
		return strings.TrimSpace(string(b))
	}
	return "fs.aio-nr " + read("aio-nr") + " of fs.aio-max-nr " + read("aio-max-nr")
}

// Reaping reports the collection path in use: ReapSyscall when the ring was
// refused, with the reason.
func (n *Notifier) Reaping() (Reap, error) { return n.mode, n.ringErr }

// Caps: oneshot is the kernel's; level is derived by resubmission. The
// other source kinds are polled descriptors (kinds.go).
func (n *Notifier) Caps() notify.Caps {
	return notify.Caps{
		Triggers:    notify.Of(notify.Level, notify.Oneshot),
		Native:      notify.Of(notify.Oneshot),
		Interests:   notify.Readable | notify.Writable,
		Kinds:       kinds,
		NativeKinds: notify.KindsOf(notify.KindFD),
		KindNote:    KindNote,
	}
}

// Syscalls reports the system calls made so far.
func (n *Notifier) Syscalls() notify.SyscallCounts { return n.calls.Snapshot() }

// Close makes a blocked Wait return ErrClosed and releases the context.
func (n *Notifier) Close() error {
	if !n.gate.Close() {
		return notify.ErrClosed
	}
	// Unconditionally: a Wait blocked in io_getevents has the wake poll
	// armed (Wait submits it before blocking), and this write completes it.
	werr := n.signal()
	n.gate.WaitIdle()
	return n.destroy(werr)
}

// destroy destroys the context once no Wait is left, then closes the kind
// sources' descriptors and the wake eventfd; werr is the wake's error.
func (n *Notifier) destroy(werr error) error {
	// io_destroy cancels the outstanding polls, waits for them, and unmaps
	// the ring, so the views go first.
	n.ring = nil
	e := ioDestroy(n.id)
	n.calls.Inc(notify.CallOther)
	n.closeKinds() // after io_destroy: no request refers to them any more
	cerr := unix.Close(n.wakefd)
	switch {
	case e != 0:
		return fmt.Errorf("aioring: io_destroy: %w", e)
	case cerr != nil:
		return fmt.Errorf("aioring: close wake eventfd: %w", cerr)
	}
	return werr
}
