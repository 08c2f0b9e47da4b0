//go:build !kbench_inject

package epoll

// injectSlowdown is the hook through which builds tagged kbench_inject add
// a known per-event cost to Wait (inject_on.go); in every other build it is
// empty and inlined away.
func injectSlowdown(int) {}
