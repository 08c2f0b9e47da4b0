package kevent

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

var allPaths = []Path{PathSyscall, PathTake29, PathZach}

func openPath(t *testing.T, p Path, params map[string]int) *Notifier {
	t.Helper()
	n, err := New(p, notify.Options{HelperCPU: -1, Params: params})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// kindEvents waits until the events collected for token add up to want in
// Data (or timeout), checking each is of kind k with Data >= 1.
func kindEvents(t *testing.T, n *Notifier, k notify.Kind, token, want uint64, timeout time.Duration) uint64 {
	t.Helper()
	ev := make([]notify.Event, 8)
	var sum uint64
	deadline := time.Now().Add(timeout)
	for sum < want && time.Now().Before(deadline) {
		got, err := n.Wait(ev, 1, time.Until(deadline))
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		for _, e := range ev[:got] {
			if e.Token != token || e.Kind != k || e.Data == 0 || e.Ready != notify.Readable || e.Flags != 0 {
				t.Fatalf("event %+v, want token %d kind %v, Data >= 1, readable", e, token, k)
			}
			sum += e.Data
		}
	}
	return sum
}

// monoNow is CLOCK_MONOTONIC, the clock of absolute timers.
func monoNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// quiet: nothing is reported within d.
func quiet(t *testing.T, n *Notifier, d time.Duration, what string) {
	t.Helper()
	ev := make([]notify.Event, 8)
	if got, err := n.Wait(ev, 1, d); err != nil || got != 0 {
		t.Fatalf("%s: Wait = %d %+v, %v; want nothing", what, got, ev[:got], err)
	}
}

// TestTimerOnce: a timer that expires once is reported once, with Data 1,
// and then stays registered and quiet; an absolute deadline already past
// expires at once.
func TestTimerOnce(t *testing.T) {
	for _, p := range allPaths {
		t.Run(p.String(), func(t *testing.T) {
			n := openPath(t, p, nil)
			if _, err := n.AddTimer(notify.TimerSpec{Value: 2 * time.Millisecond}, 7); err != nil {
				t.Fatal(err)
			}
			if sum := kindEvents(t, n, notify.KindTimer, 7, 1, 5*time.Second); sum != 1 {
				t.Fatalf("once timer: Data sum %d, want 1", sum)
			}
			quiet(t, n, 20*time.Millisecond, "after its expiry")
			id, err := n.AddTimer(notify.TimerSpec{Value: time.Duration(monoNow()) - time.Millisecond, Abs: true}, 8)
			if err != nil {
				t.Fatal(err)
			}
			if sum := kindEvents(t, n, notify.KindTimer, 8, 1, 5*time.Second); sum != 1 {
				t.Fatalf("past absolute deadline: Data sum %d, want 1", sum)
			}
			if err := n.RemoveSource(id); err != nil {
				t.Fatal(err)
			}
			if err := n.RemoveSource(id); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("second RemoveSource = %v, want os.ErrNotExist", err)
			}
			if _, err := n.AddTimer(notify.TimerSpec{}, 9); !errors.Is(err, notify.ErrInvalid) {
				t.Errorf("AddTimer of a zero spec = %v, want ErrInvalid", err)
			}
		})
	}
}

// TestTimerPeriodicExact: a periodic timer's expirations are neither lost
// nor counted twice: the Data collected never exceeds the expirations due
// by then (CLOCK_MONOTONIC, from an absolute start), and reaches what was
// due at a checkpoint, although the collector slept through many periods.
func TestTimerPeriodicExact(t *testing.T) {
	const period = 2 * time.Millisecond
	for _, p := range allPaths {
		t.Run(p.String(), func(t *testing.T) {
			n := openPath(t, p, nil)
			start := monoNow() + int64(time.Millisecond)
			due := func(at int64) uint64 {
				if at < start {
					return 0
				}
				return uint64((at-start)/int64(period)) + 1
			}
			if _, err := n.AddTimer(notify.TimerSpec{Value: time.Duration(start), Interval: period, Abs: true}, 3); err != nil {
				t.Fatal(err)
			}
			time.Sleep(30 * time.Millisecond) // late: many periods coalesce
			check := monoNow()
			want := due(check)
			ev := make([]notify.Event, 8)
			var sum uint64
			deadline := time.Now().Add(5 * time.Second)
			for sum < want {
				if time.Now().After(deadline) {
					t.Fatalf("collected %d expirations, %d were due at the checkpoint", sum, want)
				}
				got, err := n.Wait(ev, 1, time.Second)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range ev[:got] {
					if e.Kind != notify.KindTimer || e.Token != 3 || e.Data == 0 {
						t.Fatalf("event %+v", e)
					}
					sum += e.Data
				}
				if now := monoNow(); sum > due(now) {
					t.Fatalf("collected %d expirations, only %d due by now", sum, due(now))
				}
			}
			if sum > want+uint64(time.Second/period) {
				t.Fatalf("collected %d, want about %d", sum, want)
			}
		})
	}
}

// TestTimerRemovePending: a timer removed while its expiry is pending is
// never reported, on every path (a ring record of it is dropped).
func TestTimerRemovePending(t *testing.T) {
	for _, p := range allPaths {
		t.Run(p.String(), func(t *testing.T) {
			n := openPath(t, p, nil)
			id, err := n.AddTimer(notify.TimerSpec{Value: time.Millisecond}, 1)
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(10 * time.Millisecond)
			n.k.harvest() // the expiry has reached the kevent (and zach's ring)
			if err := n.RemoveSource(id); err != nil {
				t.Fatal(err)
			}
			quiet(t, n, 10*time.Millisecond, "removed timer")
		})
	}
}

// TestTimerCounts: the timer's work is the emulated kernel's (CallHook:
// timerfd create, arm, reads), not the collector's.
func TestTimerCounts(t *testing.T) {
	n := openPath(t, PathSyscall, nil)
	before := n.Syscalls()
	if _, err := n.AddTimer(notify.TimerSpec{Value: time.Millisecond}, 1); err != nil {
		t.Fatal(err)
	}
	kindEvents(t, n, notify.KindTimer, 1, 1, 5*time.Second)
	d := n.Syscalls().Sub(before)
	// timerfd_create, the hook's epoll_ctl, timerfd_settime, and at least
	// one read; the hook thread's own epoll_wait calls come on top.
	if d[notify.CallHook] < 4 {
		t.Errorf("CallHook %d, want at least 4 (create, register, arm, read)", d[notify.CallHook])
	}
	if d[notify.CallCtl] != 1 {
		t.Errorf("CallCtl %d, want 1 (the kevent's ADD)", d[notify.CallCtl])
	}
	if !n.HasHelper() {
		t.Error("a timer runs on the hook thread, but HasHelper is false")
	}
}

// TestUserEventPost: Post adds its value; one delivery reports the sum of
// the posts since the last, Posts racing from other goroutines included.
func TestUserEventPost(t *testing.T) {
	for _, p := range allPaths {
		for _, direct := range []int{0, 1} {
			t.Run(p.String()+map[int]string{0: "", 1: "-direct"}[direct], func(t *testing.T) {
				n := openPath(t, p, map[string]int{ParamFireDirect: direct})
				id, err := n.AddEvent(5)
				if err != nil {
					t.Fatal(err)
				}
				before := n.Syscalls()
				n.Post(id, 3)
				n.Post(id, 4)
				// A Post is the producer's KEVENT_CTL_READY (one kernel entry,
				// CallFire); fire_direct's storage_ready makes none.
				if fire := n.Syscalls().Sub(before)[notify.CallFire]; fire != uint64(2*(1-direct)) {
					t.Errorf("2 Posts counted %d CallFire, want %d", fire, 2*(1-direct))
				}
				if p == PathZach {
					// Zach's ring publishes a record per readiness: 3, then 4.
					if sum := kindEvents(t, n, notify.KindUser, 5, 7, time.Second); sum != 7 {
						t.Fatalf("Data sum %d, want 7", sum)
					}
				} else {
					ev := make([]notify.Event, 4)
					got, err := n.Wait(ev, 1, time.Second)
					if err != nil || got != 1 || ev[0].Data != 7 || ev[0].Kind != notify.KindUser || ev[0].Token != 5 {
						t.Fatalf("Wait = %d %+v, %v; want one event, Data 7", got, ev[:got], err)
					}
				}
				quiet(t, n, 0, "after the delivery")
				const posters, each = 4, 500
				var wg sync.WaitGroup
				for range posters {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for range each {
							if err := n.Post(id, 2); err != nil {
								t.Error(err)
								return
							}
						}
					}()
				}
				sum := kindEvents(t, n, notify.KindUser, 5, posters*each*2, 10*time.Second)
				wg.Wait()
				if sum != posters*each*2 {
					t.Fatalf("sum of Data %d, want %d", sum, posters*each*2)
				}
				if err := n.Post(id, 0); !errors.Is(err, notify.ErrInvalid) {
					t.Errorf("Post 0 = %v, want ErrInvalid", err)
				}
				if err := n.Fire(id); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("Fire of a user event = %v, want os.ErrNotExist", err)
				}
				n.Post(id, 1)
				if err := n.RemoveSource(id); err != nil {
					t.Fatal(err)
				}
				quiet(t, n, 5*time.Millisecond, "removed user event")
				if err := n.Post(id, 1); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("Post after RemoveSource = %v, want os.ErrNotExist", err)
				}
			})
		}
	}
}

// onLockedThread runs f on a goroutine locked to a thread of its own that
// dies with it (never unlocked), so the signal mask set there goes too.
func onLockedThread(t *testing.T, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		f()
	}()
	<-done
}

func blockSignal(t *testing.T, sig int) {
	t.Helper()
	if err := notify.BlockSignal(sig); err != nil {
		t.Fatal(err)
	}
}

func raiseSignal(t *testing.T, tid, sig int) {
	t.Helper()
	if err := notify.RaiseSignal(tid, sig); err != nil {
		t.Fatal(err)
	}
}

// TestSignal: a real-time signal raised three times at the collector's
// thread is reported with Data 3 (queued, one per raise); a standard one
// raised twice while pending with Data 1 (the kernel coalesces); a signal
// raised while the collector sleeps in Wait wakes it.
func TestSignal(t *testing.T) {
	const rt, std = 40, int(unix.SIGUSR2)
	for _, p := range allPaths {
		t.Run(p.String(), func(t *testing.T) {
			onLockedThread(t, func() {
				n := openPath(t, p, nil)
				if _, err := n.AddSignal(rt, 1); !errors.Is(err, notify.ErrInvalid) {
					t.Errorf("AddSignal of an unblocked signal = %v, want ErrInvalid", err)
				}
				blockSignal(t, rt)
				blockSignal(t, std)
				tid := unix.Gettid()
				id, err := n.AddSignal(rt, 1)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := n.AddSignal(std, 2); err != nil {
					t.Fatal(err)
				}
				for range 3 {
					raiseSignal(t, tid, rt)
				}
				raiseSignal(t, tid, std)
				raiseSignal(t, tid, std)
				ev := make([]notify.Event, 4)
				got, err := n.Wait(ev, 2, time.Second)
				if err != nil || got != 2 {
					t.Fatalf("Wait = %d %+v, %v; want 2 events", got, ev[:got], err)
				}
				for _, e := range ev[:got] {
					want := map[uint64]uint64{1: 3, 2: 1}[e.Token]
					if e.Kind != notify.KindSignal || e.Data != want {
						t.Errorf("event %+v, want kind signal Data %d", e, want)
					}
				}
				go func() {
					time.Sleep(20 * time.Millisecond)
					notify.RaiseSignal(tid, rt)
				}()
				start := time.Now()
				if sum := kindEvents(t, n, notify.KindSignal, 1, 1, 5*time.Second); sum != 1 {
					t.Fatalf("signal raised during Wait: Data %d, want 1", sum)
				}
				if el := time.Since(start); el > 2*time.Second {
					t.Errorf("the signal woke Wait after %v", el)
				}
				if err := n.RemoveSource(id); err != nil {
					t.Fatal(err)
				}
				raiseSignal(t, tid, rt)
				quiet(t, n, 10*time.Millisecond, "removed signal")
				// The raise above is still pending (nothing reads it): a
				// new watch of the signal reports it.
				if _, err := n.AddSignal(rt, 4); err != nil {
					t.Fatal(err)
				}
				if sum := kindEvents(t, n, notify.KindSignal, 4, 1, 5*time.Second); sum != 1 {
					t.Fatalf("pending signal: Data %d, want 1", sum)
				}
			})
		})
	}
}

// TestSignalRefused: signals that cannot be watched, and a second thread.
func TestSignalRefused(t *testing.T) {
	n := openPath(t, PathSyscall, nil)
	for _, sig := range []int{0, 65, int(unix.SIGKILL), int(unix.SIGSTOP), int(unix.SIGURG), int(unix.SIGPROF), int(unix.SIGSEGV), 32} {
		if _, err := n.AddSignal(sig, 1); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("AddSignal(%d) = %v, want ErrInvalid", sig, err)
		}
	}
	onLockedThread(t, func() {
		blockSignal(t, 41)
		if _, err := n.AddSignal(41, 1); err != nil {
			t.Fatal(err)
		}
	})
	onLockedThread(t, func() {
		blockSignal(t, 42)
		if _, err := n.AddSignal(42, 1); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("AddSignal from a second thread = %v, want ErrInvalid", err)
		}
	})
}

// TestCloseFD: kevent_storage_fini. Two queues of one Kernel watch an
// eventfd (Level and Edge; first-waker-only, which fini does not follow);
// CloseFD completes both kevents BROKEN|DONE: each queue reports the fd
// once with Hangup|Error, then never again; the fd is closed, its
// registration gone, and a new fd of that number is a new origin.
func TestCloseFD(t *testing.T) {
	for _, p := range allPaths {
		t.Run(p.String(), func(t *testing.T) {
			k := NewKernel(-1)
			q0, err := k.Open(p, notify.Options{})
			if err != nil {
				t.Fatal(err)
			}
			q1, err := k.Open(p, notify.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				q0.Close()
				q1.Close()
				k.Close()
			}()
			fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			if err := q0.Add(fd, 10, notify.Readable, notify.Level); err != nil {
				t.Fatal(err)
			}
			if err := q1.Add(fd, 11, notify.Readable, notify.Edge); err != nil {
				t.Fatal(err)
			}
			if err := q0.CloseFD(fd); err != nil {
				t.Fatal(err)
			}
			if _, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0); err != unix.EBADF {
				t.Errorf("fd still open after CloseFD: %v", err)
			}
			ev := make([]notify.Event, 4)
			for i, q := range []*Notifier{q0, q1} {
				got, err := q.Wait(ev, 1, time.Second)
				if err != nil || got != 1 {
					t.Fatalf("queue %d: Wait = %d %+v, %v; want the broken event", i, got, ev[:got], err)
				}
				want := notify.Event{Token: uint64(10 + i), Ready: notify.Readable, Flags: notify.Hangup | notify.Error}
				if ev[0] != want {
					t.Errorf("queue %d: %+v, want %+v", i, ev[0], want)
				}
				quiet(t, q, 10*time.Millisecond, "after the broken event")
			}
			if err := q1.Remove(fd); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("Remove after the broken event = %v, want os.ErrNotExist", err)
			}
			fd2, err := unix.Eventfd(1, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			defer unix.Close(fd2)
			if err := q0.Add(fd2, 12, notify.Readable, notify.Edge); err != nil {
				t.Fatalf("Add of a new fd (number %d, was %d): %v", fd2, fd, err)
			}
			got, err := q0.Wait(ev, 1, time.Second)
			if err != nil || got != 1 || ev[0].Token != 12 || ev[0].Flags != 0 {
				t.Fatalf("new fd: Wait = %d %+v, %v", got, ev[:got], err)
			}
		})
	}
}

// TestCloseFDPendingOneshot: a oneshot fd already delivered has no kevent
// on the storage; CloseFD reports nothing for it and frees the slot.
func TestCloseFDDelivered(t *testing.T) {
	for _, p := range allPaths {
		t.Run(p.String(), func(t *testing.T) {
			n := openPath(t, p, nil)
			fd, err := unix.Eventfd(1, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Add(fd, 1, notify.Readable, notify.Oneshot); err != nil {
				t.Fatal(err)
			}
			ev := make([]notify.Event, 4)
			if got, _ := n.Wait(ev, 1, time.Second); got != 1 || ev[0].Flags != 0 {
				t.Fatalf("Wait = %d %+v", got, ev[:got])
			}
			if err := n.CloseFD(fd); err != nil {
				t.Fatal(err)
			}
			quiet(t, n, 10*time.Millisecond, "a delivered oneshot, closed")
			if len(n.free) != 1 {
				t.Errorf("%d free registration slots, want 1", len(n.free))
			}
		})
	}
}

// TestFiniCore: storage_fini on the emulated kernel alone: both kevents of
// the storage (no WAKEUP_ALL, one Level) are queued broken once, a pending
// one keeps its place, and the dead storage refuses an ADD.
func TestFiniCore(t *testing.T) {
	for _, m := range []mode{modeSyscall, modeTake29} {
		q := newTQ(t, m, 8)
		q.add(1, 2, pollIn, reqLevel|reqLastCheck)
		q.add(2, 2, pollIn, reqET)
		storageFini(q.st[2], &q.calls)
		ev := q.get(8)
		q.expect("fini", ev, 1, 2)
		for _, e := range ev {
			if e.RetFlags&(retBroken|retDone) != retBroken|retDone {
				t.Errorf("%v: kevent %d ret flags %#x, want BROKEN|DONE", m, e.ID, e.RetFlags)
			}
		}
		q.expect("after fini", q.get(8))
		if len(q.u.index) != 0 {
			t.Errorf("%v: %d kevents left, want none (freed at delivery)", m, len(q.u.index))
		}
		uk := ukevent{ID: 3, Type: typePoll, Event: pollIn}
		if _, err := q.u.add(&uk, q.st[2]); !errors.Is(err, unix.EBADF) || uk.RetFlags != retBroken|retDone {
			t.Errorf("%v: ADD on a dead storage: %v, ret flags %#x; want EBADF, BROKEN|DONE", m, err, uk.RetFlags)
		}
	}
}

// TestReqReady: take30's KEVENT_REQ_READY queues a registered kevent at
// once, once, whatever its origin says; a poll kevent ready at ADD without
// ALWAYS_QUEUE is still handed back, not registered.
func TestReqReady(t *testing.T) {
	q := newTQ(t, modeSyscall, 8)
	q.add(1, 0, 1, reqReady)                           // unotify
	q.add(2, 2, pollIn, reqReady)                      // poll, not ready
	q.add(3, 4, timerFired, reqReady|reqET)            // timer, no expiry yet
	q.sim.state[3] = pollIn                            // ready at add:
	q.add(4, 3, pollIn, reqReady|reqAlwaysQueue|reqET) // queued once
	ev := q.get(8)
	q.expect("REQ_READY", ev, 1, 2, 3, 4)
	for _, e := range ev {
		if e.RetFlags != retDone {
			t.Errorf("kevent %d ret flags %#x, want DONE", e.ID, e.RetFlags)
		}
	}
	uk := ukevent{ID: 5, Type: typePoll, Event: pollIn, ReqFlags: reqReady}
	if imm, err := q.u.add(&uk, q.st[3]); err != nil || !imm || q.u.index[5] != nil {
		t.Errorf("ready poll ADD without ALWAYS_QUEUE: immediate %v, %v, registered %v", imm, err, q.u.index[5] != nil)
	}
	q.expect("after", q.get(8))
}
