package workloads

import (
	"time"

	"golang.org/x/sys/unix"

	"kbench/internal/rawsys"
	"kbench/notify"
)

// hybridSpins is how many empty non-blocking Waits the hybrid strategy
// makes before it blocks.
const hybridSpins = 200

// waitPolicy is the collector's wait strategy (--wait) as every collecting
// loop applies it: block, spin (timeout 0 in a loop), or hybrid (spin
// until hybridSpins Waits in a row found nothing, then block until one
// finds something).
type waitPolicy struct {
	wait  string
	spins int // empty Waits since the last one that found something
}

// timeout for the next Wait.
func (p *waitPolicy) timeout() time.Duration {
	switch {
	case p.wait == WaitSpin:
		return 0
	case p.wait == WaitHybrid && p.spins < hybridSpins:
		return 0
	}
	return notify.Forever
}

// observe records what a Wait returned.
func (p *waitPolicy) observe(k int) {
	if k == 0 {
		p.spins++
	} else {
		p.spins = 0
	}
}

// yield lets another thread on this CPU run (a collector placed with the
// producer, a backend's helper thread) and returns at once when there is
// none. It is a raw call, as the runtime's own osyield: sched_yield never
// blocks, and a goroutine that never reschedules and is caught in
// unix.Syscall by sysmon's 10 ms preemption check has its P retaken, which
// drops sysmon back to 20 µs polling: thousands of wake-ups a second
// preempting the producer or the collector, a cost a C program does not
// have and the loop does not need.
func yield() { rawsys.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0) }
