// Package interfere reads, from the kernel's own accounting, how much of a
// set of CPUs went to anything but this process: other processes, kernel
// threads, interrupts, and the hypervisor (steal). A workload brackets each
// trial with two Snapshots; the pre-flight look samples the CPUs before the
// first row and names the busiest other processes.
//
// What is busy. The pinned CPUs' time not spent idle (idle and iowait in
// /proc/stat) and not stolen is busy; less this process's own CPU time
// (getrusage, exact to the microsecond), plus the steal, it is what went
// elsewhere. The busy time is taken as the window less idle rather than as
// the sum of the user, nice, system, irq and softirq columns because the
// kernel measures idle time at each idle entry and exit (NO_HZ kernels,
// which is all of them in practice), while it charges the other columns a
// whole tick to whatever runs when the timer fires: a sample, off by a tick
// or more per CPU per window. Measured here with both CPUs saturated, the
// tick sum differed from wall − idle by 6 % of the capacity (standard
// deviation over 30 trials of 100 ms), where wall − idle was exact.
//
// Resolution. /proc/stat prints USER_HZ ticks (10 ms at the usual 100 Hz),
// so each idle or steal figure is truncated to 10 ms at each end of the
// window: over a 100 ms trial on two CPUs (200 ms of capacity) a share is
// good to about ±5 % (standard deviation about 3 %), over a 1 s pre-flight
// window to about ±1 %. A row's median over its repetitions is steadier.
// The truncation can make busy − self come out below zero; the share is
// then 0, never negative, and the raw figures stay in the reading.
//
// This process's time is counted over all its CPUs, so if some of its
// threads run outside the metered set, the share under-reads by that much.
package interfere

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"kbench/results"
)

// cpuTimes is one CPU's line of /proc/stat, in ticks. guest and guest_nice
// are left out: the kernel already counts them in user and nice.
type cpuTimes struct {
	user, nice, system, idle, iowait, irq, softirq, steal int64
}

// Snapshot is the kernel's accounting at one instant for a set of CPUs.
type Snapshot struct {
	cpus   []int
	times  []cpuTimes // per entry of cpus, ticks
	selfNs int64      // this process's user+system time, all threads
	at     time.Time  // monotonic
	tickNs int64
}

// source is where a reading comes from; tests replace it with synthetic
// /proc text.
type source struct {
	readFile func(path string) ([]byte, error)
	selfNs   func() (int64, error)
	now      func() time.Time
	tickNs   func() int64
	// For the pre-flight look.
	listProcs func() ([]string, error)
	pid       func() int
}

var sys = source{
	readFile: os.ReadFile,
	selfNs:   selfCPU,
	now:      time.Now,
	tickNs:   tickNs,

	listProcs: listProcs,
	pid:       os.Getpid,
}

// Take reads the accounting of cpus now. It reads a file and allocates:
// call it around a trial, never inside a measured loop.
func Take(cpus []int) (Snapshot, error) { return sys.take(cpus) }

func (src source) take(cpus []int) (Snapshot, error) {
	at := src.now() // the file's idle figures are as of its read, next
	b, err := src.readFile("/proc/stat")
	if err != nil {
		return Snapshot{}, fmt.Errorf("interference: %w", err)
	}
	times, err := parseStat(string(b), cpus)
	if err != nil {
		return Snapshot{}, fmt.Errorf("interference: /proc/stat: %w", err)
	}
	self, err := src.selfNs()
	if err != nil {
		return Snapshot{}, fmt.Errorf("interference: %w", err)
	}
	return Snapshot{cpus: slices.Clone(cpus), times: times, selfNs: self, at: at, tickNs: src.tickNs()}, nil
}

// Since returns the reading between before and s (s later). MeasuredNs is
// left for the caller, who knows which threads it measured. Snapshots of
// different CPU sets give an empty reading.
func (s Snapshot) Since(before Snapshot) results.Interference {
	in := results.Interference{WallNs: int64(s.at.Sub(before.at)), CPUs: slices.Clone(s.cpus)}
	if !slices.Equal(s.cpus, before.cpus) || len(s.cpus) == 0 {
		return in
	}
	for i := range s.times {
		// Counters only grow, but a CPU that went offline and came back
		// switches idle sources and can step back: never negative time.
		a, b := before.times[i], s.times[i]
		idle := max(0, b.idle+b.iowait-a.idle-a.iowait) * s.tickNs
		steal := max(0, b.steal-a.steal) * s.tickNs
		in.IdleNs += idle
		in.StealNs += steal
		in.BusyNs += max(0, in.WallNs-idle-steal)
	}
	in.SelfNs = max(0, s.selfNs-before.selfNs)
	in.Share = share(in.BusyNs-in.SelfNs+in.StealNs, in.WallNs, len(s.cpus))
	return in
}

// share is others/(wall×cpus), clipped to [0,1]: the ticks' coarseness can
// push the difference a little below zero or the sum a little above the
// capacity.
func share(othersNs, wallNs int64, cpus int) float64 {
	if wallNs <= 0 || cpus <= 0 || othersNs <= 0 {
		return 0
	}
	return min(1, float64(othersNs)/(float64(wallNs)*float64(cpus)))
}

// parseStat picks the lines of cpus out of /proc/stat text.
func parseStat(text string, cpus []int) ([]cpuTimes, error) {
	byCPU := map[int]cpuTimes{}
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		n, err := strconv.Atoi(f[0][3:])
		if err != nil {
			return nil, fmt.Errorf("bad line %q", strings.TrimSpace(line))
		}
		// Kernels before 2.6.11 had no steal column; four fields (user,
		// nice, system, idle) are the least any kernel writes.
		if len(f) < 5 {
			return nil, fmt.Errorf("cpu%d: %d fields, want at least 4", n, len(f)-1)
		}
		var v [8]int64
		for i := 0; i < len(v) && i+1 < len(f); i++ {
			if v[i], err = strconv.ParseInt(f[i+1], 10, 64); err != nil {
				return nil, fmt.Errorf("cpu%d: field %d: %w", n, i+1, err)
			}
		}
		byCPU[n] = cpuTimes{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]}
	}
	out := make([]cpuTimes, len(cpus))
	for i, c := range cpus {
		t, ok := byCPU[c]
		if !ok {
			return nil, fmt.Errorf("no line for cpu%d (offline?)", c)
		}
		out[i] = t
	}
	return out, nil
}

// selfCPU is this process's CPU time, every thread, and that of its
// children that have ended and been waited for, from getrusage, which the
// scheduler keeps to the nanosecond (unlike the ticks of /proc). The
// children are kbench's own measurement too: the C twins of fidelity and
// the ring lab run as child processes, and without them a twin's round
// would read as someone else's work on the pinned CPUs (fidelity and ring
// rows were all "noisy" on an idle machine).
func selfCPU() (int64, error) {
	var total int64
	for _, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if err := unix.Getrusage(who, &ru); err != nil {
			return 0, fmt.Errorf("getrusage(%d): %w", who, err)
		}
		total += ru.Utime.Nano() + ru.Stime.Nano()
	}
	return total, nil
}

// atClkTck is the auxiliary-vector entry carrying USER_HZ (sysconf's
// _SC_CLK_TCK reads the same value).
const atClkTck = 17

// tickNs is the length of one /proc tick. The kernel hands USER_HZ to every
// process in its auxiliary vector; 100 Hz is what Linux has exported on
// every architecture for decades, and the fallback if the vector is absent.
var tickNs = sync.OnceValue(func() int64 {
	auxv, err := unix.Auxv()
	if err == nil {
		for _, kv := range auxv {
			if kv[0] == atClkTck && kv[1] > 0 && kv[1] <= uintptr(time.Second) {
				return int64(time.Second) / int64(kv[1])
			}
		}
	}
	return int64(time.Second) / 100
})
