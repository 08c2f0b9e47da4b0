package iouring

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/internal/callgate"
	"kbench/internal/fdindex"
	"kbench/notify"
)

// Setup selects how the ring is created (one results row each).
type Setup uint8

const (
	Plain  Setup = iota // no task-running flags
	Coop                // COOP_TASKRUN|SINGLE_ISSUER|DEFER_TASKRUN|TASKRUN_FLAG
	SQPoll              // SQPOLL with the NEED_WAKEUP protocol
)

var setupNames = [...]string{"plain", "coop", "sqpoll"}

func (s Setup) String() string {
	if int(s) < len(setupNames) {
		return setupNames[s]
	}
	return fmt.Sprintf("setup(%d)", s)
}

// Defaults for Config's zero sizes.
const (
	DefaultSQEntries    = 256
	DefaultCQEntries    = 4096
	DefaultSQThreadIdle = 10 * time.Millisecond
)

// Config configures New.
type Config struct {
	Setup Setup
	// SQEntries and CQEntries size the rings (0: the defaults above). The
	// kernel rounds both up to powers of two and refuses an SQ larger than
	// the CQ, so SQEntries is clamped to CQEntries.
	SQEntries, CQEntries uint32
	// HelperCPU pins the SQPOLL thread (IORING_SETUP_SQ_AFF) when >= 0; -1
	// leaves it unpinned. Ignored by the other setups. As in notify.Options,
	// the zero value means CPU 0.
	HelperCPU int
	// SQThreadIdle is how long the SQPOLL thread spins without work before
	// it sleeps and sets IORING_SQ_NEED_WAKEUP (0: DefaultSQThreadIdle).
	SQThreadIdle time.Duration
	// Multishot makes the backend's own polls (the signalfds of AddSignal)
	// IORING_POLL_ADD_MULTI rather than re-armed oneshot polls; the
	// multishot rows set it.
	Multishot bool
}

// Notifier is the io_uring notify.Notifier. Wake and Close may be called
// from any goroutine; everything else belongs to the collecting goroutine
// (for Coop, the goroutine that called New, locked to its OS thread).
type Notifier struct {
	notify.Counters

	gate  callgate.Gate
	ring  *uring.Ring
	waker *waker
	setup Setup
	// skipOK: IORING_FEAT_CQE_SKIP, so a successful POLL_REMOVE posts no CQE.
	skipOK bool

	regs   []reg
	free   []uint32
	byFD   fdindex.Index[uint32]
	rearmq []uint32 // slots whose request ended and must be re-armed

	// Kind sources (kinds.go): their table, free slots, the slots with a
	// report pending (in order) and those to re-arm; users is Post's view.
	ksrcs     []ksrc
	kfree     []uint32
	kready    []uint32
	krearmq   []uint32
	users     atomic.Pointer[userTable]
	ts        tsArena
	kops      kindOps
	multishot bool
	sigbuf    *sigBuf

	// woken is set by Wake and consumed by a Wait that would otherwise block;
	// need is the min_complete of a Wait about to block in the kernel (0: no
	// such Wait). Together they let Wake skip the kernel when nobody sleeps.
	woken atomic.Bool
	need  atomic.Uint32

	stats stats
	// sqTID is the SQPOLL kernel thread's id (0: none, or not found yet);
	// sqBefore the SQPOLL threads that existed before this ring's.
	sqTID    int
	sqBefore map[int]bool
}

// stats are observations for tests and reports, touched only by the
// collecting goroutine.
type stats struct {
	overflowFlushes uint64 // GETEVENTS enters made because IORING_SQ_CQ_OVERFLOW was set
	ended           uint64 // multishot requests the kernel ended and Wait re-armed
	stale           uint64 // CQEs of removed or replaced registrations, dropped
	cancelled       uint64 // current requests the kernel cancelled (re-armed)
	resyncs         uint64 // full re-arms after the kernel dropped CQEs
}

// New creates a Notifier. A kernel that refuses the setup returns an error
// wrapping notify.ErrUnavailable and the errno.
func New(cfg Config) (*Notifier, error) {
	sq, cq := cfg.SQEntries, cfg.CQEntries
	if sq == 0 {
		sq = DefaultSQEntries
	}
	if cq == 0 {
		cq = DefaultCQEntries
	}
	sq = min(sq, cq)
	p := uring.Params{Flags: uring.IORING_SETUP_CQSIZE, CQEntries: cq}
	switch cfg.Setup {
	case Plain:
	case Coop:
		p.Flags |= uring.IORING_SETUP_COOP_TASKRUN | uring.IORING_SETUP_SINGLE_ISSUER |
			uring.IORING_SETUP_DEFER_TASKRUN | uring.IORING_SETUP_TASKRUN_FLAG
	case SQPoll:
		p.Flags |= uring.IORING_SETUP_SQPOLL
		idle := cfg.SQThreadIdle
		if idle <= 0 {
			idle = DefaultSQThreadIdle
		}
		p.SQThreadIdle = uint32(max(idle/time.Millisecond, 1))
		if cfg.HelperCPU >= 0 {
			p.Flags |= uring.IORING_SETUP_SQ_AFF
			p.SQThreadCPU = uint32(cfg.HelperCPU)
		}
	default:
		return nil, fmt.Errorf("iouring: unknown setup %v: %w", cfg.Setup, notify.ErrInvalid)
	}
	var sqBefore map[int]bool
	if cfg.Setup == SQPoll {
		sqBefore = sqTasks()
	}
	ring, err := uring.New(sq, &p)
	if err != nil {
		return nil, refusal(cfg.Setup, err)
	}
	n := &Notifier{ring: ring, setup: cfg.Setup, multishot: cfg.Multishot, sigbuf: new(sigBuf)}
	if cfg.Setup == SQPoll {
		n.sqBefore = sqBefore
	}
	if err := n.check(); err != nil {
		ring.Close()
		return nil, err
	}
	n.skipOK = ring.Params.Features&uring.IORING_FEAT_CQE_SKIP != 0
	n.probeKinds()
	if n.waker, err = newWaker(ring.FD); err != nil {
		ring.Close()
		return nil, refusal(cfg.Setup, err)
	}
	return n, nil
}

// check refuses a kernel without what the backend relies on.
func (n *Notifier) check() error {
	f := n.ring.Params.Features
	for _, need := range []struct {
		bit  uint32
		name string
	}{
		{uring.IORING_FEAT_NODROP, "IORING_FEAT_NODROP (overflowed CQEs would be dropped)"},
		{uring.IORING_FEAT_EXT_ARG, "IORING_FEAT_EXT_ARG (no wait timeouts)"},
		{uring.IORING_FEAT_POLL_32BITS, "IORING_FEAT_POLL_32BITS"},
	} {
		if f&need.bit == 0 {
			return fmt.Errorf("iouring %v: kernel lacks %s: %w", n.setup, need.name, notify.ErrUnavailable)
		}
	}
	if err := n.ring.Probe(uring.IORING_OP_POLL_ADD, uring.IORING_OP_POLL_REMOVE, uring.IORING_OP_MSG_RING); err != nil {
		return fmt.Errorf("iouring %v: %w: %w", n.setup, notify.ErrUnavailable, err)
	}
	return nil
}

// refusal wraps a setup failure the machine imposes (sysctl, seccomp, LSM,
// memlock limits, a kernel without the flags) in notify.ErrUnavailable,
// naming the sysctl when it is set.
func refusal(s Setup, err error) error {
	var se *uring.SetupError
	if errors.As(err, &se) {
		switch se.Errno {
		case unix.EPERM, unix.EACCES, unix.ENOSYS, unix.EINVAL, unix.ENOMEM, unix.EOPNOTSUPP:
			return fmt.Errorf("iouring %v: %w: %w%s", s, notify.ErrUnavailable, err, disabledNote())
		}
	}
	return fmt.Errorf("iouring %v: %w", s, err)
}

func disabledNote() string {
	b, err := os.ReadFile("/proc/sys/kernel/io_uring_disabled")
	if err != nil {
		return ""
	}
	if v := strings.TrimSpace(string(b)); v != "0" {
		return " (kernel.io_uring_disabled=" + v + ")"
	}
	return ""
}

// Caps: Level is derived from re-armed oneshot polls; Edge is not offered.
// Timers (IORING_OP_TIMEOUT) and user events (MSG_RING) are native; signals
// go through a polled signalfd, and not on sqpoll (signal.go).
func (n *Notifier) Caps() notify.Caps {
	kinds := notify.KindsOf(notify.KindFD, notify.KindUser)
	native := notify.KindsOf(notify.KindUser)
	if n.kops.timers == nil {
		kinds |= notify.KindsOf(notify.KindTimer)
		native |= notify.KindsOf(notify.KindTimer)
	}
	if n.kops.signals == nil {
		kinds |= notify.KindsOf(notify.KindSignal)
	}
	return notify.Caps{
		Triggers:    notify.Of(notify.Level, notify.Oneshot, notify.Multishot),
		Native:      notify.Of(notify.Oneshot, notify.Multishot),
		Interests:   notify.Readable | notify.Writable,
		Kinds:       kinds,
		NativeKinds: native,
		KindNote:    n.kindNote(),
	}
}

func (n *Notifier) kindNote() string {
	sig := "signals: signalfd polled by the ring (oneshot, re-armed), read to EAGAIN in Wait, adds no coalescing"
	if n.multishot {
		sig = "signals: signalfd polled by the ring (multishot), read to EAGAIN in Wait, adds no coalescing"
	}
	if n.kops.signals != nil {
		sig = "no signals (the SQPOLL thread polls the signalfd with its own pending set)"
	}
	timers := "timers: IORING_OP_TIMEOUT|ABS, periodic re-armed on start+k*period (multishot timeouts drift)"
	if n.kops.timers != nil {
		timers = "no timers (kernel lacks IORING_OP_TIMEOUT)"
	}
	return timers + "; " + sig + "; user: MSG_RING doorbell on idle->posted, values summed in memory"
}

// Syscalls reports the system calls made so far, per kind.
func (n *Notifier) Syscalls() notify.SyscallCounts { return n.Snapshot() }
