package notify

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// Watched signals are thread-directed (doc.go, "Source kinds"). Go's
// runtime installs a handler for every signal and keeps them unblocked in
// its threads, so a signal sent to the process would be taken by whichever
// thread the kernel picks and handled (or ignored) by the runtime, never
// left pending for a signalfd. The collecting goroutine therefore runs on a
// locked OS thread (runtime.LockOSThread), blocks the signal there with
// BlockSignal before KindSources.AddSignal, and the producer raises it at
// that thread with RaiseSignal (tgkill), never with kill(2). A signal
// pending on a thread that blocks it is what the backend reads.

// The real-time signals a program may watch. glibc reserves 32 and 33 for
// its threads (Go's runtime calls them SIGCANCEL and SIGSETXID), so its
// SIGRTMIN is 34; the kernel's SIGRTMAX is 64 (_NSIG).
const (
	SigRTMin = 34
	SigRTMax = 64
)

// refused are the signals CheckSignal turns down: those the kernel will not
// let a process block (SIGKILL, SIGSTOP), those Go's runtime uses itself
// (SIGURG preempts goroutines, SIGPROF is the profiler's, the synchronous
// faults become panics, SIGCHLD and SIGPIPE it handles for os/exec and
// writes to closed pipes), and glibc's two reserved real-time signals.
var refused = map[int]string{
	int(unix.SIGKILL): "cannot be blocked",
	int(unix.SIGSTOP): "cannot be blocked",
	int(unix.SIGURG):  "Go's runtime preempts goroutines with it",
	int(unix.SIGPROF): "Go's runtime profiles with it",
	int(unix.SIGSEGV): "a synchronous fault Go's runtime turns into a panic",
	int(unix.SIGBUS):  "a synchronous fault Go's runtime turns into a panic",
	int(unix.SIGFPE):  "a synchronous fault Go's runtime turns into a panic",
	int(unix.SIGILL):  "a synchronous fault Go's runtime turns into a panic",
	int(unix.SIGTRAP): "a synchronous trap Go's runtime handles",
	int(unix.SIGCHLD): "Go's runtime and os/exec handle it",
	int(unix.SIGPIPE): "Go's runtime handles it for writes to closed pipes",
	32:                "reserved by glibc for its threads (SIGCANCEL)",
	33:                "reserved by glibc for its threads (SIGSETXID)",
}

// CheckSignal refuses, in one line wrapping ErrInvalid, a signal number that
// cannot be watched: out of 1..SigRTMax, or one of those the kernel or Go's
// runtime keeps (see refused).
func CheckSignal(sig int) error {
	if sig < 1 || sig > SigRTMax {
		return fmt.Errorf("signal %d: outside 1..%d: %w", sig, SigRTMax, ErrInvalid)
	}
	if why, ok := refused[sig]; ok {
		return fmt.Errorf("signal %d (%v): %s: %w", sig, syscall.Signal(sig), why, ErrInvalid)
	}
	return nil
}

// SigsetOf returns the kernel signal set holding sig alone, as signalfd
// takes it. sig must be in 1..SigRTMax (the set's first word).
func SigsetOf(sig int) unix.Sigset_t {
	var s unix.Sigset_t
	s.Val[0] = 1 << uint(sig-1)
	return s
}

// BlockSignal blocks sig in the calling OS thread only (rt_sigprocmask
// SIG_BLOCK: a thread's mask is its own). The caller must hold
// runtime.LockOSThread for as long as it relies on the mask: a goroutine
// that is not locked may move to another thread at any moment, leaving the
// signal blocked in a thread the runtime gives to other goroutines. A
// goroutine that exits still locked takes its thread, with the mask and
// any signal pending there, with it.
func BlockSignal(sig int) error {
	if err := CheckSignal(sig); err != nil {
		return err
	}
	set := SigsetOf(sig)
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil); err != nil {
		return fmt.Errorf("rt_sigprocmask block signal %d: %w", sig, err)
	}
	return nil
}

// UnblockSignal undoes BlockSignal in the calling thread. A signal still
// pending there is then delivered to Go's handler, which ignores signals
// nobody asked os/signal for (real-time ones included) and acts on the
// others as it would for a kill(2).
func UnblockSignal(sig int) error {
	if err := CheckSignal(sig); err != nil {
		return err
	}
	set := SigsetOf(sig)
	if err := unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil); err != nil {
		return fmt.Errorf("rt_sigprocmask unblock signal %d: %w", sig, err)
	}
	return nil
}

// SignalBlocked reports whether sig is blocked in the calling thread
// (rt_sigprocmask(SIG_BLOCK, NULL, &old) reads the mask without changing
// it). Numbers outside 1..SigRTMax are never blocked.
func SignalBlocked(sig int) (bool, error) {
	if sig < 1 || sig > SigRTMax {
		return false, nil
	}
	var old unix.Sigset_t
	if err := unix.PthreadSigmask(unix.SIG_BLOCK, nil, &old); err != nil {
		return false, fmt.Errorf("rt_sigprocmask read mask: %w", err)
	}
	return old.Val[0]&(1<<uint(sig-1)) != 0, nil
}

// pid is the thread group tgkill addresses. A fork's child runs no Go code
// that could raise signals, so it never needs a fresh one.
var pid = unix.Getpid()

// RaiseSignal sends sig to thread tid of this process (tgkill), the
// collector's, which has it blocked. Any goroutine; it never allocates, and
// a failure is the kernel's errno (ESRCH: no such thread; EAGAIN: a
// real-time signal over RLIMIT_SIGPENDING) returned as unix.Errno.
func RaiseSignal(tid, sig int) error {
	_, _, e := unix.RawSyscall(unix.SYS_TGKILL, uintptr(pid), uintptr(tid), uintptr(sig))
	if e != 0 {
		return e
	}
	return nil
}
