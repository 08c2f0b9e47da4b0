package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"

	"kbench/results"
)

// The first SIGINT or SIGTERM asks a run to stop after the current row and
// save what finished; the second ends the process at once, whatever the
// first is still doing (writing the files included), removing any result
// file not yet complete as a set. The exit status is 128 plus the signal's
// number: 130 for SIGINT, 143 for SIGTERM.

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

// interruptedCode is the exit status of a run the first signal stopped:
// 130 after SIGINT, 143 after SIGTERM.
func interruptedCode() int {
	if n := firstSignal.Load(); n != 0 {
		return 128 + int(n)
	}
	return 130
}
