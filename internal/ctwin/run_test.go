package ctwin

import (
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"kbench/internal/cpu"
)

// childPolicy is the scheduling policy a child started by run reports for
// itself (/proc/self/stat field 41).
func childPolicy(t *testing.T, run func(*exec.Cmd) ([]byte, error)) int {
	t.Helper()
	out, err := run(exec.Command("cat", "/proc/self/stat"))
	if err != nil {
		t.Skipf("cat: %v", err)
	}
	s := string(out)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	p, err := strconv.Atoi(fields[41-3])
	if err != nil {
		t.Fatalf("policy field of %q: %v", s, err)
	}
	return p
}

// TestOutputForksAtNormalPriority: with housekeeping quieted, a child
// started from a housekeeping thread inherits SCHED_IDLE, one started by
// Output does not.
func TestOutputForksAtNormalPriority(t *testing.T) {
	cpus, err := cpu.Allowed()
	if err != nil {
		t.Fatal(err)
	}
	if err := cpu.EnableQuiet(cpus[len(cpus)-1:]); err != nil {
		t.Skipf("quiet housekeeping refused here: %v", err)
	}
	defer cpu.DisableQuiet()
	end, _ := cpu.Quiet()
	defer end()
	// This thread exists before the pin below, so the pin's sweep makes it
	// a housekeeping one.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pinned := make(chan func())
	done := make(chan struct{})
	go func() {
		unpin, err := cpu.Pin(cpus[0])
		if err != nil {
			pinned <- nil
			return
		}
		pinned <- unpin
		<-done
		unpin()
	}()
	if <-pinned == nil {
		t.Skip("affinity refused here")
	}
	defer close(done)

	if p, _ := cpu.Policy(0); p != unix.SCHED_IDLE {
		t.Fatalf("housekeeping thread policy %d, want SCHED_IDLE", p)
	}
	if p := childPolicy(t, (*exec.Cmd).Output); p != unix.SCHED_IDLE {
		t.Errorf("child of a housekeeping thread: policy %d, want SCHED_IDLE (the case Output exists for)", p)
	}
	if p := childPolicy(t, Output); p != unix.SCHED_NORMAL {
		t.Errorf("child started by Output: policy %d, want SCHED_OTHER", p)
	}
}
