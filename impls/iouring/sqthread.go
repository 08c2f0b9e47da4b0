package iouring

import (
	"os"
	"strconv"
	"strings"

	"kbench/internal/rusage"
	"kbench/notify"
)

// The SQPOLL thread is a kernel thread of this process ("iou-sqp-PID"), so
// its CPU time is the mechanism's cost and belongs in the totals, as kevent's
// hook thread does. getrusage cannot name another thread; /proc can, with
// clock-tick resolution (10 ms) for the user/system split, and the thread's
// CPU clock (rusage.TaskNs) gives the exact total.

const clockTickNs = 1e9 / 100 // USER_HZ is 100 on every Linux ABI

// sqTasks lists the ids of this process's SQPOLL threads.
func sqTasks() map[int]bool {
	out := map[int]bool{}
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return out
	}
	for _, e := range ents {
		comm, err := os.ReadFile("/proc/self/task/" + e.Name() + "/comm")
		if err != nil || !strings.HasPrefix(string(comm), "iou-sqp") {
			continue
		}
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			out[tid] = true
		}
	}
	return out
}

// newSQTask returns the SQPOLL thread that appeared since before, or 0.
func newSQTask(before map[int]bool) int {
	for tid := range sqTasks() {
		if !before[tid] {
			return tid
		}
	}
	return 0
}

// The SQPOLL thread is the ring's helper thread (notify.HelperThread).
var _ notify.HelperThread = (*Notifier)(nil)

// HasHelper reports whether the ring has a kernel-side thread of its own.
func (n *Notifier) HasHelper() bool { return n.setup == SQPoll }

// HelperUsage is the SQPOLL thread's CPU time so far. The thread names itself
// "iou-sqp-…" only once it first runs, which can be after io_uring_setup has
// returned, so it is looked up here until found.
func (n *Notifier) HelperUsage() rusage.Usage {
	if n.sqTID == 0 && n.sqBefore != nil {
		n.sqTID = newSQTask(n.sqBefore)
	}
	if n.sqTID == 0 {
		return rusage.Usage{}
	}
	b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(n.sqTID) + "/stat")
	if err != nil {
		return rusage.Usage{}
	}
	// Fields after the parenthesised comm: state is field 3; utime and
	// stime are fields 14 and 15.
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return rusage.Usage{}
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	u := rusage.Usage{UserNs: ut * clockTickNs, SysNs: st * clockTickNs}
	u.ThreadNs, _ = rusage.TaskNs(n.sqTID) // 0 (tick totals) if the thread is gone
	return u
}
