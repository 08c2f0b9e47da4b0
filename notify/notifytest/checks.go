package notifytest

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"kbench/notify"
)

var checks = []check{
	{"ReadableAfterWrite", readableAfterWrite},
	{"TokensIntact", tokensIntact},
	{"WritableInterest", writableInterest},
	{"NothingAfterDrain", nothingAfterDrain},
	{"LevelReportsUntilDrained", levelReportsUntilDrained},
	{"EdgeReportsOncePerTransition", edgeOncePerTransition},
	{"EdgeReadyStateReportedOnce", edgeReadyStateOnce},
	{"OneshotNeedsRearm", oneshotNeedsRearm},
	{"MultishotStaysArmed", multishotStaysArmed},
	{"RemoveStopsDelivery", removeStopsDelivery},
	{"RemovePendingNotDelivered", removePending},
	{"MinHonoured", minHonoured},
	{"MinZeroNeverBlocks", minZeroNeverBlocks},
	{"TimeoutZeroReturnsAtOnce", timeoutZero},
	{"TimeoutBounded", timeoutBounded},
	{"WakeUnblocksWait", wakeUnblocks},
	{"WakeBeforeWait", wakeBeforeWait},
	{"CloseUnblocksWait", closeUnblocks},
	{"SecondCloseFails", secondClose},
	{"RegistrationErrors", registrationErrors},
	{"UnsupportedTriggerRefused", unsupportedRefused},
	{"ExactlyOnceUnderLoad", exactlyOnceUnderLoad},
	{"UserSources", userSources},
	{"WaitAllocatesNothing", waitAllocs},
	{"SharedWaitersWakePolicy", sharedWaiters},
	{"SharedWaitersExactlyOnce", sharedExactlyOnce},
}

func readableAfterWrite(c *C, open Opener) {
	n := openOrSkip(c, open)
	for _, tr := range supported(n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot) {
		fd := eventfd(c)
		if err := n.Add(fd, 42, notify.Readable, tr); err != nil {
			c.Fatalf("%v: Add: %v", tr, err)
		}
		fire(c, fd)
		ev := collect(c, n, 1)
		if ev[0].Token != 42 || ev[0].Ready&notify.Readable == 0 {
			c.Errorf("%v: got %+v, want token 42 readable", tr, ev[0])
		}
		drain(c, fd)
		if err := n.Remove(fd); err != nil {
			c.Errorf("%v: Remove: %v", tr, err)
		}
		// A Remove may leave a completion of the removed source in flight
		// (AIO, io_uring); let it settle so the next trigger starts clean.
		none(c, n, tr.String()+" after remove")
	}
}

func tokensIntact(c *C, open Opener) {
	n := openOrSkip(c, open)
	tr := anyTrigger(c, n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot)
	want := map[uint64]bool{0: true, 1<<63 | 0xdeadbeef: true, ^uint64(0): true, 0x0123456789abcdef: true}
	for tok := range want {
		fd := eventfd(c)
		if err := n.Add(fd, tok, notify.Readable, tr); err != nil {
			c.Fatalf("Add: %v", err)
		}
		fire(c, fd)
	}
	seen := map[uint64]bool{}
	for _, e := range collect(c, n, len(want)) {
		if !want[e.Token] {
			c.Errorf("token %#x was never registered", e.Token)
		}
		seen[e.Token] = true
	}
	if len(seen) != len(want) {
		c.Errorf("saw tokens %v, want all of %v", seen, want)
	}
}

func writableInterest(c *C, open Opener) {
	n := openOrSkip(c, open)
	if n.Caps().Interests&notify.Writable == 0 {
		c.Skipf("backend does not accept Writable interest")
	}
	tr := anyTrigger(c, n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot)
	fd := eventfd(c) // an eventfd is writable while its counter is below max
	if err := n.Add(fd, 7, notify.Writable, tr); err != nil {
		c.Fatalf("Add: %v", err)
	}
	ev := collect(c, n, 1)
	if ev[0].Token != 7 || ev[0].Ready&notify.Writable == 0 {
		c.Errorf("got %+v, want token 7 writable", ev[0])
	}
}

func nothingAfterDrain(c *C, open Opener) {
	n := openOrSkip(c, open)
	for _, tr := range supported(n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot) {
		fd := eventfd(c)
		if err := n.Add(fd, 1, notify.Readable, tr); err != nil {
			c.Fatalf("%v: Add: %v", tr, err)
		}
		fire(c, fd)
		collect(c, n, 1)
		drain(c, fd)
		none(c, n, tr.String()+" after drain")
		if err := n.Remove(fd); err != nil {
			c.Errorf("%v: Remove: %v", tr, err)
		}
		none(c, n, tr.String()+" after remove")
	}
}

func levelReportsUntilDrained(c *C, open Opener) {
	n := openOrSkip(c, open)
	anyTrigger(c, n, notify.Level)
	fd := eventfd(c)
	if err := n.Add(fd, 5, notify.Readable, notify.Level); err != nil {
		c.Fatalf("Add: %v", err)
	}
	fire(c, fd)
	for i := 0; i < 3; i++ {
		ev := collect(c, n, 1)
		if ev[0].Token != 5 {
			c.Fatalf("report %d: token %d, want 5", i, ev[0].Token)
		}
	}
	drain(c, fd)
	none(c, n, "level after drain")
}

func edgeOncePerTransition(c *C, open Opener) {
	n := openOrSkip(c, open)
	anyTrigger(c, n, notify.Edge)
	fd := eventfd(c)
	if err := n.Add(fd, 5, notify.Readable, notify.Edge); err != nil {
		c.Fatalf("Add: %v", err)
	}
	fire(c, fd)
	collect(c, n, 1)
	none(c, n, "edge without a new transition")
	drain(c, fd)
	fire(c, fd)
	if ev := collect(c, n, 1); ev[0].Token != 5 {
		c.Errorf("second edge: token %d, want 5", ev[0].Token)
	}
}

// edgeReadyStateOnce: readiness that is there when a registration starts
// (an fd readable before Add, an fd writable when Modify adds Writable to
// its interest) is one state, reported once. A backend that learns it both
// from its own check and from a later notification reports it twice; the
// race is narrow (it was lost in half the rounds or more), so the check
// repeats.
func edgeReadyStateOnce(c *C, open Opener) {
	n := openOrSkip(c, open)
	anyTrigger(c, n, notify.Edge)
	for i := 0; i < 8; i++ {
		fd := eventfd(c)
		fire(c, fd)
		if err := n.Add(fd, 4, notify.Readable, notify.Edge); err != nil {
			c.Fatalf("Add: %v", err)
		}
		collect(c, n, 1)
		none(c, n, "an fd readable at Add, after its one report")
		drain(c, fd)
		none(c, n, "after drain")
		// Writable was there all along (an eventfd below its maximum).
		if err := n.Modify(fd, 4, notify.Readable|notify.Writable, notify.Edge); err != nil {
			c.Fatalf("Modify: %v", err)
		}
		if ev := collect(c, n, 1); ev[0].Ready&notify.Writable == 0 {
			c.Errorf("after adding Writable: ready %v, want Writable", ev[0].Ready)
		}
		none(c, n, "an fd writable when Modify added Writable, after its one report")
		if err := n.Remove(fd); err != nil {
			c.Fatalf("Remove: %v", err)
		}
	}
}

func oneshotNeedsRearm(c *C, open Opener) {
	n := openOrSkip(c, open)
	anyTrigger(c, n, notify.Oneshot)
	fd := eventfd(c)
	if err := n.Add(fd, 9, notify.Readable, notify.Oneshot); err != nil {
		c.Fatalf("Add: %v", err)
	}
	fire(c, fd)
	collect(c, n, 1)
	drain(c, fd)
	fire(c, fd)
	none(c, n, "oneshot before rearm")
	if err := n.Modify(fd, 10, notify.Readable, notify.Oneshot); err != nil {
		c.Fatalf("Modify (rearm): %v", err)
	}
	ev := collect(c, n, 1)
	if ev[0].Token != 10 {
		c.Errorf("after rearm with a new token: got token %d, want 10", ev[0].Token)
	}
	drain(c, fd)
	none(c, n, "oneshot after second delivery")
}

func multishotStaysArmed(c *C, open Opener) {
	n := openOrSkip(c, open)
	anyTrigger(c, n, notify.Multishot)
	fd := eventfd(c)
	if err := n.Add(fd, 3, notify.Readable, notify.Multishot); err != nil {
		c.Fatalf("Add: %v", err)
	}
	for i := 0; i < 3; i++ {
		fire(c, fd)
		if ev := collect(c, n, 1); ev[0].Token != 3 {
			c.Fatalf("wakeup %d: token %d, want 3", i, ev[0].Token)
		}
		drain(c, fd)
		none(c, n, "multishot after drain")
	}
}

func removeStopsDelivery(c *C, open Opener) {
	n := openOrSkip(c, open)
	for _, tr := range supported(n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot) {
		fd := eventfd(c)
		if err := n.Add(fd, 11, notify.Readable, tr); err != nil {
			c.Fatalf("%v: Add: %v", tr, err)
		}
		if err := n.Remove(fd); err != nil {
			c.Fatalf("%v: Remove: %v", tr, err)
		}
		fire(c, fd)
		none(c, n, tr.String()+" fired after Remove")
	}
}

func removePending(c *C, open Opener) {
	n := openOrSkip(c, open)
	for _, tr := range supported(n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot) {
		fd := eventfd(c)
		if err := n.Add(fd, 12, notify.Readable, tr); err != nil {
			c.Fatalf("%v: Add: %v", tr, err)
		}
		fire(c, fd)
		// Give an asynchronous backend time to queue the completion, so the
		// Remove below races with an event that is already pending.
		time.Sleep(5 * time.Millisecond)
		if err := n.Remove(fd); err != nil {
			c.Fatalf("%v: Remove: %v", tr, err)
		}
		none(c, n, tr.String()+" pending before Remove")
	}
}

func minHonoured(c *C, open Opener) {
	n := openOrSkip(c, open)
	// Level sources would be re-reported while Wait accumulates; use a
	// trigger that reports each source once.
	tr := anyTrigger(c, n, notify.Edge, notify.Oneshot, notify.Multishot)
	fds := []int{eventfd(c), eventfd(c), eventfd(c)}
	for i, fd := range fds {
		if err := n.Add(fd, uint64(i), notify.Readable, tr); err != nil {
			c.Fatalf("Add: %v", err)
		}
	}
	ev := make([]notify.Event, 3)
	fire(c, fds[0])
	fire(c, fds[1])
	start := time.Now()
	k, err := n.Wait(ev, 3, 100*time.Millisecond)
	el := time.Since(start)
	if err != nil {
		c.Fatalf("Wait: %v", err)
	}
	if k > 2 {
		c.Errorf("Wait returned %d events with only 2 sources ready", k)
	}
	if el < 80*time.Millisecond {
		c.Errorf("Wait(min=3) returned after %v with %d events: it did not wait for min", el, k)
	}
	got := k
	// The third arrives while a Wait(min=3-got) blocks. The writer is
	// waited for before the eventfds close, so that it never writes to a
	// descriptor number that a later check has reused.
	wrote := make(chan struct{})
	c.Cleanup(func() { <-wrote })
	go func() {
		defer close(wrote)
		time.Sleep(20 * time.Millisecond)
		var b [8]byte
		b[0] = 1
		writeFD(fds[2], b[:])
	}()
	k, err = n.Wait(ev[got:], 3-got, 5*time.Second)
	if err != nil {
		c.Fatalf("second Wait: %v", err)
	}
	if got+k != 3 {
		c.Errorf("collected %d events in total, want 3", got+k)
	}
	ev2 := make([]notify.Event, 4)
	for _, fd := range fds {
		drain(c, fd)
	}
	if tr == notify.Oneshot {
		for i, fd := range fds {
			n.Modify(fd, uint64(i), notify.Readable, tr)
		}
	}
	// min=2 with 3 ready and room for 4: returns 2 or 3, never fewer.
	for _, fd := range fds {
		fire(c, fd)
	}
	seen := 0
	for seen < 2 {
		k, err = n.Wait(ev2[seen:], 2-seen, 5*time.Second)
		if err != nil || k == 0 {
			c.Fatalf("Wait(min=2): k=%d err=%v", k, err)
		}
		seen += k
	}
}

func minZeroNeverBlocks(c *C, open Opener) {
	n := openOrSkip(c, open)
	ev := make([]notify.Event, 4)
	start := time.Now()
	k, err := n.Wait(ev, 0, notify.Forever)
	if err != nil || k != 0 {
		c.Errorf("Wait(min=0) on nothing: k=%d err=%v", k, err)
	}
	if el := time.Since(start); el > time.Second {
		c.Errorf("Wait(min=0, forever) blocked for %v", el)
	}
	if _, err := n.Wait(ev[:1], 2, 0); !errors.Is(err, notify.ErrInvalid) {
		c.Errorf("Wait(min > len(events)) = %v, want ErrInvalid", err)
	}
}

func timeoutZero(c *C, open Opener) {
	n := openOrSkip(c, open)
	tr := anyTrigger(c, n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot)
	fd := eventfd(c)
	if err := n.Add(fd, 1, notify.Readable, tr); err != nil {
		c.Fatalf("Add: %v", err)
	}
	ev := make([]notify.Event, 4)
	start := time.Now()
	k, err := n.Wait(ev, 1, 0)
	if err != nil || k != 0 {
		c.Errorf("Wait(timeout=0) on nothing: k=%d err=%v", k, err)
	}
	if el := time.Since(start); el > 20*time.Millisecond {
		c.Errorf("Wait(timeout=0) took %v", el)
	}
}

func timeoutBounded(c *C, open Opener) {
	n := openOrSkip(c, open)
	ev := make([]notify.Event, 4)
	for _, d := range []time.Duration{20 * time.Millisecond, 500 * time.Microsecond} {
		start := time.Now()
		k, err := n.Wait(ev, 1, d)
		el := time.Since(start)
		if err != nil || k != 0 {
			c.Errorf("Wait(%v) on nothing: k=%d err=%v", d, k, err)
		}
		// Lower bound: a timeout must not end early by more than the clock's
		// slack. Upper bound: generous for a shared machine, but it catches a
		// sub-millisecond timeout rounded to a blocking wait.
		if el < d*8/10 {
			c.Errorf("Wait(%v) returned after only %v", d, el)
		}
		if el > d+200*time.Millisecond {
			c.Errorf("Wait(%v) returned after %v", d, el)
		}
	}
}

// Wait stays on the check's goroutine (the collector); Wake and Close come
// from another one, as the contract allows.
func wakeUnblocks(c *C, open Opener) {
	n := openOrSkip(c, open)
	ev := make([]notify.Event, 4)
	wakeErr := make(chan error, 1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		wakeErr <- n.Wake()
	}()
	start := time.Now()
	if _, err := n.Wait(ev, 1, 10*time.Second); err != nil {
		c.Errorf("woken Wait returned %v", err)
	}
	if err := <-wakeErr; err != nil {
		c.Errorf("Wake: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		c.Errorf("Wake did not unblock Wait: it returned after %v", el)
	}
}

func wakeBeforeWait(c *C, open Opener) {
	n := openOrSkip(c, open)
	if err := n.Wake(); err != nil {
		c.Fatalf("Wake: %v", err)
	}
	ev := make([]notify.Event, 4)
	start := time.Now()
	if _, err := n.Wait(ev, 1, 5*time.Second); err != nil {
		c.Errorf("Wait after Wake: %v", err)
	}
	if el := time.Since(start); el > time.Second {
		c.Errorf("a Wake before Wait was lost: Wait blocked %v", el)
	}
}

func closeUnblocks(c *C, open Opener) {
	n := openOrSkip(c, open)
	ev := make([]notify.Event, 4)
	closeErr := make(chan error, 1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		closeErr <- n.Close()
	}()
	start := time.Now()
	if _, err := n.Wait(ev, 1, 10*time.Second); !errors.Is(err, notify.ErrClosed) {
		c.Errorf("Wait during Close returned %v, want ErrClosed", err)
	}
	if err := <-closeErr; err != nil {
		c.Errorf("Close: %v", err)
	}
	if el := time.Since(start); el > 5*time.Second {
		c.Errorf("Close did not unblock Wait: it returned after %v", el)
	}
}

func secondClose(c *C, open Opener) {
	n := openOrSkip(c, open)
	if err := n.Close(); err != nil {
		c.Fatalf("first Close: %v", err)
	}
	if err := n.Close(); !errors.Is(err, notify.ErrClosed) {
		c.Errorf("second Close = %v, want ErrClosed", err)
	}
	fd := eventfd(c)
	if err := n.Add(fd, 1, notify.Readable, notify.Level); !errors.Is(err, notify.ErrClosed) {
		c.Errorf("Add after Close = %v, want ErrClosed", err)
	}
	if _, err := n.Wait(make([]notify.Event, 1), 1, 0); !errors.Is(err, notify.ErrClosed) {
		c.Errorf("Wait after Close = %v, want ErrClosed", err)
	}
}

func registrationErrors(c *C, open Opener) {
	n := openOrSkip(c, open)
	tr := anyTrigger(c, n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot)
	fd := eventfd(c)
	if err := n.Add(fd, 1, 0, tr); !errors.Is(err, notify.ErrInvalid) {
		c.Errorf("Add with empty interest = %v, want ErrInvalid", err)
	}
	if err := n.Add(fd, 1, notify.Readable, tr); err != nil {
		c.Fatalf("Add: %v", err)
	}
	if err := n.Add(fd, 1, notify.Readable, tr); !errors.Is(err, os.ErrExist) {
		c.Errorf("second Add of one fd = %v, want os.ErrExist", err)
	}
	other := eventfd(c)
	if err := n.Modify(other, 1, notify.Readable, tr); !errors.Is(err, os.ErrNotExist) {
		c.Errorf("Modify of an unregistered fd = %v, want os.ErrNotExist", err)
	}
	if err := n.Remove(other); !errors.Is(err, os.ErrNotExist) {
		c.Errorf("Remove of an unregistered fd = %v, want os.ErrNotExist", err)
	}
}

func unsupportedRefused(c *C, open Opener) {
	n := openOrSkip(c, open)
	caps := n.Caps()
	for tr := notify.Level; tr <= notify.Multishot; tr++ {
		if caps.Triggers.Has(tr) {
			continue
		}
		fd := eventfd(c)
		if err := n.Add(fd, 1, notify.Readable, tr); !errors.Is(err, errors.ErrUnsupported) {
			c.Errorf("Add with unsupported trigger %v = %v, want errors.ErrUnsupported", tr, err)
		}
	}
	if caps.Native&^caps.Triggers != 0 {
		c.Errorf("Caps.Native %v is not a subset of Caps.Triggers %v", caps.Native, caps.Triggers)
	}
}

// exactlyOnceUnderLoad storms many sources from another goroutine and checks
// that every firing is collected once: the eventfd counters sum to the number
// of writes, and Wait never reports a token that was not registered.
func exactlyOnceUnderLoad(c *C, open Opener) {
	n := openOrSkip(c, open)
	// One deadline for every trigger, inside runCheck's bound, so that a
	// backend that loses events fails here rather than by overrunning.
	deadline := time.Now().Add(15 * time.Second)
	for _, tr := range supported(n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot) {
		const sources, fires = 64, 20000
		fds := make([]int, sources)
		for i := range fds {
			fds[i] = eventfd(c)
			if err := n.Add(fds[i], uint64(i), notify.Readable, tr); err != nil {
				c.Fatalf("%v: Add: %v", tr, err)
			}
		}
		// The writer stops and is waited for before the eventfds close
		// (cleanups run last registered first), even when a Fatalf ends
		// the check early: it must never write to a reused descriptor.
		var wg sync.WaitGroup
		var stop atomic.Bool
		wg.Add(1)
		c.Cleanup(func() { stop.Store(true); wg.Wait() })
		go func() {
			defer wg.Done()
			var b [8]byte
			b[0] = 1
			for i := 0; i < fires && !stop.Load(); i++ {
				writeFD(fds[(i*7)%sources], b[:])
			}
		}()
		ev := make([]notify.Event, 32)
		var got uint64
		for got < fires && time.Now().Before(deadline) {
			k, err := n.Wait(ev, 1, 100*time.Millisecond)
			if err != nil {
				c.Fatalf("%v: Wait: %v", tr, err)
			}
			for _, e := range ev[:k] {
				if e.Token >= sources {
					c.Fatalf("%v: unknown token %d", tr, e.Token)
				}
				got += drain(c, fds[e.Token])
				if tr == notify.Oneshot {
					if err := n.Modify(fds[e.Token], e.Token, notify.Readable, tr); err != nil {
						c.Fatalf("%v: rearm: %v", tr, err)
					}
				}
			}
		}
		wg.Wait()
		if got != fires {
			c.Errorf("%v: collected %d firings, want %d", tr, got, fires)
		}
		for _, fd := range fds {
			if err := n.Remove(fd); err != nil {
				c.Errorf("%v: Remove: %v", tr, err)
			}
		}
		none(c, n, tr.String()+" after removing all")
	}
}

func userSources(c *C, open Opener) {
	n := openOrSkip(c, open)
	us, ok := n.(notify.UserSources)
	if !n.Caps().UserSources {
		c.Skipf("backend has no user sources")
	}
	if !ok {
		c.Fatalf("Caps.UserSources is set but the Notifier does not implement UserSources")
	}
	tr := anyTrigger(c, n, notify.Level, notify.Edge, notify.Oneshot)
	id, err := us.AddUser(77, tr)
	if err != nil {
		c.Fatalf("AddUser: %v", err)
	}
	if err := us.Fire(id); err != nil {
		c.Fatalf("Fire: %v", err)
	}
	if ev := collect(c, n, 1); ev[0].Token != 77 {
		c.Errorf("user event token %d, want 77", ev[0].Token)
	}
	none(c, n, "user source after delivery")
	if err := us.Fire(id); err != nil {
		c.Fatalf("Fire: %v", err)
	}
	if err := us.RemoveUser(id); err != nil {
		c.Fatalf("RemoveUser: %v", err)
	}
	none(c, n, "user source fired then removed")
}

func waitAllocs(c *C, open Opener) {
	n := openOrSkip(c, open)
	tr := anyTrigger(c, n, notify.Level, notify.Multishot, notify.Edge, notify.Oneshot)
	fd := eventfd(c)
	if err := n.Add(fd, 1, notify.Readable, tr); err != nil {
		c.Fatalf("Add: %v", err)
	}
	ev := make([]notify.Event, 8)
	var b [8]byte
	b[0] = 1
	allocs := testing.AllocsPerRun(200, func() {
		writeFD(fd, b[:])
		k, _ := n.Wait(ev, 1, time.Second)
		if k > 0 {
			readFD(fd, b[:])
			b[0] = 1
			if tr == notify.Oneshot {
				n.Modify(fd, 1, notify.Readable, tr)
			}
		}
	})
	if allocs != 0 {
		c.Errorf("Wait loop allocates %.1f times per event, want 0", allocs)
	}
}
