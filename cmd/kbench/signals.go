package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"unsafe"

	"kbench/results"
)

// The first SIGINT or SIGTERM asks a run to stop after the current row and
// save what finished; the second ends the process at once, whatever the
// first is still doing (writing the files included). The exit status is
// 128 plus the signal's number: 130 for SIGINT, 143 for SIGTERM (after the
// second, the kernel's: the process dies of the signal, which shells report
// as 130 or 143). A second signal while the files are written leaves no
// temporary where the filesystem has unnamed ones (results.WriteSet), and
// part of the set only if it lands between two of the set's links.

// firstSignal is the signal that interrupted the run (0: none). Written by
// the handler goroutine, read by main after run returns.
var firstSignal atomic.Int32

// interruptContext returns a context cancelled by the first SIGINT or
// SIGTERM; stop restores the default handling.
func interruptContext() (ctx context.Context, stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan os.Signal, 2)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			firstSignal.Store(int32(signum(s)))
			cancel()
			// From now on the kernel itself ends the process on either
			// signal: this goroutine may wait long for a CPU (in a quiet
			// fan-in row housekeeping threads run SCHED_IDLE beside a
			// busy collector), the kernel's default action does not.
			dieOnNextSignal()
			fmt.Fprintf(os.Stderr, "kbench: %v: stopping after the current row; again to exit at once\n", s)
		case <-done:
			return
		}
		select {
		case s := <-ch:
			fmt.Fprintf(os.Stderr, "kbench: second %v: exiting now, result files not written\n", s)
			results.Abort()
			os.Exit(128 + signum(s))
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		close(done)
		cancel()
	}
}

func signum(s os.Signal) int {
	if n, ok := s.(syscall.Signal); ok {
		return int(n)
	}
	return int(syscall.SIGINT)
}

// dieOnNextSignal gives SIGINT and SIGTERM back their default action in the
// kernel (end the process, exit status 128+n), under the runtime's handler,
// which would only queue them for a goroutine. The runtime keeps no state
// that this invalidates: it handles these two only to deliver them to
// os/signal, and restores nothing for them later.
func dieOnNextSignal() {
	var dfl [4]uint64 // struct sigaction, all zero: SIG_DFL, no flags, empty mask
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&dfl)), 0, 8, 0, 0)
	}
}

// interruptedCode is the exit status of a run the first signal stopped:
// 130 after SIGINT, 143 after SIGTERM.
func interruptedCode() int {
	if n := firstSignal.Load(); n != 0 {
		return 128 + int(n)
	}
	return 130
}
