// Command kbench measures how Linux notification mechanisms collect events
// from many sources. See README.md.
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Exit status: 0 every row ok (or skipped, n/a); 1 a row failed (lost or
// duplicated events, an error) or the result files could not be written;
// 2 bad input, nothing run; 3 reserved for --require-quiet; 130 or 143
// interrupted by SIGINT or SIGTERM.
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
		if ex.code == 130 {
			ex.code = interruptedCode() // 143 when SIGTERM stopped the run
		}
		os.Exit(ex.code)
	}
	fmt.Fprintln(os.Stderr, "kbench:", err)
	os.Exit(1)
}
