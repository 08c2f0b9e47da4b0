// Package cpu pins measuring goroutines to CPUs and parses CPU lists.
package cpu

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Pin locks the calling goroutine to its OS thread and, when c >= 0, binds
// that thread to CPU c. The returned function undoes both. A refused
// affinity leaves the goroutine unlocked and returns the kernel's reason.
// Until unpinned the thread counts as a measured one: inside a Quiet scope
// it runs SCHED_OTHER while every other thread is quieted.
func Pin(c int) (unpin func(), err error) {
	runtime.LockOSThread()
	// Registered before the mask is set: a housekeeping sweep running
	// meanwhile must not take the thread for a bystander and confine it.
	release := quietPinned(c < 0)
	if c < 0 {
		return func() {
			release()
			runtime.UnlockOSThread()
		}, nil
	}
	var old unix.CPUSet
	err = unix.SchedGetaffinity(0, &old)
	if err != nil {
		err = fmt.Errorf("sched_getaffinity: %w", err)
	} else {
		var set unix.CPUSet
		set.Set(c)
		if err = unix.SchedSetaffinity(0, &set); err != nil {
			err = fmt.Errorf("sched_setaffinity cpu %d: %w", c, err)
		}
	}
	if err != nil {
		release()
		runtime.UnlockOSThread()
		return nil, err
	}
	return func() {
		// Give the thread its mask back before it returns to the Go
		// scheduler's pool, so later goroutines on it are not confined to
		// c; with quiet housekeeping allowed, release decides the mask.
		if !release() {
			_ = unix.SchedSetaffinity(0, &old)
		}
		runtime.UnlockOSThread()
	}, nil
}

// Allowed lists the CPUs this process may run on, ascending.
func Allowed() ([]int, error) {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	var cpus []int
	for c := 0; c < len(set)*64; c++ {
		if set.IsSet(c) {
			cpus = append(cpus, c)
		}
	}
	return cpus, nil
}

// MaxCPUs bounds a CPU list: the kernel's largest NR_CPUS (8192), so that
// a list such as 0-1000000000 is refused before it is built.
const MaxCPUs = 8192

// ParseList parses "0,1", "2-3" or "0,2-3" into CPU numbers.
func ParseList(s string) ([]int, error) {
	var out []int
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("empty CPU list")
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.Atoi(lo)
		if err != nil || a < 0 {
			return nil, fmt.Errorf("bad CPU %q in list %q", part, s)
		}
		b := a
		if isRange {
			b, err = strconv.Atoi(hi)
			if err != nil || b < a {
				return nil, fmt.Errorf("bad CPU range %q in list %q", part, s)
			}
		}
		if b >= MaxCPUs || len(out)+b-a >= MaxCPUs {
			return nil, fmt.Errorf("CPU list %q names CPUs beyond %d, the most the kernel supports", s, MaxCPUs-1)
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}
