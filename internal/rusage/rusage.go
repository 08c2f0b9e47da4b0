// Package rusage reads per-thread CPU use (getrusage RUSAGE_THREAD).
package rusage

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Usage is one thread's CPU time and context switches.
type Usage struct {
	UserNs int64 `json:"user_ns"`
	SysNs  int64 `json:"sys_ns"`
	Nvcsw  int64 `json:"voluntary_cs"`
	Nivcsw int64 `json:"involuntary_cs"`
}

// Thread reads the calling thread's usage; the caller must be locked to its
// OS thread (runtime.LockOSThread) for the figure to mean anything.
func Thread() (Usage, error) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return Usage{}, fmt.Errorf("getrusage(RUSAGE_THREAD): %w", err)
	}
	return Usage{
		UserNs: ru.Utime.Nano(),
		SysNs:  ru.Stime.Nano(),
		Nvcsw:  ru.Nvcsw,
		Nivcsw: ru.Nivcsw,
	}, nil
}

// Sub returns u - o.
func (u Usage) Sub(o Usage) Usage {
	return Usage{u.UserNs - o.UserNs, u.SysNs - o.SysNs, u.Nvcsw - o.Nvcsw, u.Nivcsw - o.Nivcsw}
}

// Add returns u + o.
func (u Usage) Add(o Usage) Usage {
	return Usage{u.UserNs + o.UserNs, u.SysNs + o.SysNs, u.Nvcsw + o.Nvcsw, u.Nivcsw + o.Nivcsw}
}

// CPUNs is user plus system time.
func (u Usage) CPUNs() int64 { return u.UserNs + u.SysNs }
