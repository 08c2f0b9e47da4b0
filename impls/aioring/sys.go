//go:build linux

package aioring

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/rawsys"
)

// Raw system calls. They return the kernel's errno unboxed, so that hot
// paths can compare it without allocating an error value.

// ioSetup creates a context for nr requests. The kernel stores the context id,
// which is the user address of the mmap'd struct aio_ring, into *ctx: the
// target is pointer-typed, so that kernel-provided address is a pointer from
// the start and no integer is ever converted back into one.
func ioSetup(nr uint32, ctx *unsafe.Pointer) unix.Errno {
	_, _, e := unix.Syscall(unix.SYS_IO_SETUP, uintptr(nr), uintptr(unsafe.Pointer(ctx)), 0)
	return e
}

// ioDestroy cancels every outstanding request, waits for them, and unmaps
// the ring.
func ioDestroy(id uintptr) unix.Errno {
	_, _, e := unix.Syscall(unix.SYS_IO_DESTROY, id, 0, 0)
	return e
}

// ioSubmit queues the iocbs and returns how many were accepted; the kernel
// stops at the first one it refuses, and reports that one's errno only when
// it is the first of the batch.
//
// A raw call (rawsys): this package submits only IOCB_CMD_POLL, which never sleeps
// (aio_poll calls vfs_poll once and either completes inline or queues a wait
// entry), so the runtime's entersyscall/exitsyscall bookkeeping buys nothing
// here. It also keeps the P out of the syscall state sysmon retakes from a
// goroutine that has run 10 ms without rescheduling, as the collector does.
func ioSubmit(id uintptr, batch []*iocb) (int, unix.Errno) {
	r, e := rawsys.Syscall(unix.SYS_IO_SUBMIT, id, uintptr(len(batch)), uintptr(unsafe.Pointer(&batch[0])))
	return int(r), e
}

// ioCancel asks the kernel to cancel the request submitted from cb. Since
// Linux 5.0 the result argument is unused (the cancelled request completes
// through the ring); older kernels wrote it, so it points at real memory.
//
// A raw call: cancelling a poll takes ctx_lock and never waits (see ioSubmit).
func ioCancel(id uintptr, cb *iocb, res *ioEvent) unix.Errno {
	_, e := rawsys.Syscall(unix.SYS_IO_CANCEL, id, uintptr(unsafe.Pointer(cb)), uintptr(unsafe.Pointer(res)))
	return e
}

// ioGetevents waits for at least minNr completions and copies at most
// len(evs) into evs. A nil ts blocks; a zero ts never blocks.
//
// io_pgetevents would add only an atomically installed signal mask, which a
// Go program does not use: the runtime's signals (preemption's SIGURG
// included) interrupt either call with EINTR, and Wait retries with the time
// that is left.
func ioGetevents(id uintptr, minNr int, evs []ioEvent, ts *unix.Timespec) (int, unix.Errno) {
	r, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, id, uintptr(minNr), uintptr(len(evs)),
		uintptr(unsafe.Pointer(&evs[0])), uintptr(unsafe.Pointer(ts)), 0)
	return int(r), e
}
