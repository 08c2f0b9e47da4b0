package uring

import (
	"unsafe"

	"golang.org/x/sys/unix"

	"kbench/internal/rawsys"
)

// Setup calls io_uring_setup(entries, p) and returns the ring fd. The kernel
// rewrites p with the sizes, features and ring offsets it chose.
func Setup(entries uint32, p *Params) (int, unix.Errno) {
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, uintptr(entries), uintptr(unsafe.Pointer(p)), 0)
	if errno != 0 {
		return -1, errno
	}
	return int(fd), 0
}

// Enter calls io_uring_enter(fd, toSubmit, minComplete, flags, arg, argSize).
// arg is either nil, or a *GeteventsArg with IORING_ENTER_EXT_ARG in flags.
// The errno is returned as a value, not an error interface, so callers on the
// hot path compare it without boxing.
func Enter(fd int, toSubmit, minComplete, flags uint32, arg *GeteventsArg) (int, unix.Errno) {
	var size uintptr
	if arg != nil {
		size = unsafe.Sizeof(*arg)
	}
	r, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit),
		uintptr(minComplete), uintptr(flags), uintptr(unsafe.Pointer(arg)), size)
	if errno != 0 {
		return 0, errno
	}
	return int(r), 0
}

// enterNoWait is Enter for calls that cannot sleep: a raw call skips the
// runtime's entersyscall/exitsyscall, as a C caller pays nothing of the kind,
// and leaves no P in the syscall state for sysmon to retake; rawsys's stub
// has one frame between this and the kernel, as a C caller has.
func enterNoWait(fd int, toSubmit, flags uint32) (int, unix.Errno) {
	r, errno := rawsys.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(fd), uintptr(toSubmit), 0, uintptr(flags), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), 0
}

// Register calls io_uring_register(fd, opcode, arg, nrArgs).
func Register(fd int, opcode uint32, arg unsafe.Pointer, nrArgs uint32) (int, unix.Errno) {
	r, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(fd), uintptr(opcode),
		uintptr(arg), uintptr(nrArgs), 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), 0
}
