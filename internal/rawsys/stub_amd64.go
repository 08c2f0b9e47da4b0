package rawsys

// syscall6 is the one-frame stub (rawsys_amd64.s).
//
//go:noescape
func syscall6(trap, a1, a2, a3, a4, a5, a6 uintptr) (r, errno uintptr)
