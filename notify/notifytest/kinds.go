package notifytest

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// The per-kind checks (notify.KindSources). They run for every backend;
// one whose Notifier does not implement KindSources skips them with that
// reason, and a kind missing from Caps.Kinds skips its part after checking
// that it is refused as unsupported.

var kindChecks = []check{
	{"KindCaps", kindCaps},
	{"KindFDEventsReset", kindFDEventsReset},
	{"TimerNeverEarly", timerNeverEarly},
	{"TimerExpirationsExact", timerExpirationsExact},
	{"TimerAbsolutePastFiresAtOnce", timerAbsolutePast},
	{"SignalCountsRealtime", signalCountsRealtime},
	{"UserPostSums", userPostSums},
	{"UserPostWakesBlockedWait", userPostWakesBlockedWait},
	{"KindRemoveStopsDelivery", kindRemoveStops},
	{"KindBadSpecsRefused", kindBadSpecs},
	{"KindWaitAllocatesNothing", kindWaitAllocs},
}

func init() { checks = append(checks, kindChecks...) }

// KindChecks names the per-kind checks (for Failures).
func KindChecks() []string {
	names := make([]string, len(kindChecks))
	for i, ck := range kindChecks {
		names[i] = ck.name
	}
	return names
}

// kindSources returns n's KindSources or skips the check.
func kindSources(c *C, n notify.Notifier) notify.KindSources {
	ks, ok := n.(notify.KindSources)
	if !ok {
		c.Skipf("backend does not implement notify.KindSources")
	}
	return ks
}

// needKinds skips the check unless the backend takes every kind of want.
func needKinds(c *C, n notify.Notifier, want ...notify.Kind) {
	for _, k := range want {
		if !n.Caps().Kinds.Has(k) {
			c.Skipf("backend does not take %v sources (Caps.Kinds %v)", k, n.Caps().Kinds)
		}
	}
}

// mono is CLOCK_MONOTONIC, the clock of TimerSpec.
func mono(c *C) time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		c.Fatalf("clock_gettime: %v", err)
	}
	return time.Duration(ts.Nano())
}

// watchSignal locks the check's goroutine to its thread for good (the
// goroutine then exits locked and the runtime ends the thread, with the
// mask and any signal left pending on it), blocks sig there and returns
// the thread's id for RaiseSignal.
func watchSignal(c *C, sig int) int {
	runtime.LockOSThread() // never undone: see above
	if err := notify.BlockSignal(sig); err != nil {
		c.Fatalf("BlockSignal(%d): %v", sig, err)
	}
	return unix.Gettid()
}

// The real-time signals the checks use, one each, so that no check reads
// another's leftovers.
const (
	sigCount  = notify.SigRTMin + 4
	sigRemove = notify.SigRTMin + 5
	sigUnused = notify.SigRTMin + 9 // never blocked: AddSignal must refuse it
	sigAllocs = notify.SigRTMin + 10
)

// sumKind collects until the Data of token tok's events sums to at least
// want or bound passes, and returns the sum and the number of events. Any
// other token, or a kind other than kind, is a failure.
func sumKind(c *C, n notify.Notifier, tok uint64, kind notify.Kind, want uint64, bound time.Duration) (sum uint64, events int) {
	ev := make([]notify.Event, 8)
	deadline := time.Now().Add(bound)
	for sum < want {
		left := time.Until(deadline)
		if left <= 0 {
			return sum, events
		}
		k, err := n.Wait(ev, 1, left)
		if err != nil {
			c.Fatalf("Wait: %v", err)
		}
		for _, e := range ev[:k] {
			if e.Token != tok || e.Kind != kind {
				c.Errorf("got token %#x kind %v, want token %#x kind %v", e.Token, e.Kind, tok, kind)
				continue
			}
			if e.Data == 0 {
				c.Errorf("%v event with Data 0: every event reports a count >= 1", kind)
			}
			sum += e.Data
			events++
		}
	}
	return sum, events
}

func kindCaps(c *C, open Opener) {
	n := openOrSkip(c, open)
	caps := n.Caps()
	_, implements := n.(notify.KindSources)
	others := caps.Kinds &^ notify.KindsOf(notify.KindFD)
	if !implements {
		// A backend that predates source kinds may leave Caps.Kinds
		// zero; it must not claim kinds it cannot take.
		if others != 0 {
			c.Errorf("Caps.Kinds %v but the Notifier does not implement notify.KindSources", caps.Kinds)
		}
		c.Skipf("backend does not implement notify.KindSources")
	}
	switch {
	case !caps.Kinds.Has(notify.KindFD):
		c.Errorf("Caps.Kinds %v lacks fd", caps.Kinds)
	case caps.NativeKinds&^caps.Kinds != 0:
		c.Errorf("Caps.NativeKinds %v is not a subset of Caps.Kinds %v", caps.NativeKinds, caps.Kinds)
	case others == 0:
		c.Errorf("the Notifier implements notify.KindSources but Caps.Kinds is %v", caps.Kinds)
	case caps.KindNote == "" || strings.Contains(caps.KindNote, "\n"):
		c.Errorf("Caps.KindNote %q: want one line saying how the kinds are served", caps.KindNote)
	}
	ks := n.(notify.KindSources)
	// Kinds the backend leaves out are refused as unsupported.
	if !caps.Kinds.Has(notify.KindTimer) {
		if _, err := ks.AddTimer(notify.TimerSpec{Value: time.Second}, 1); !errors.Is(err, errors.ErrUnsupported) {
			c.Errorf("AddTimer without timer in Caps.Kinds = %v, want errors.ErrUnsupported", err)
		}
	}
	if !caps.Kinds.Has(notify.KindSignal) {
		if _, err := ks.AddSignal(sigUnused, 1); !errors.Is(err, errors.ErrUnsupported) {
			c.Errorf("AddSignal without signal in Caps.Kinds = %v, want errors.ErrUnsupported", err)
		}
	}
	if !caps.Kinds.Has(notify.KindUser) {
		if _, err := ks.AddEvent(1); !errors.Is(err, errors.ErrUnsupported) {
			c.Errorf("AddEvent without user in Caps.Kinds = %v, want errors.ErrUnsupported", err)
		}
	}
}

// kindFDEventsReset: the caller reuses its events slice, so an fd event
// written where a timer's event was must say KindFD and Data 0.
func kindFDEventsReset(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	needKinds(c, n, notify.KindTimer)
	tr := anyTrigger(c, n, notify.Level, notify.Edge, notify.Oneshot, notify.Multishot)
	if _, err := ks.AddTimer(notify.TimerSpec{Value: time.Millisecond}, 1); err != nil {
		c.Fatalf("AddTimer: %v", err)
	}
	ev := make([]notify.Event, 1)
	if k, err := n.Wait(ev, 1, 5*time.Second); k != 1 || err != nil || ev[0].Kind != notify.KindTimer {
		c.Fatalf("timer: Wait = %d, %v, event %+v", k, err, ev[0])
	}
	fd := eventfd(c)
	if err := n.Add(fd, 2, notify.Readable, tr); err != nil {
		c.Fatalf("Add: %v", err)
	}
	fire(c, fd)
	if k, err := n.Wait(ev, 1, 5*time.Second); k != 1 || err != nil {
		c.Fatalf("fd: Wait = %d, %v", k, err)
	}
	if ev[0].Token != 2 || ev[0].Kind != notify.KindFD || ev[0].Data != 0 {
		c.Errorf("fd event written over a timer's: %+v, want token 2, kind fd, data 0", ev[0])
	}
}

// timerNeverEarly: a relative timer is not delivered before its delay has
// passed on CLOCK_MONOTONIC (read before AddTimer, so the bound is safe),
// and a once-timer is delivered once, with Data 1, then stays quiet.
func timerNeverEarly(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	needKinds(c, n, notify.KindTimer)
	const d = 100 * time.Millisecond
	t0 := mono(c)
	id, err := ks.AddTimer(notify.TimerSpec{Value: d}, 5)
	if err != nil {
		c.Fatalf("AddTimer: %v", err)
	}
	sum, k := sumKind(c, n, 5, notify.KindTimer, 1, 5*time.Second)
	if el := mono(c) - t0; el < d {
		c.Errorf("a %v timer was delivered after %v", d, el)
	}
	if sum != 1 || k != 1 {
		c.Errorf("once-timer: %d events with Data summing to %d, want one with 1", k, sum)
	}
	none(c, n, "a once-timer after its delivery")
	if err := ks.RemoveSource(id); err != nil {
		c.Errorf("RemoveSource: %v", err)
	}
	// A periodic timer: by any time t, at most 1+(t-t0-d)/period expirations.
	const period = 20 * time.Millisecond
	t0 = mono(c)
	if _, err := ks.AddTimer(notify.TimerSpec{Value: d, Interval: period}, 6); err != nil {
		c.Fatalf("AddTimer periodic: %v", err)
	}
	sum, _ = sumKind(c, n, 6, notify.KindTimer, 1, 5*time.Second)
	el := mono(c) - t0
	if el < d {
		c.Errorf("a periodic timer due in %v was delivered after %v", d, el)
	} else if most := 1 + uint64((el-d)/period); sum > most {
		c.Errorf("periodic timer: %d expirations reported %v after arming, at most %d were due", sum, el, most)
	}
}

// timerExpirationsExact: a periodic timer on an absolute start T0 has had
// exactly 1+(t-T0)/I expirations at time t. Collected late, again and
// again, the sum of Data over deliveries must equal that count at the time
// of the read, which lies inside the Wait: at least the count when the
// Wait began and at most the count when it returned. Each Wait is meant to
// start in the middle of a period; the lower bound is taken a quarter
// period earlier, so that an expiration the kernel has not yet processed
// (a late timer interrupt, a sleep that overshot to just past a tick) is
// not held against the backend. A lost expiration stays lost in every
// later round and a doubled one stays counted, so either shows.
func timerExpirationsExact(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	needKinds(c, n, notify.KindTimer)
	const I = 20 * time.Millisecond
	T0 := mono(c) + I
	expired := func(t time.Duration) uint64 {
		if t < T0 {
			return 0
		}
		return 1 + uint64((t-T0)/I)
	}
	id, err := ks.AddTimer(notify.TimerSpec{Value: T0, Interval: I, Abs: true}, 7)
	if err != nil {
		c.Fatalf("AddTimer: %v", err)
	}
	var sum uint64
	ev := make([]notify.Event, 4)
	target := uint64(0)
	for round, late := range []uint64{1, 4, 2, 6, 1, 3} {
		target += late
		time.Sleep(T0 + time.Duration(target-1)*I + I/2 - mono(c))
		start := mono(c)
		got := false
		for !got && mono(c)-start < time.Second {
			k, err := n.Wait(ev, 1, I)
			if err != nil {
				c.Fatalf("Wait: %v", err)
			}
			for _, e := range ev[:k] {
				if e.Token != 7 || e.Kind != notify.KindTimer {
					c.Fatalf("got token %d kind %v, want the timer's 7", e.Token, e.Kind)
				}
				sum += e.Data
				got = true
			}
		}
		end := mono(c)
		if !got {
			c.Fatalf("round %d: no delivery within a second of %d due expirations", round, expired(start))
		}
		lo, hi := expired(start-I/4), expired(end)
		if sum < lo || sum > hi {
			c.Errorf("round %d (collected %d periods late): expirations reported %d in all, want %d..%d (due at the Wait's start..end)",
				round, late, sum, lo, hi)
		}
	}
	if err := ks.RemoveSource(id); err != nil {
		c.Errorf("RemoveSource: %v", err)
	}
}

// timerAbsolutePast: an absolute deadline already past expires at once; a
// periodic one reports every period elapsed since.
func timerAbsolutePast(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	needKinds(c, n, notify.KindTimer)
	start := mono(c)
	if _, err := ks.AddTimer(notify.TimerSpec{Value: start - time.Second, Abs: true}, 8); err != nil {
		c.Fatalf("AddTimer: %v", err)
	}
	sum, k := sumKind(c, n, 8, notify.KindTimer, 1, 5*time.Second)
	if el := mono(c) - start; el > 500*time.Millisecond {
		c.Errorf("a deadline 1s past was delivered after %v, not at once", el)
	}
	if sum != 1 || k != 1 {
		c.Errorf("past once-deadline: %d events with Data %d, want one with 1", k, sum)
	}
	const I = 100 * time.Millisecond
	T0 := mono(c) - time.Second
	if _, err := ks.AddTimer(notify.TimerSpec{Value: T0, Interval: I, Abs: true}, 9); err != nil {
		c.Fatalf("AddTimer periodic: %v", err)
	}
	start = mono(c)
	sum, _ = sumKind(c, n, 9, notify.KindTimer, 1, 5*time.Second)
	end := mono(c)
	if lo, hi := 1+uint64((start-time.Millisecond-T0)/I), 1+uint64((end-T0)/I); sum < lo || sum > hi {
		c.Errorf("periodic timer started 1s in the past: first delivery %d expirations, want %d..%d", sum, lo, hi)
	}
}

// signalCountsRealtime: a real-time signal raised N times at the
// collector's thread is reported with total count N, raised before Wait
// (queued, one per raise) and while Wait blocks (the raise must wake it).
func signalCountsRealtime(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	needKinds(c, n, notify.KindSignal)
	tid := watchSignal(c, sigCount)
	id, err := ks.AddSignal(sigCount, 10)
	if err != nil {
		c.Fatalf("AddSignal: %v", err)
	}
	const before, during = 5, 3
	for i := 0; i < before; i++ {
		if err := notify.RaiseSignal(tid, sigCount); err != nil {
			c.Fatalf("RaiseSignal: %v", err)
		}
	}
	if sum, _ := sumKind(c, n, 10, notify.KindSignal, before, 2*time.Second); sum != before {
		c.Errorf("%d raises of a real-time signal before Wait reported as %d", before, sum)
	}
	raised := make(chan error, 1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		for i := 0; i < during; i++ {
			if err := notify.RaiseSignal(tid, sigCount); err != nil {
				raised <- err
				return
			}
		}
		raised <- nil
	}()
	start := time.Now()
	sum, _ := sumKind(c, n, 10, notify.KindSignal, during, 2*time.Second)
	if err := <-raised; err != nil {
		c.Fatalf("RaiseSignal from another goroutine: %v", err)
	}
	if sum != during {
		c.Errorf("%d raises while Wait blocked reported as %d after %v", during, sum, time.Since(start))
	}
	none(c, n, "signal after every raise was counted")
	if err := ks.RemoveSource(id); err != nil {
		c.Errorf("RemoveSource: %v", err)
	}
}

// userPostSums: posts before a Wait sum into one count, and posts from
// several goroutines racing the collector are each counted once.
func userPostSums(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	needKinds(c, n, notify.KindUser)
	id, err := ks.AddEvent(11)
	if err != nil {
		c.Fatalf("AddEvent: %v", err)
	}
	for _, v := range []uint64{1, 2, 5} {
		if err := ks.Post(id, v); err != nil {
			c.Fatalf("Post: %v", err)
		}
	}
	if sum, k := sumKind(c, n, 11, notify.KindUser, 8, 5*time.Second); sum != 8 || k != 1 {
		c.Errorf("posts of 1, 2 and 5 before Wait: %d events summing to %d, want one of 8", k, sum)
	}
	none(c, n, "user event after its delivery")
	const posters, posts = 4, 2000
	var wg sync.WaitGroup
	c.Cleanup(wg.Wait)
	for p := 0; p < posters; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < posts; i++ {
				if ks.Post(id, 1) != nil {
					return
				}
			}
		}()
	}
	sum, _ := sumKind(c, n, 11, notify.KindUser, posters*posts, 10*time.Second)
	wg.Wait()
	if sum != posters*posts {
		c.Errorf("%d posts from %d goroutines during Waits counted %d", posters*posts, posters, sum)
	}
	none(c, n, "user event after every post was counted")
}

// userPostWakesBlockedWait: Wait(min=2) blocks on two user events that
// another goroutine posts one after the other once the Wait has started.
// Both posts must reach the blocked Wait, which returns with both; a
// backend that looks at posts only when a Wait begins never returns with
// two before the timeout.
func userPostWakesBlockedWait(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	needKinds(c, n, notify.KindUser)
	a, err := ks.AddEvent(21)
	if err != nil {
		c.Fatalf("AddEvent: %v", err)
	}
	b, err := ks.AddEvent(22)
	if err != nil {
		c.Fatalf("AddEvent: %v", err)
	}
	posted := make(chan error, 1)
	c.Cleanup(func() { <-posted })
	go func() {
		time.Sleep(30 * time.Millisecond)
		if err := ks.Post(a, 3); err != nil {
			posted <- err
			return
		}
		time.Sleep(30 * time.Millisecond)
		posted <- ks.Post(b, 4)
	}()
	const bound = 3 * time.Second
	ev := make([]notify.Event, 4)
	start := time.Now()
	k, err := n.Wait(ev, 2, bound)
	el := time.Since(start)
	if err != nil {
		c.Fatalf("Wait: %v", err)
	}
	if k < 2 {
		c.Fatalf("Wait(min=2) returned %d events after %v (bound %v): posts from another goroutine did not reach the blocked Wait", k, el, bound)
	}
	data := map[uint64]uint64{}
	for _, e := range ev[:k] {
		if e.Kind != notify.KindUser {
			c.Errorf("event %+v: kind %v, want user", e, e.Kind)
		}
		data[e.Token] += e.Data
	}
	if data[21] != 3 || data[22] != 4 || len(data) != 2 {
		c.Errorf("got Data by token %v, want 21:3 22:4", data)
	}
}

// kindRemoveStops: a removed timer, signal or user event is never
// reported afterwards, even when it was pending at RemoveSource.
func kindRemoveStops(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	caps := n.Caps()
	if caps.Kinds.Has(notify.KindTimer) {
		id, err := ks.AddTimer(notify.TimerSpec{Value: time.Millisecond}, 31)
		if err != nil {
			c.Fatalf("AddTimer: %v", err)
		}
		time.Sleep(20 * time.Millisecond) // expired: pending
		if err := ks.RemoveSource(id); err != nil {
			c.Fatalf("RemoveSource timer: %v", err)
		}
		none(c, n, "a timer removed while its expiration was pending")
		id, err = ks.AddTimer(notify.TimerSpec{Value: 2 * time.Millisecond, Interval: 2 * time.Millisecond}, 32)
		if err != nil {
			c.Fatalf("AddTimer periodic: %v", err)
		}
		if err := ks.RemoveSource(id); err != nil {
			c.Fatalf("RemoveSource periodic timer: %v", err)
		}
		none(c, n, "a periodic timer removed before it expired")
		if err := ks.RemoveSource(id); err == nil {
			c.Errorf("a second RemoveSource of one timer succeeded")
		}
	}
	if caps.Kinds.Has(notify.KindUser) {
		id, err := ks.AddEvent(33)
		if err != nil {
			c.Fatalf("AddEvent: %v", err)
		}
		if err := ks.Post(id, 1); err != nil {
			c.Fatalf("Post: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := ks.RemoveSource(id); err != nil {
			c.Fatalf("RemoveSource user event: %v", err)
		}
		none(c, n, "a user event removed while a post was pending")
		if err := ks.Post(id, 1); err == nil {
			c.Errorf("Post to a removed user event succeeded")
		}
		none(c, n, "a user event posted after its removal")
	}
	if caps.Kinds.Has(notify.KindSignal) {
		tid := watchSignal(c, sigRemove)
		id, err := ks.AddSignal(sigRemove, 34)
		if err != nil {
			c.Fatalf("AddSignal: %v", err)
		}
		if err := notify.RaiseSignal(tid, sigRemove); err != nil {
			c.Fatalf("RaiseSignal: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
		if err := ks.RemoveSource(id); err != nil {
			c.Fatalf("RemoveSource signal: %v", err)
		}
		none(c, n, "a signal removed while one was pending")
		if err := notify.RaiseSignal(tid, sigRemove); err != nil {
			c.Fatalf("RaiseSignal: %v", err)
		}
		none(c, n, "a signal raised after its removal")
	}
}

// kindBadSpecs: specs outside the contract are ErrInvalid, one line each.
func kindBadSpecs(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	caps := n.Caps()
	invalid := func(what string, err error) {
		if !errors.Is(err, notify.ErrInvalid) {
			c.Errorf("%s = %v, want an error wrapping notify.ErrInvalid", what, err)
		} else if strings.Contains(err.Error(), "\n") {
			c.Errorf("%s: error %q spans lines", what, err)
		}
	}
	if caps.Kinds.Has(notify.KindTimer) {
		for _, s := range []notify.TimerSpec{
			{Value: 0},
			{Value: -time.Second},
			{Value: notify.MaxTimerSpan + 1},
			{Value: 0, Abs: true},
			{Value: -1, Abs: true},
			{Value: time.Millisecond, Interval: notify.MinTimerPeriod - 1},
			{Value: time.Millisecond, Interval: notify.MaxTimerSpan + 1},
			{Value: time.Millisecond, Interval: -time.Millisecond},
		} {
			if s.Check() == nil {
				c.Fatalf("TimerSpec %+v passes Check: the check's table is wrong", s)
			}
			_, err := ks.AddTimer(s, 1)
			invalid(fmt.Sprintf("AddTimer(%+v)", s), err)
		}
	}
	if caps.Kinds.Has(notify.KindSignal) {
		runtime.LockOSThread() // never undone: the mask check reads this thread
		for _, sig := range []int{int(unix.SIGKILL), int(unix.SIGSTOP), 0, -1, notify.SigRTMax + 1, int(unix.SIGURG), int(unix.SIGSEGV)} {
			_, err := ks.AddSignal(sig, 1)
			invalid(fmt.Sprintf("AddSignal(%d)", sig), err)
		}
		if blocked, err := notify.SignalBlocked(sigUnused); err != nil || blocked {
			c.Fatalf("signal %d is blocked in the check's thread (%v): the check cannot test an unblocked one", sigUnused, err)
		}
		_, err := ks.AddSignal(sigUnused, 1)
		invalid("AddSignal of a signal the calling thread has not blocked", err)
	}
	if caps.Kinds.Has(notify.KindUser) {
		id, err := ks.AddEvent(1)
		if err != nil {
			c.Fatalf("AddEvent: %v", err)
		}
		invalid("Post(id, 0)", ks.Post(id, 0))
		none(c, n, "a user event after a refused Post")
	}
}

func kindWaitAllocs(c *C, open Opener) {
	n := openOrSkip(c, open)
	ks := kindSources(c, n)
	caps := n.Caps()
	ev := make([]notify.Event, 8)
	if caps.Kinds.Has(notify.KindUser) {
		id, err := ks.AddEvent(41)
		if err != nil {
			c.Fatalf("AddEvent: %v", err)
		}
		allocs := testing.AllocsPerRun(200, func() {
			if ks.Post(id, 1) == nil {
				n.Wait(ev, 1, time.Second)
			}
		})
		if allocs != 0 {
			c.Errorf("Post and Wait of a user event allocate %.1f times per event, want 0", allocs)
		}
		ks.RemoveSource(id)
	}
	if caps.Kinds.Has(notify.KindTimer) {
		id, err := ks.AddTimer(notify.TimerSpec{Value: 100 * time.Microsecond, Interval: 100 * time.Microsecond}, 42)
		if err != nil {
			c.Fatalf("AddTimer: %v", err)
		}
		allocs := testing.AllocsPerRun(100, func() { n.Wait(ev, 1, time.Second) })
		if allocs != 0 {
			c.Errorf("Wait on a periodic timer allocates %.1f times per Wait, want 0", allocs)
		}
		ks.RemoveSource(id)
	}
	if caps.Kinds.Has(notify.KindSignal) {
		tid := watchSignal(c, sigAllocs)
		id, err := ks.AddSignal(sigAllocs, 43)
		if err != nil {
			c.Fatalf("AddSignal: %v", err)
		}
		allocs := testing.AllocsPerRun(100, func() {
			if notify.RaiseSignal(tid, sigAllocs) == nil {
				n.Wait(ev, 1, time.Second)
			}
		})
		if allocs != 0 {
			c.Errorf("RaiseSignal and Wait of a signal allocate %.1f times per event, want 0", allocs)
		}
		ks.RemoveSource(id)
	}
}
