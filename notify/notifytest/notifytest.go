// Package notifytest is the conformance suite every backend runs from its own
// tests:
//
//	func TestConformance(t *testing.T) {
//		notifytest.Run(t, func() (notify.Notifier, error) { return epoll.New(epoll.Options{}) })
//	}
//
// Each check is a plain function over a recorder rather than *testing.T, so
// that Failures can run the suite against a deliberately broken backend and
// prove that the suite fails it.
package notifytest

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// Opener makes a fresh Notifier for one check.
type Opener func() (notify.Notifier, error)

// C records one check's outcome.
type C struct {
	mu      sync.Mutex
	errs    []string
	skipped string
	cleanup []func()
}

// Errorf records a failure and goes on.
func (c *C) Errorf(format string, args ...any) {
	c.mu.Lock()
	c.errs = append(c.errs, fmt.Sprintf(format, args...))
	c.mu.Unlock()
}

// Fatalf records a failure and ends the check.
func (c *C) Fatalf(format string, args ...any) {
	c.Errorf(format, args...)
	runtime.Goexit()
}

// Skipf ends the check as skipped with a reason.
func (c *C) Skipf(format string, args ...any) {
	c.mu.Lock()
	c.skipped = fmt.Sprintf(format, args...)
	c.mu.Unlock()
	runtime.Goexit()
}

// Cleanup runs f when the check ends, last registered first.
func (c *C) Cleanup(f func()) { c.cleanup = append(c.cleanup, f) }

type check struct {
	name string
	fn   func(c *C, open Opener)
}

// Checks lists the suite's check names, in order.
func Checks() []string {
	names := make([]string, len(checks))
	for i, ck := range checks {
		names[i] = ck.name
	}
	return names
}

func runCheck(ck check, open Opener) *C {
	c := &C{}
	done := make(chan struct{})
	go func() {
		// Each check runs on a locked OS thread: backends bound to their
		// creating thread (io_uring SINGLE_ISSUER|DEFER_TASKRUN) see one
		// task, as a workload's pinned consumer would give them.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		defer close(done)
		defer func() {
			for i := len(c.cleanup) - 1; i >= 0; i-- {
				c.cleanup[i]()
			}
		}()
		ck.fn(c, open)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		c.Errorf("check did not finish within 20s (a Wait that never returns?)")
	}
	return c
}

// Run runs every check as a subtest of t.
func Run(t *testing.T, open Opener) {
	t.Helper()
	for _, ck := range checks {
		t.Run(ck.name, func(t *testing.T) {
			c := runCheck(ck, open)
			c.mu.Lock()
			defer c.mu.Unlock()
			for _, e := range c.errs {
				t.Error(e)
			}
			if c.skipped != "" && len(c.errs) == 0 {
				t.Skip(c.skipped)
			}
		})
	}
}

// Failures runs the suite outside the testing package and returns, per
// failed check, its failure messages. A check that skipped is absent. With
// names, only the checks so named run.
func Failures(open Opener, names ...string) map[string][]string {
	out := make(map[string][]string)
	for _, ck := range checks {
		if len(names) > 0 && !slices.Contains(names, ck.name) {
			continue
		}
		c := runCheck(ck, open)
		// A check that overran its bound may still be running and
		// recording: read under the lock.
		c.mu.Lock()
		if len(c.errs) > 0 {
			out[ck.name] = append([]string(nil), c.errs...)
		}
		c.mu.Unlock()
	}
	return out
}

// Summary formats Failures for a test log.
func Summary(f map[string][]string) string {
	var names []string
	for n := range f {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s: %s\n", n, strings.Join(f[n], "; "))
	}
	return b.String()
}

// --- helpers shared by the checks ---

func openOrSkip(c *C, open Opener) notify.Notifier {
	n, err := open()
	if err != nil {
		if notify.IsUnavailable(err) {
			c.Skipf("backend unavailable: %v", err)
		}
		c.Fatalf("open: %v", err)
	}
	c.Cleanup(func() { n.Close() })
	return n
}

func eventfd(c *C) int {
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		c.Fatalf("eventfd: %v", err)
	}
	c.Cleanup(func() { unix.Close(fd) })
	return fd
}

// fire adds one to the eventfd counter, making it readable.
func fire(c *C, fd int) {
	var b [8]byte
	b[0] = 1
	if _, err := unix.Write(fd, b[:]); err != nil {
		c.Fatalf("eventfd write: %v", err)
	}
}

// drain empties the eventfd and returns the count it held (0 if empty).
func drain(c *C, fd int) uint64 {
	var b [8]byte
	_, err := unix.Read(fd, b[:])
	if err == unix.EAGAIN {
		return 0
	}
	if err != nil {
		c.Fatalf("eventfd read: %v", err)
	}
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// quiet is how long a check waits to conclude that nothing is coming.
const quiet = 50 * time.Millisecond

// collect waits for exactly want events (each Wait asks for what is missing)
// or fails after a generous deadline.
func collect(c *C, n notify.Notifier, want int) []notify.Event {
	ev := make([]notify.Event, want+8)
	var got []notify.Event
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want {
		left := time.Until(deadline)
		if left <= 0 {
			c.Fatalf("collected %d events, want %d (tokens %v)", len(got), want, tokens(got))
		}
		k, err := n.Wait(ev, 1, left)
		if err != nil {
			c.Fatalf("Wait: %v", err)
		}
		got = append(got, ev[:k]...)
	}
	return got
}

// none fails if any event arrives within the quiet period.
func none(c *C, n notify.Notifier, what string) {
	ev := make([]notify.Event, 8)
	k, err := n.Wait(ev, 1, quiet)
	if err != nil {
		c.Fatalf("%s: Wait: %v", what, err)
	}
	if k != 0 {
		c.Errorf("%s: got %d unexpected events %v", what, k, tokens(ev[:k]))
	}
}

func tokens(ev []notify.Event) []uint64 {
	t := make([]uint64, len(ev))
	for i, e := range ev {
		t[i] = e.Token
	}
	return t
}

// supported returns the triggers among want that the backend accepts.
func supported(n notify.Notifier, want ...notify.Trigger) []notify.Trigger {
	var out []notify.Trigger
	for _, t := range want {
		if n.Caps().Triggers.Has(t) {
			out = append(out, t)
		}
	}
	return out
}

// anyTrigger returns the first supported trigger of want, or skips.
func anyTrigger(c *C, n notify.Notifier, want ...notify.Trigger) notify.Trigger {
	s := supported(n, want...)
	if len(s) == 0 {
		c.Skipf("backend supports none of %v", want)
	}
	return s[0]
}

func isErr(err, target error) bool { return errors.Is(err, target) }
