// Package uring is a minimal io_uring binding over raw system calls: setup
// with its parameters, the mmap'd submission and completion rings viewed as
// typed atomics over []byte, enter with GETEVENTS/min_complete and EXT_ARG
// timeouts, and the opcode probe. It holds no policy: package iouring decides
// what to submit and when.
//
// Ordering follows the contract stated at the top of the kernel's
// io_uring/io_uring.c and liburing's barrier.h. Go's sync/atomic operations
// are sequentially consistent, so each Load is at least an acquire, each Store
// at least a release, and a Store followed by a Load is ordered as if by
// smp_mb() (needed for the SQPOLL wakeup check). Every shared access below
// names the kernel access it pairs with.
//
// The layouts mirror /usr/include/linux/io_uring.h; each struct shared with
// the kernel carries a compile-time size check. Constants keep their C names
// (as golang.org/x/sys/unix does) so they can be grepped in the header and in
// the kernel source.
package uring
