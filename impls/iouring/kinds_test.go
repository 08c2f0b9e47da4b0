package iouring

import (
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"kbench/notify"
)

// collectKinds waits up to d for events and sums Data per token; it fails on
// an event that is not of kind k.
func collectKinds(t *testing.T, n *Notifier, k notify.Kind, d time.Duration) map[uint64]uint64 {
	t.Helper()
	got := map[uint64]uint64{}
	ev := make([]notify.Event, 8)
	end := time.Now().Add(d)
	for left := d; left > 0; left = time.Until(end) {
		m, err := n.Wait(ev, 1, left)
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		for _, e := range ev[:m] {
			if e.Kind != k || e.Ready != notify.Readable || e.Flags != 0 || e.Data == 0 {
				t.Fatalf("event %+v, want kind %v, readable, no flags, data >= 1", e, k)
			}
			got[e.Token] += e.Data
		}
	}
	return got
}

func waitOne(t *testing.T, n *Notifier, timeout time.Duration) notify.Event {
	t.Helper()
	ev := make([]notify.Event, 4)
	m, err := n.Wait(ev, 1, timeout)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if m != 1 {
		t.Fatalf("Wait returned %d events %+v, want 1", m, ev[:m])
	}
	return ev[0]
}

func TestTimerOnce(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			const d = 20 * time.Millisecond
			start := monotime()
			id, err := n.AddTimer(notify.TimerSpec{Value: d}, 7)
			if err != nil {
				t.Fatal(err)
			}
			e := waitOne(t, n, time.Second)
			if now := monotime(); now-start < int64(d) {
				t.Errorf("timer of %v reported after %v: early", d, time.Duration(now-start))
			}
			if e.Token != 7 || e.Kind != notify.KindTimer || e.Data != 1 || e.Ready != notify.Readable {
				t.Errorf("event %+v, want token 7, timer, data 1", e)
			}
			// Once: nothing more, and it stays registered until removed.
			if got := collectKinds(t, n, notify.KindTimer, 3*d); len(got) != 0 {
				t.Errorf("a one-shot timer reported again: %v", got)
			}
			if err := n.RemoveSource(id); err != nil {
				t.Errorf("RemoveSource of a delivered one-shot timer: %v", err)
			}
			if err := n.RemoveSource(id); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("second RemoveSource = %v, want ErrNotExist", err)
			}
		})
	}
}

func TestTimerAbsolute(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			// A deadline a second in the past expires at once.
			before := time.Now()
			if _, err := n.AddTimer(notify.TimerSpec{Value: time.Duration(monotime()) - time.Second, Abs: true}, 1); err != nil {
				t.Fatal(err)
			}
			if e := waitOne(t, n, 5*time.Second); e.Token != 1 || e.Data != 1 {
				t.Errorf("past deadline: event %+v, want token 1, data 1", e)
			}
			// At once: the bound leaves room for a loaded machine, and none
			// for a deadline misread as a delay (hours: the clock's value).
			if el := time.Since(before); el > time.Second {
				t.Errorf("a past absolute deadline took %v to report", el)
			}
			// A future one is never reported before it.
			deadline := monotime() + int64(15*time.Millisecond)
			if _, err := n.AddTimer(notify.TimerSpec{Value: time.Duration(deadline), Abs: true}, 2); err != nil {
				t.Fatal(err)
			}
			e := waitOne(t, n, time.Second)
			if now := monotime(); now < deadline {
				t.Errorf("absolute deadline reported %v early", time.Duration(deadline-now))
			}
			if e.Token != 2 || e.Data != 1 {
				t.Errorf("future deadline: event %+v, want token 2, data 1", e)
			}
		})
	}
}

// TestTimerPeriodicLate: a periodic timer collected late, again and again,
// reports every period that elapsed exactly once. At each collection the
// running total is bounded by the grid points before the Wait (none lost)
// and those before its return (none early, none twice).
func TestTimerPeriodicLate(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			const period = 2 * time.Millisecond
			start := monotime() + int64(3*time.Millisecond)
			id, err := n.AddTimer(notify.TimerSpec{Value: time.Duration(start), Interval: period, Abs: true}, 9)
			if err != nil {
				t.Fatal(err)
			}
			due := func(at int64) uint64 {
				if at < start {
					return 0
				}
				return uint64((at-start)/int64(period)) + 1
			}
			ev := make([]notify.Event, 4)
			var total uint64
			exact := 0
			for round := 0; round < 8; round++ {
				time.Sleep(time.Duration(5+7*round) * time.Millisecond) // late, by several periods
				before := monotime()
				m, err := n.Wait(ev, 1, time.Second)
				after := monotime()
				if err != nil || m != 1 {
					t.Fatalf("round %d: Wait = %d, %v", round, m, err)
				}
				if e := ev[0]; e.Token != 9 || e.Kind != notify.KindTimer {
					t.Fatalf("round %d: event %+v", round, e)
				}
				total += ev[0].Data
				if next := n.ksrcs[id].next; next != start+int64(total)*int64(period) {
					t.Fatalf("round %d: re-armed for %d, want the first grid point not reported, %d",
						round, next, start+int64(total)*int64(period))
				}
				lo, hi := due(before), due(after)
				if total < lo || total > hi {
					t.Fatalf("round %d: %d expirations reported in all, %d..%d were due", round, total, lo, hi)
				}
				if lo == hi {
					exact++
				}
			}
			if exact == 0 {
				t.Errorf("no round had a window without a grid point; the bounds proved nothing")
			}
			if err := n.RemoveSource(id); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTimerRemove: a removed timer reports nothing more, neither a CQE
// already in the ring nor a report still queued for want of room.
func TestTimerRemove(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			// A periodic timer whose expirations pile up uncollected.
			p, err := n.AddTimer(notify.TimerSpec{Value: time.Millisecond, Interval: time.Millisecond}, 1)
			if err != nil {
				t.Fatal(err)
			}
			// Two timers already due, collected one Wait slot at a time.
			past := time.Duration(monotime())
			a, err := n.AddTimer(notify.TimerSpec{Value: past, Abs: true}, 2)
			if err != nil {
				t.Fatal(err)
			}
			b, err := n.AddTimer(notify.TimerSpec{Value: past, Abs: true}, 3)
			if err != nil {
				t.Fatal(err)
			}
			// Submit the three without reaping anything (no room for events),
			// and let them complete: their CQEs are in the ring (or, on coop,
			// in the kernel's deferred work) before the removals.
			if _, err := n.Wait(nil, 0, 0); err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
			if err := n.RemoveSource(p); err != nil {
				t.Fatal(err)
			}
			// Its slot goes to a timer an hour away, which the removed one's
			// CQEs must not be mistaken for.
			far, err := n.AddTimer(notify.TimerSpec{Value: time.Hour}, 4)
			if err != nil {
				t.Fatal(err)
			}
			if far != p {
				t.Fatalf("new timer got id %d, not the removed %d: the test relies on slot reuse", far, p)
			}
			ev := make([]notify.Event, 1)
			var seen uint64
			for seen == 0 {
				m, err := n.Wait(ev, 1, time.Second)
				if err != nil || m != 1 {
					t.Fatalf("Wait = %d, %v", m, err)
				}
				if ev[0].Token == 1 || ev[0].Token == 4 {
					t.Fatalf("removed periodic timer reported: %+v", ev[0])
				}
				seen = ev[0].Token
			}
			other := map[uint64]int{2: b, 3: a}[seen]
			if !n.ksrcs[other].queued {
				t.Fatalf("the second due timer is not waiting for room; the test cannot check its removal")
			}
			if err := n.RemoveSource(other); err != nil {
				t.Fatal(err)
			}
			if got := collectKinds(t, n, notify.KindTimer, 30*time.Millisecond); len(got) != 0 {
				t.Errorf("removed timers reported: %v", got)
			}
		})
	}
}

func TestTimerInvalid(t *testing.T) {
	n := openLocked(t, Config{Setup: Plain, HelperCPU: -1})
	for _, spec := range []notify.TimerSpec{
		{},
		{Value: -1},
		{Value: notify.MaxTimerSpan + 1},
		{Value: time.Millisecond, Interval: time.Nanosecond},
		{Value: 0, Abs: true},
	} {
		if _, err := n.AddTimer(spec, 0); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("AddTimer(%+v) = %v, want ErrInvalid", spec, err)
		}
	}
}

// TestPostWakesWait: a Post from another goroutine ends a Wait blocked in
// the kernel, and concurrent Posts add up exactly.
func TestPostWakesWait(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			id, err := n.AddEvent(5)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				time.Sleep(20 * time.Millisecond)
				n.Post(id, 3)
			}()
			start := time.Now()
			e := waitOne(t, n, 5*time.Second)
			if e.Token != 5 || e.Kind != notify.KindUser || e.Data != 3 {
				t.Errorf("event %+v, want token 5, user, data 3", e)
			}
			if el := time.Since(start); el < 15*time.Millisecond || el > 2*time.Second {
				t.Errorf("Wait returned after %v; the Post came after 20ms", el)
			}

			const posters, posts = 4, 500
			var wg sync.WaitGroup
			for p := 0; p < posters; p++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 1; i <= posts; i++ {
						if err := n.Post(id, uint64(i)); err != nil {
							t.Error(err)
							return
						}
					}
				}()
			}
			want := uint64(posters * posts * (posts + 1) / 2)
			var got uint64
			ev := make([]notify.Event, 4)
			deadline := time.Now().Add(10 * time.Second)
			for got < want && time.Now().Before(deadline) {
				m, err := n.Wait(ev, 1, 100*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ev[:m] {
					if e.Token != 5 || e.Data == 0 {
						t.Fatalf("event %+v", e)
					}
					got += e.Data
				}
			}
			wg.Wait()
			got += collectKinds(t, n, notify.KindUser, 20*time.Millisecond)[5]
			if got != want {
				t.Errorf("posted %d in all, reported %d", want, got)
			}
		})
	}
}

func TestPostRemoved(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			id, err := n.AddEvent(1)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Post(id, 0); !errors.Is(err, notify.ErrInvalid) {
				t.Errorf("Post(0) = %v, want ErrInvalid", err)
			}
			// The doorbell is in the CQ ring (or on its way) when the event
			// is removed: it must not be reported.
			if err := n.Post(id, 2); err != nil {
				t.Fatal(err)
			}
			if err := n.RemoveSource(id); err != nil {
				t.Fatal(err)
			}
			if err := n.Post(id, 1); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Post after RemoveSource = %v, want ErrNotExist", err)
			}
			// A new event may reuse the slot; the old doorbell is not its.
			id2, err := n.AddEvent(2)
			if err != nil {
				t.Fatal(err)
			}
			if got := collectKinds(t, n, notify.KindUser, 30*time.Millisecond); len(got) != 0 {
				t.Errorf("removed event reported: %v (new id %d)", got, id2)
			}
			if err := n.Post(id2, 4); err != nil {
				t.Fatal(err)
			}
			if e := waitOne(t, n, time.Second); e.Token != 2 || e.Data != 4 {
				t.Errorf("event %+v, want token 2, data 4", e)
			}
		})
	}
}

func TestCapsKinds(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			c := n.Caps()
			want := notify.KindsOf(notify.KindFD, notify.KindTimer, notify.KindUser, notify.KindSignal)
			if s == SQPoll {
				want = notify.KindsOf(notify.KindFD, notify.KindTimer, notify.KindUser)
			}
			if c.Kinds != want || c.NativeKinds != notify.KindsOf(notify.KindTimer, notify.KindUser) || c.KindNote == "" {
				t.Errorf("Caps kinds %v native %v note %q", c.Kinds, c.NativeKinds, c.KindNote)
			}
			var _ notify.KindSources = n
		})
	}
}

// TestKindsShareWait: descriptors and kind sources come through one Wait; a
// report that finds no room waits for the next Wait, whole and once.
func TestKindsShareWait(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			fd := eventfds(t, 1)[0]
			if err := n.Add(fd, 100, notify.Readable, notify.Multishot); err != nil {
				t.Fatal(err)
			}
			ids := make([]int, 3)
			for i := range ids {
				var err error
				if ids[i], err = n.AddEvent(uint64(i)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := n.AddTimer(notify.TimerSpec{Value: time.Duration(monotime()), Abs: true}, 50); err != nil {
				t.Fatal(err)
			}
			if _, err := n.Wait(nil, 0, 0); err != nil { // submit the poll and the timer
				t.Fatal(err)
			}
			for i, id := range ids {
				for k := 0; k <= i; k++ {
					if err := n.Post(id, 10); err != nil {
						t.Fatal(err)
					}
				}
			}
			fire(fd)
			want := map[uint64]notify.Event{
				0:   {Token: 0, Ready: notify.Readable, Kind: notify.KindUser, Data: 10},
				1:   {Token: 1, Ready: notify.Readable, Kind: notify.KindUser, Data: 20},
				2:   {Token: 2, Ready: notify.Readable, Kind: notify.KindUser, Data: 30},
				50:  {Token: 50, Ready: notify.Readable, Kind: notify.KindTimer, Data: 1},
				100: {Token: 100, Ready: notify.Readable, Kind: notify.KindFD},
			}
			ev := make([]notify.Event, 1)
			deadline := time.Now().Add(5 * time.Second)
			for len(want) > 0 && time.Now().Before(deadline) {
				m, err := n.Wait(ev, 1, time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if m == 0 {
					continue
				}
				w, ok := want[ev[0].Token]
				if !ok || ev[0] != w {
					t.Fatalf("event %+v, want one of %v", ev[0], want)
				}
				delete(want, ev[0].Token)
			}
			if len(want) > 0 {
				t.Fatalf("never reported: %v", want)
			}
			if got := collectKinds(t, n, notify.KindUser, 20*time.Millisecond); len(got) != 0 {
				t.Errorf("reported again: %v", got)
			}
		})
	}
}

// TestTimerOneEnterPerExpiration: a collector that blocks for each
// expiration of a periodic timer makes one io_uring_enter per delivery: the
// Wait that reaps a CQE after blocking returns without submitting, so the
// re-arm rides on the next Wait's enter.
func TestTimerOneEnterPerExpiration(t *testing.T) {
	for _, s := range []Setup{Plain, Coop} {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			const period = 3 * time.Millisecond
			if _, err := n.AddTimer(notify.TimerSpec{Value: period, Interval: period}, 1); err != nil {
				t.Fatal(err)
			}
			ev := make([]notify.Event, 4)
			waitTimer := func() {
				if m, err := n.Wait(ev, 1, time.Second); err != nil || m != 1 || ev[0].Token != 1 {
					t.Fatalf("Wait = %d, %v, %+v", m, err, ev[:m])
				}
			}
			waitTimer()
			before := n.Syscalls()
			const rounds = 20
			var delivered uint64
			for i := 0; i < rounds; i++ {
				waitTimer()
				delivered += ev[0].Data
			}
			d := n.Syscalls().Sub(before)
			// Two enters of slack: one interrupted by a signal (the Go
			// runtime's preemption) is entered again; a re-arm per
			// expiration would make twice as many.
			if d[notify.CallSubmit] != 0 || d.Total() > rounds+2 {
				t.Errorf("%d Waits (%d expirations) made %v system calls, want one wait each and no submit", rounds, delivered, d.Map())
			}
		})
	}
}
