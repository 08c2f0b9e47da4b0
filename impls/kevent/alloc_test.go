package kevent

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// TestAllocs: firing, collecting and re-arming allocate nothing per event on
// every path, with user and with fd sources.
func TestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		n, err := New(p, testOptions)
		if err != nil {
			t.Fatal(err)
		}
		ev := make([]notify.Event, 8)
		id, err := n.AddUser(1, notify.Edge)
		if err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(500, func() {
			n.Fire(id)
			if k, _ := n.Wait(ev, 1, time.Second); k != 1 {
				t.Fatalf("%v: Wait = %d", p, k)
			}
		}); a != 0 {
			t.Errorf("%v: Fire+Wait allocates %.1f per event", p, a)
		}
		oid, err := n.AddUser(2, notify.Oneshot)
		if err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(500, func() {
			n.Fire(oid)
			if k, _ := n.Wait(ev, 1, time.Second); k != 1 {
				t.Fatalf("%v: Wait = %d", p, k)
			}
			n.ModifyUser(oid, 2, notify.Oneshot) // take29 re-arm: a fresh ADD
		}); a != 0 {
			t.Errorf("%v: oneshot Fire+Wait+re-arm allocates %.1f per event", p, a)
		}
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		for _, tr := range []notify.Trigger{notify.Edge, notify.Oneshot, notify.Level} {
			if err := n.Add(fd, 3, notify.Readable, tr); err != nil {
				t.Fatal(err)
			}
			var b [8]byte
			if a := testing.AllocsPerRun(200, func() {
				b[0] = 1
				unix.Write(fd, b[:])
				if k, _ := n.Wait(ev, 1, time.Second); k != 1 {
					t.Fatalf("%v %v: Wait = %d", p, tr, k)
				}
				unix.Read(fd, b[:])
				if tr == notify.Oneshot {
					n.Modify(fd, 3, notify.Readable, tr)
				}
			}); a != 0 {
				t.Errorf("%v fd %v: write+Wait+read allocates %.1f per event", p, tr, a)
			}
			n.Remove(fd)
		}
		unix.Close(fd)
		n.Close()
	}
}

// TestKindAllocs: Post, a signal's delivery (the signalfd drain) and a
// periodic timer's (the hook thread's timerfd read) allocate nothing, on
// every path.
func TestKindAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		onLockedThread(t, func() {
			n, err := New(p, testOptions)
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			ev := make([]notify.Event, 8)
			id, err := n.AddEvent(1)
			if err != nil {
				t.Fatal(err)
			}
			if a := testing.AllocsPerRun(500, func() {
				n.Post(id, 2)
				if k, _ := n.Wait(ev, 1, time.Second); k != 1 {
					t.Fatalf("%v: Wait = %d", p, k)
				}
			}); a != 0 {
				t.Errorf("%v: Post+Wait allocates %.1f per event", p, a)
			}
			const sig = 45
			blockSignal(t, sig)
			if _, err := n.AddSignal(sig, 2); err != nil {
				t.Fatal(err)
			}
			tid := unix.Gettid()
			if a := testing.AllocsPerRun(200, func() {
				notify.RaiseSignal(tid, sig)
				if k, _ := n.Wait(ev, 1, time.Second); k != 1 {
					t.Fatalf("%v: Wait = %d", p, k)
				}
			}); a != 0 {
				t.Errorf("%v: signal+Wait allocates %.1f per event", p, a)
			}
			if _, err := n.AddTimer(notify.TimerSpec{Value: 200 * time.Microsecond, Interval: 200 * time.Microsecond}, 3); err != nil {
				t.Fatal(err)
			}
			n.Wait(ev, 1, time.Second) // the hook thread's first timer report
			if a := testing.AllocsPerRun(100, func() {
				if k, _ := n.Wait(ev, 1, time.Second); k < 1 {
					t.Fatalf("%v: Wait = %d", p, k)
				}
			}); a != 0 {
				t.Errorf("%v: timer Wait allocates %.1f per event", p, a)
			}
		})
	}
}
