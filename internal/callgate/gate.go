// Package callgate lets Close wait for in-flight calls before releasing the
// kernel objects they use.
//
// Closing an epoll (or AIO, or io_uring) fd while another thread sleeps in it
// does not wake that thread, and a closed fd number can be reused at once by
// an unrelated open. So a backend's Close marks the gate closed, wakes the
// waiter, waits for every caller inside the gate to leave, and only then
// closes its fds.
package callgate

import (
	"runtime"
	"sync/atomic"
	"time"
)

const closedBit = 1 << 62

// Gate counts callers inside and records closure in one word, so entering
// costs one atomic add and closure cannot slip between a check and an entry.
type Gate struct {
	state atomic.Int64
}

// Enter admits a caller; it returns false once the gate is closed.
func (g *Gate) Enter() bool {
	// The add both registers us and reads the closed bit atomically; it
	// pairs with the CAS in Close: either Close sees our count or we see its bit.
	if g.state.Add(1)&closedBit != 0 {
		g.state.Add(-1)
		return false
	}
	return true
}

// Exit ends a caller's stay.
func (g *Gate) Exit() { g.state.Add(-1) }

// Closed reports whether Close has been called; callers inside check it after
// every return from the kernel.
func (g *Gate) Closed() bool { return g.state.Load()&closedBit != 0 }

// Close marks the gate closed and reports whether this call did it (false:
// already closed).
func (g *Gate) Close() bool {
	for {
		v := g.state.Load()
		if v&closedBit != 0 {
			return false
		}
		if g.state.CompareAndSwap(v, v|closedBit) {
			return true
		}
	}
}

// Idle reports whether no call is inside the gate.
func (g *Gate) Idle() bool { return g.state.Load()&^closedBit == 0 }

// WaitIdle returns once no caller is inside. The caller must have woken any
// sleeper first.
func (g *Gate) WaitIdle() {
	for i := 0; g.state.Load()&^closedBit != 0; i++ {
		if i < 100 {
			runtime.Gosched()
		} else {
			time.Sleep(50 * time.Microsecond)
		}
	}
}
