package uring

import (
	"errors"
	"fmt"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ring is one io_uring instance: its fd, the parameters the kernel returned,
// and the mapped queues.
type Ring struct {
	FD     int
	Params Params
	SQ     SubmissionQueue
	CQ     CompletionQueue

	sqRing []byte
	cqRing []byte // nil when the kernel maps both rings at once
	sqes   []byte
	area   WaitArea // the wait argument of Wait
}

// WaitArea is one waiting thread's struct io_uring_getevents_arg and the
// timespec it points to, on an anonymous page outside the Go heap, so that
// handing their addresses to the kernel as integers involves no Go
// pointer at all. A ring has one for its Wait; each further thread that
// waits on the ring at the same time needs its own (WaitIn).
type WaitArea struct {
	mem    []byte
	arg    *GeteventsArg
	ts     *Timespec
	tsAddr uint64 // the user pointer the kernel reads in arg.Ts
}

// NewWaitArea maps a wait argument for one more waiting thread.
func NewWaitArea() (*WaitArea, error) {
	w := &WaitArea{}
	if err := w.init(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *WaitArea) init() error {
	mem, err := unix.Mmap(-1, 0, unix.Getpagesize(), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	if err != nil {
		return fmt.Errorf("mmap io_uring wait argument: %w", err)
	}
	w.mem = mem
	w.arg = (*GeteventsArg)(unsafe.Pointer(&mem[0]))
	w.ts = (*Timespec)(unsafe.Pointer(&mem[unsafe.Sizeof(GeteventsArg{})]))
	w.tsAddr = uint64(uintptr(unsafe.Pointer(w.ts)))
	return nil
}

// Close unmaps the area; no wait may use it afterwards.
func (w *WaitArea) Close() error {
	if w.mem == nil {
		return nil
	}
	err := unix.Munmap(w.mem)
	w.mem, w.arg, w.ts, w.tsAddr = nil, nil, nil, 0
	if err != nil {
		return fmt.Errorf("munmap io_uring wait argument: %w", err)
	}
	return nil
}

// SetupError is io_uring_setup's refusal, with the errno for errors.Is.
type SetupError struct {
	Flags uint32
	Errno unix.Errno
}

func (e *SetupError) Error() string {
	return fmt.Sprintf("io_uring_setup(flags %#x): %v", e.Flags, e.Errno)
}

func (e *SetupError) Unwrap() error { return e.Errno }

// New sets up a ring with p (its Flags, CQEntries, SQThreadCPU and
// SQThreadIdle as the caller wants them) and maps it. On return p holds what
// the kernel chose.
func New(entries uint32, p *Params) (*Ring, error) {
	flags := p.Flags
	fd, errno := Setup(entries, p)
	if errno != 0 {
		return nil, &SetupError{Flags: flags, Errno: errno}
	}
	r := &Ring{FD: fd, Params: *p}
	if err := r.mapRings(); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mapRings() error {
	p := &r.Params
	const prot = unix.PROT_READ | unix.PROT_WRITE
	const flags = unix.MAP_SHARED | unix.MAP_POPULATE
	sqSize := int(p.SQOff.Array) + int(p.SQEntries)*4
	cqSize := int(p.CQOff.CQEs) + int(p.CQEntries)*int(unsafe.Sizeof(CQE{}))
	single := p.Features&IORING_FEAT_SINGLE_MMAP != 0
	if single {
		// One mapping serves both rings (the kernel allocates them as one
		// region); map the larger of the two sizes.
		sqSize = max(sqSize, cqSize)
	}
	var err error
	if r.sqRing, err = unix.Mmap(r.FD, IORING_OFF_SQ_RING, sqSize, prot, flags); err != nil {
		return fmt.Errorf("mmap io_uring SQ ring: %w", err)
	}
	cq := r.sqRing
	if !single {
		if r.cqRing, err = unix.Mmap(r.FD, IORING_OFF_CQ_RING, cqSize, prot, flags); err != nil {
			return fmt.Errorf("mmap io_uring CQ ring: %w", err)
		}
		cq = r.cqRing
	}
	if r.sqes, err = unix.Mmap(r.FD, IORING_OFF_SQES, int(p.SQEntries)*int(unsafe.Sizeof(SQE{})), prot, flags); err != nil {
		return fmt.Errorf("mmap io_uring SQEs: %w", err)
	}
	if err = r.area.init(); err != nil {
		return err
	}
	if r.SQ, err = newSQ(r.sqRing, r.sqes, &p.SQOff, p.SQEntries); err != nil {
		return err
	}
	if r.CQ, err = newCQ(cq, &p.CQOff, p.CQEntries); err != nil {
		return err
	}
	return nil
}

// Submit enters to submit the pending SQEs without waiting. extra may add
// IORING_ENTER_SQ_WAKEUP or IORING_ENTER_SQ_WAIT for SQPOLL rings, and
// IORING_ENTER_GETEVENTS, which with min_complete 0 runs a DEFER_TASKRUN
// ring's deferred completions and flushes the overflow list but never waits.
//
// Without IORING_ENTER_SQ_WAIT the call cannot sleep (the backends submit
// only polls, MSG_RING and POLL_REMOVE, which arm or complete inline), so it
// is a raw one (rawsys); SQ_WAIT waits for the SQ thread and keeps
// unix.Syscall, so the Go scheduler can run others meanwhile.
func (r *Ring) Submit(toSubmit, extra uint32) (int, unix.Errno) {
	if extra&IORING_ENTER_SQ_WAIT == 0 {
		return enterNoWait(r.FD, toSubmit, extra)
	}
	return Enter(r.FD, toSubmit, 0, extra, nil)
}

// Wait enters with IORING_ENTER_GETEVENTS: it submits toSubmit SQEs, then
// waits until the CQ ring holds minComplete CQEs (counted from the head we
// published) or timeout passes (timeout < 0: no limit). The timeout travels
// in struct io_uring_getevents_arg (IORING_ENTER_EXT_ARG), an hrtimer in the
// kernel, so sub-millisecond values are honoured. The kernel returns ETIME
// only when the CQ ring is empty at the end.
func (r *Ring) Wait(toSubmit, minComplete, extra uint32, timeout time.Duration) (int, unix.Errno) {
	return r.WaitIn(&r.area, toSubmit, minComplete, extra, timeout)
}

// WaitIn is Wait with the wait argument in w: one more thread waiting on
// the ring at the same time as others.
func (r *Ring) WaitIn(w *WaitArea, toSubmit, minComplete, extra uint32, timeout time.Duration) (int, unix.Errno) {
	a := w.arg
	a.Sigmask, a.SigmaskSz, a.MinWaitUsec = 0, 0, 0
	a.Ts = 0
	if timeout >= 0 {
		w.ts.Sec = int64(timeout / time.Second)
		w.ts.Nsec = int64(timeout % time.Second)
		a.Ts = w.tsAddr
	}
	return Enter(r.FD, toSubmit, minComplete, extra|IORING_ENTER_GETEVENTS|IORING_ENTER_EXT_ARG, a)
}

// Probe reports an error naming the first of ops the kernel does not support.
func (r *Ring) Probe(ops ...uint8) error {
	const nops = 256
	var buf [unsafe.Sizeof(ProbeHeader{}) + nops*unsafe.Sizeof(ProbeOp{})]byte
	if _, errno := Register(r.FD, IORING_REGISTER_PROBE, unsafe.Pointer(&buf[0]), nops); errno != 0 {
		return fmt.Errorf("io_uring_register(PROBE): %w", errno)
	}
	h := (*ProbeHeader)(unsafe.Pointer(&buf[0]))
	table := unsafe.Slice((*ProbeOp)(unsafe.Pointer(&buf[unsafe.Sizeof(ProbeHeader{})])), nops)
	for _, op := range ops {
		if op >= h.OpsLen || table[op].Flags&IO_URING_OP_SUPPORTED == 0 {
			return fmt.Errorf("io_uring opcode %d not supported by this kernel (last op %d)", op, h.LastOp)
		}
	}
	return nil
}

// Close unmaps the rings and closes the fd. Nothing may touch the queues
// afterwards: their views point into the unmapped memory.
func (r *Ring) Close() error {
	var errs []error
	if err := r.area.Close(); err != nil {
		errs = append(errs, err)
	}
	for _, m := range [][]byte{r.sqes, r.cqRing, r.sqRing} {
		if m != nil {
			if err := unix.Munmap(m); err != nil {
				errs = append(errs, fmt.Errorf("munmap io_uring: %w", err))
			}
		}
	}
	r.sqes, r.cqRing, r.sqRing = nil, nil, nil
	if r.FD >= 0 {
		if err := unix.Close(r.FD); err != nil {
			errs = append(errs, fmt.Errorf("close io_uring fd: %w", err))
		}
		r.FD = -1
	}
	return errors.Join(errs...)
}
