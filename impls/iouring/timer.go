package iouring

import (
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/notify"
)

// Timers are IORING_OP_TIMEOUT requests with a completion count of 0 (off),
// so they complete only when they expire, with res -ETIME, and always with
// IORING_TIMEOUT_ABS on CLOCK_MONOTONIC: a relative first expiry becomes a
// deadline when AddTimer is called, not when the SQE reaches the kernel (the
// next enter), and an absolute deadline already past completes at once.
//
// A periodic timer is one TIMEOUT per expiration, re-armed by the backend
// with the next deadline on the grid start + k*period. When its CQE is
// reaped, every grid point at or before the clock counts, so a late
// collector gets all the periods that elapsed, once each, and the next
// deadline is the first grid point still ahead: expirations are neither lost
// nor counted twice, and never reported early (the kernel's hrtimer fires at
// or after the deadline on the clock monotime reads).
//
// IORING_TIMEOUT_MULTISHOT is not used. The kernel re-arms a multishot
// timeout from its completion task_work with the relative period
// (io_timeout_complete: hrtimer_start(data->ts, data->mode); ABS|MULTISHOT
// is -EINVAL), so the k-th expiry drifts by the task_work latency of every
// earlier one, and on a DEFER_TASKRUN ring the task_work, hence the re-arm,
// waits until the collector enters: a collector away for n periods gets one
// CQE, not n (TestMultishotTimeoutDrifts shows it on this kernel). Its CQE
// count is not the timerfd count the contract asks for, and a grid count
// driven by its drifting CQEs would report expirations up to a period late.

// monotime is CLOCK_MONOTONIC in nanoseconds: the Go runtime's nanotime
// (vDSO clock_gettime(CLOCK_MONOTONIC)), the clock IORING_TIMEOUT_ABS
// deadlines are on, read without a system call.
//
//go:linkname monotime runtime.nanotime
func monotime() int64

// AddTimer arms a timer; its id lives in the kind sources' namespace.
func (n *Notifier) AddTimer(spec notify.TimerSpec, token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	if n.kops.timers != nil {
		return 0, n.kops.timers
	}
	if err := spec.Check(); err != nil {
		return 0, fmt.Errorf("iouring add %w", err)
	}
	start := int64(spec.Value)
	if !spec.Abs {
		start += monotime()
	}
	slot, s := n.newKind(notify.KindTimer, token)
	s.start, s.period, s.next = start, int64(spec.Interval), start
	if err := n.ts.grow(slot); err != nil {
		n.freeKind(slot)
		return 0, fmt.Errorf("iouring add timer: %w", err)
	}
	if err := n.armTimer(slot); err != nil {
		n.freeKind(slot)
		return 0, fmt.Errorf("iouring add timer: %w", err)
	}
	return int(slot), nil
}

// armTimer queues a TIMEOUT for the timer's next deadline.
func (n *Notifier) armTimer(slot uint32) error {
	s := &n.ksrcs[slot]
	sqe, err := n.nextSQE()
	if err != nil {
		return err
	}
	ts, addr := n.ts.at(slot)
	// Plain stores: the kernel copies the timespec when it prepares the SQE,
	// after it has loaded the SQ tail our Publish stores with release order.
	// The slot's timespec is rewritten only after this request completed.
	ts.Sec, ts.Nsec = s.next/int64(time.Second), s.next%int64(time.Second)
	sqe.Opcode = uring.IORING_OP_TIMEOUT
	sqe.FD = -1
	sqe.Addr = addr
	sqe.Len = 1
	sqe.Off = 0 // completion count 0: a pure timer
	sqe.OpFlags = uring.IORING_TIMEOUT_ABS
	sqe.UserData = kindData(slot, s.gen)
	s.armed = true
	return nil
}

// timerDone takes a timer's CQE: count the grid points now behind us and
// re-arm at the first one ahead.
func (n *Notifier) timerDone(slot uint32, res int32) {
	s := &n.ksrcs[slot]
	s.armed = false
	if res != -int32(unix.ETIME) {
		n.requestFailed(slot, res)
		return
	}
	if s.period == 0 {
		s.fired = 1
		n.report(slot, 1, 0)
		return // disarmed until RemoveSource
	}
	total := s.fired
	if now := monotime(); now >= s.start {
		total = uint64((now-s.start)/s.period) + 1
	}
	if total > s.fired {
		n.report(slot, total-s.fired, 0)
		s.fired = total
	}
	s.next = s.start + int64(s.fired)*s.period
	n.krearmq = append(n.krearmq, slot) // capacity: one per slot (newKind)
}

// tsArena holds the timespecs TIMEOUT SQEs point at, one per kind slot, in
// anonymous pages outside the Go heap (as the ring's wait argument is), so
// handing the kernel an address as an integer involves no Go pointer.
// Pages are added as slots grow and unmapped by Close.
type tsArena struct {
	pages [][]byte
}

const tsPerPage = 4096 / int(unsafe.Sizeof(uring.Timespec{}))

func (a *tsArena) grow(slot uint32) error {
	for int(slot) >= len(a.pages)*tsPerPage {
		p, err := unix.Mmap(-1, 0, tsPerPage*int(unsafe.Sizeof(uring.Timespec{})),
			unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
		if err != nil {
			return fmt.Errorf("mmap timespecs: %w", err)
		}
		a.pages = append(a.pages, p)
	}
	return nil
}

func (a *tsArena) at(slot uint32) (*uring.Timespec, uint64) {
	p := a.pages[int(slot)/tsPerPage]
	ts := (*uring.Timespec)(unsafe.Pointer(&p[(int(slot)%tsPerPage)*int(unsafe.Sizeof(uring.Timespec{}))]))
	return ts, uint64(uintptr(unsafe.Pointer(ts)))
}

func (a *tsArena) close() error {
	var first error
	for _, p := range a.pages {
		if err := unix.Munmap(p); err != nil && first == nil {
			first = fmt.Errorf("munmap timespecs: %w", err)
		}
	}
	a.pages = nil
	return first
}
