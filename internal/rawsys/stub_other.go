//go:build !amd64

package rawsys

import "golang.org/x/sys/unix"

// syscall6 falls back to x/sys where there is no stub for the architecture.
func syscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r, errno uintptr) {
	r, _, e := unix.RawSyscall6(trap, a1, a2, a3, a4, a5, a6)
	return r, uintptr(e)
}
