// Package rawsys issues the system calls of kbench's hot loops with nothing
// between the caller and the SYSCALL instruction.
//
// unix.RawSyscall reaches the kernel through a chain of three or four
// function frames (x/sys's trampoline, syscall.RawSyscall, RawSyscall6, the
// runtime's Syscall6). On this machine's kernel every entry refills the
// CPU's return-stack predictor (the Spectre v2 and SRSO "safe RET"
// mitigations), so each of those frames' returns is mispredicted after the
// call: about 50 ns per eventfd read or write, measured against the same
// loop through a one-frame stub (BenchmarkEventfdPair). A C program calling
// libc's write pays for one frame. Backends and workloads use this package
// where a C program would make a plain system call in its hot loop.
//
// Like unix.RawSyscall, these calls skip the runtime's
// entersyscall/exitsyscall: use them only for calls that never block (a
// blocking call must let the scheduler hand its P to another thread).
package rawsys

import "golang.org/x/sys/unix"

// Syscall makes system call trap with three arguments and returns its
// result and, on failure, its errno (0 on success).
//
// It is small enough to be inlined, so the call site calls the one-frame
// stub directly.
func Syscall(trap, a1, a2, a3 uintptr) (uintptr, unix.Errno) {
	r, e := syscall6(trap, a1, a2, a3, 0, 0, 0)
	return r, unix.Errno(e)
}

// Syscall6 is Syscall with six arguments.
func Syscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (uintptr, unix.Errno) {
	r, e := syscall6(trap, a1, a2, a3, a4, a5, a6)
	return r, unix.Errno(e)
}
