package kevent

import (
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// sleepers reads how many collectors sleep on q's futex, no wake having
// reached them yet.
func sleepers(s *Shared) int {
	s.u.lock()
	defer s.u.unlock()
	return s.u.sleepers
}

// waitSleepers waits until want collectors sleep on s (or fails).
func waitSleepers(t *testing.T, s *Shared, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for sleepers(s) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d collectors asleep, want %d", sleepers(s), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestSharedWakesEverySleeper: three waiters asleep on one queue, one
// firing. take29's wake_up wakes every sleeper of the queue's wait queue:
// one FUTEX_WAKE (CallWake 1), and the two that find the queue empty
// sleep again inside the call (two more CallWait), while exactly one
// returns, with the event. A wake of one sleeper would leave CallWait
// unchanged and fail here.
func TestSharedWakesEverySleeper(t *testing.T) {
	for _, wakeAll := range []int{0, 1} {
		s, err := NewShared(notify.Options{Params: map[string]int{ParamWakeupAll: wakeAll}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := s.AddUser(5, notify.Edge)
		if err != nil {
			t.Fatal(err)
		}
		const W = 3
		type ret struct {
			k   int
			err error
			tok uint64
		}
		out := make(chan ret, W)
		for range W {
			w := s.NewWaiter()
			go func() {
				ev := make([]notify.Event, 4)
				k, err := w.Wait(ev, 1, 10*time.Second)
				out <- ret{k, err, ev[0].Token}
			}()
		}
		waitSleepers(t, s, W)
		before := s.Syscalls()
		if err := s.Fire(id); err != nil {
			t.Fatal(err)
		}
		r := <-out
		if r.err != nil || r.k != 1 || r.tok != 5 {
			t.Fatalf("wakeup_all=%d: the first return: %d events (token %d), %v; want the event", wakeAll, r.k, r.tok, r.err)
		}
		waitSleepers(t, s, W-1)
		d := s.Syscalls().Sub(before)
		// Fire is one KEVENT_CTL_READY (CallCtl); its wake is CallWake.
		if d[notify.CallWake] != 1 || d[notify.CallWait] != W-1 {
			t.Errorf("wakeup_all=%d: one firing made %d wakes and %d more sleeps, want 1 wake and %d sleeps (every sleeper woken, the losers asleep again)",
				wakeAll, d[notify.CallWake], d[notify.CallWait], W-1)
		}
		select {
		case r := <-out:
			t.Errorf("wakeup_all=%d: a second waiter returned (%d events, %v)", wakeAll, r.k, r.err)
		case <-time.After(50 * time.Millisecond):
		}
		// Close returns every waiter still asleep.
		s.Close()
		for range W - 1 {
			select {
			case r := <-out:
				if !errors.Is(r.err, notify.ErrClosed) || r.k != 0 {
					t.Errorf("wakeup_all=%d: a waiter closed out returned %d, %v; want ErrClosed", wakeAll, r.k, r.err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("wakeup_all=%d: Close left a waiter asleep", wakeAll)
			}
		}
	}
}

// TestSharedWaiterAllocs: a Waiter's Wait allocates nothing once its
// buffer has grown.
func TestSharedWaiterAllocs(t *testing.T) {
	s, err := NewShared(notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	id, err := s.AddUser(1, notify.Edge)
	if err != nil {
		t.Fatal(err)
	}
	w := s.NewWaiter()
	ev := make([]notify.Event, 4)
	step := func() {
		if err := s.Fire(id); err != nil {
			t.Fatal(err)
		}
		if k, err := w.Wait(ev, 1, time.Second); k != 1 || err != nil {
			t.Fatalf("Wait: %d, %v", k, err)
		}
	}
	step()
	if a := testing.AllocsPerRun(200, step); a != 0 {
		t.Errorf("Fire + a Waiter's Wait: %v allocations, want 0", a)
	}
}

// TestRingPathsNotShared: the take29 and zach queues keep one collector.
func TestRingPathsNotShared(t *testing.T) {
	for _, v := range Variants() {
		n, err := v.Open(notify.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, shared := n.(notify.SharedWaiter)
		p, _ := pathOf(v.Name)
		if shared != (p == PathSyscall) {
			t.Errorf("%s: SharedWaiter %v", v.Name, shared)
		}
		n.Close()
	}
}

func pathOf(name string) (Path, bool) {
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		if len(name) > len(p.String()) && name[:len(p.String())+1] == p.String()+"-" {
			return p, true
		}
	}
	return 0, false
}

// TestSharedQueueWithSignals: a shared queue holding a signal kevent (the
// owner's thread's signals) and a user kevent, the owner collecting beside
// two Waiters. The owner sleeps in ppoll on its signalfd and the Waiters
// on the futex: a Post must wake the owner asleep alone (through the wake
// eventfd); a signal raised while all three sleep wakes the owner, whose
// drain readies the kevent for whichever collector dequeues it; with user
// firings and signals arriving while all three collect, every unit is
// collected exactly once across them. Close returns the Waiters.
func TestSharedQueueWithSignals(t *testing.T) {
	const sig = 43
	onLockedThread(t, func() {
		s, err := NewShared(notify.Options{})
		if err != nil {
			t.Fatal(err)
		}
		blockSignal(t, sig)
		tid := unix.Gettid()
		if _, err := s.AddSignal(sig, 1); err != nil {
			t.Fatal(err)
		}
		uid, err := s.AddEvent(2) // a counting user event: Post's values add up
		if err != nil {
			t.Fatal(err)
		}
		var sigs, users atomic.Uint64
		var bad atomic.Value
		count := func(evs []notify.Event) {
			for _, e := range evs {
				switch {
				case e.Token == 1 && e.Kind == notify.KindSignal:
					sigs.Add(e.Data)
				case e.Token == 2 && e.Kind == notify.KindUser:
					users.Add(e.Data)
				default:
					bad.Store(e)
				}
			}
		}
		const W = 2
		ws := []notify.Waiter{s.NewWaiter(), s.NewWaiter()} // the queue is shared from here on
		// The owner alone asleep (in ppoll on its signalfd): a Post from
		// another thread must wake it through the wake eventfd.
		go func() {
			time.Sleep(20 * time.Millisecond)
			s.Post(uid, 1)
		}()
		ev := make([]notify.Event, 8)
		start := time.Now()
		if k, err := s.Wait(ev, 1, 5*time.Second); err != nil || k != 1 || time.Since(start) > 2*time.Second {
			t.Fatalf("the owner asleep alone: Wait = %d, %v after %v; want the Post, woken", k, err, time.Since(start))
		}
		count(ev[:1])
		closed := make(chan error, W)
		for _, w := range ws {
			go func() {
				ev := make([]notify.Event, 8)
				for {
					k, err := w.Wait(ev, 1, 10*time.Second)
					if err != nil {
						closed <- err
						return
					}
					count(ev[:k])
				}
			}()
		}
		waitSleepers(t, s, W)
		// ownerUntil collects on the owner's thread until done holds.
		ownerUntil := func(what string, done func() bool) {
			t.Helper()
			deadline := time.Now().Add(10 * time.Second)
			for !done() {
				if time.Now().After(deadline) {
					t.Fatalf("%s: %d signals and %d user units collected (%v)", what, sigs.Load(), users.Load(), bad.Load())
				}
				k, err := s.Wait(ev, 1, 20*time.Millisecond)
				if err != nil {
					t.Fatal(err)
				}
				count(ev[:k])
			}
		}
		// One signal, raised while the owner and both Waiters sleep.
		go func() {
			time.Sleep(20 * time.Millisecond)
			notify.RaiseSignal(tid, sig)
		}()
		ownerUntil("one signal", func() bool { return sigs.Load() == 1 })
		// User firings and signals from another thread while all collect.
		const posts, raises = 2000, 20
		go func() {
			for i := range posts {
				if err := s.Post(uid, 1); err != nil {
					bad.Store(err)
					return
				}
				if i%(posts/raises) == 0 {
					notify.RaiseSignal(tid, sig) // a real-time signal: each raise queued
				}
			}
		}()
		ownerUntil("posting", func() bool { return users.Load() == 1+posts && sigs.Load() == 1+raises })
		k, _ := s.Wait(ev, 0, 20*time.Millisecond) // a stray second delivery would show here
		count(ev[:k])
		time.Sleep(20 * time.Millisecond) // and in the Waiters' counts
		if e := bad.Load(); e != nil {
			t.Errorf("an event of neither source, or a failed Post: %+v", e)
		}
		if sigs.Load() != 1+raises || users.Load() != 1+posts {
			t.Errorf("collected %d signals and %d user units, want %d and %d", sigs.Load(), users.Load(), 1+raises, 1+posts)
		}
		s.Close()
		for range W {
			select {
			case err := <-closed:
				if !errors.Is(err, notify.ErrClosed) {
					t.Errorf("a Waiter closed out returned %v, want ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Close left a Waiter asleep")
			}
		}
	})
}
