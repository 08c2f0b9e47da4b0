// Command kbench measures how Linux notification mechanisms collect events
// from many sources. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

func main() {
	// Every measuring goroutine is locked to its own thread (producer,
	// consumer, a backend's hook thread, pingpong's second thread…). With
	// GOMAXPROCS equal to the CPU count, a locked thread back from a system
	// call can wait for a P held by a spinning peer until sysmon preempts it
	// (10 ms): a runtime artifact, not the mechanism's cost. Enough Ps for
	// every pinned thread leaves the arbitration to the kernel, as in C.
	if n := runtime.NumCPU() + 4; runtime.GOMAXPROCS(0) < n {
		runtime.GOMAXPROCS(n)
	}
	err := run(os.Stdout, os.Stderr, os.Args[1:])
	if err == nil {
		return
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(os.Stderr, "kbench:", err)
		os.Exit(2)
	}
	var ex exitError
	if errors.As(err, &ex) {
		if ex.msg != "" {
			fmt.Fprintln(os.Stderr, "kbench:", ex.msg)
		}
		os.Exit(ex.code)
	}
	fmt.Fprintln(os.Stderr, "kbench:", err)
	os.Exit(1)
}
