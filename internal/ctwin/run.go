package ctwin

import (
	"os/exec"

	"kbench/internal/cpu"
)

// Output runs cmd and returns its standard output, as cmd.Output does, but
// forks from a thread that counts as a measured one (cpu.Pin(-1)): a child
// inherits its forking thread's scheduling policy and CPU mask, and inside
// a cpu.Quiet scope every other thread runs SCHED_IDLE on the housekeeping
// CPUs. A twin started from one of them would be measured at idle priority.
func Output(cmd *exec.Cmd) ([]byte, error) {
	unpin, err := cpu.Pin(-1)
	if err != nil {
		return nil, err
	}
	defer unpin()
	return cmd.Output()
}
