package notify

import "kbench/internal/rusage"

// HelperThread is implemented by a backend whose instance may run a
// kernel-side helper thread of its own (kevent's emulated hook thread,
// io_uring's SQPOLL thread) whose CPU belongs in a row's totals.
type HelperThread interface {
	// HasHelper reports whether this instance runs one.
	HasHelper() bool
	// HelperUsage is the helper thread's CPU and context switches so far.
	HelperUsage() rusage.Usage
}

// HasHelper reports whether n runs a helper thread.
func HasHelper(n Notifier) bool {
	h, ok := n.(HelperThread)
	return ok && h.HasHelper()
}
