package iouring

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/impls/iouring/uring"
	"kbench/notify"
)

func TestUserDataRoundTrip(t *testing.T) {
	for _, c := range []struct{ slot, gen uint32 }{{0, 0}, {1, 1}, {^uint32(0), genMask}, {12345, 1 << 30}} {
		ud := userData(c.slot, c.gen)
		if ud&ctlBit != 0 {
			t.Errorf("userData(%d, %d) = %#x sets the control bit", c.slot, c.gen, ud)
		}
		if s, g := splitUserData(ud); s != c.slot || g != c.gen {
			t.Errorf("split(userData(%d, %d)) = %d, %d", c.slot, c.gen, s, g)
		}
	}
	// A generation wraps within its 31 bits and never reaches the control bit.
	if ud := userData(7, genMask+1); ud&ctlBit != 0 {
		t.Errorf("wrapped generation set the control bit: %#x", ud)
	}
}

// TestReplacedNeverReported leaves CQEs of a registration in flight, replaces
// it with Modify (new token), and checks that only the new token is ever
// reported: the old CQEs carry the old generation.
func TestReplacedNeverReported(t *testing.T) {
	for _, s := range setups {
		for _, tr := range []notify.Trigger{notify.Oneshot, notify.Multishot} {
			t.Run(s.String()+"-"+tr.String(), func(t *testing.T) {
				n := openLocked(t, Config{Setup: s, HelperCPU: -1})
				fd := eventfds(t, 1)[0]
				if err := n.Add(fd, 1, notify.Readable, tr); err != nil {
					t.Fatal(err)
				}
				ev := make([]notify.Event, 8)
				// min 0 never blocks but submits the queued POLL_ADD.
				if _, err := n.Wait(ev, 0, 0); err != nil {
					t.Fatal(err)
				}
				for i := 0; i < 3; i++ {
					fire(fd)
				}
				if s == SQPoll {
					time.Sleep(5 * time.Millisecond) // let the SQ thread post the CQEs
				}
				if err := n.Modify(fd, 2, notify.Readable, tr); err != nil {
					t.Fatal(err)
				}
				seen := 0
				deadline := time.Now().Add(200 * time.Millisecond)
				for time.Now().Before(deadline) {
					k, err := n.Wait(ev, 1, 20*time.Millisecond)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range ev[:k] {
						if e.Token != 2 {
							t.Fatalf("reported token %d of the replaced registration", e.Token)
						}
						seen++
					}
				}
				if seen == 0 {
					t.Fatal("the new registration of a ready source was never reported")
				}
				// On a plain ring the old CQEs were posted on this thread
				// before Modify, so they must have been dropped as stale.
				if s == Plain && n.stats.stale == 0 {
					t.Fatalf("no stale CQE was dropped (stats %+v)", n.stats)
				}
			})
		}
	}
}

// TestKernelRefusalReported: the fd is closed before its POLL_ADD is
// submitted, so the kernel fails the request; Wait reports it as an Error
// event and does not re-arm it.
func TestKernelRefusalReported(t *testing.T) {
	for _, s := range setups {
		t.Run(s.String(), func(t *testing.T) {
			n := openLocked(t, Config{Setup: s, HelperCPU: -1})
			fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
			if err != nil {
				t.Fatal(err)
			}
			if err := n.Add(fd, 9, notify.Readable, notify.Multishot); err != nil {
				t.Fatal(err)
			}
			unix.Close(fd)
			ev := make([]notify.Event, 4)
			k, err := n.Wait(ev, 1, time.Second)
			if err != nil || k != 1 || ev[0].Token != 9 || ev[0].Flags&notify.Error == 0 {
				t.Fatalf("Wait = %d %v %+v, want one Error event for token 9", k, err, ev[:k])
			}
			if k, _ := n.Wait(ev, 1, 30*time.Millisecond); k != 0 {
				t.Fatalf("a refused registration was reported again: %+v", ev[:k])
			}
		})
	}
}

func TestRegistrationErrors(t *testing.T) {
	n := openLocked(t, Config{Setup: Plain})
	fd := eventfds(t, 1)[0]
	if err := n.Add(fd, 1, notify.Readable, notify.Edge); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Add(Edge) = %v, want ErrUnsupported", err)
	}
	if err := n.Add(-1, 1, notify.Readable, notify.Oneshot); !errors.Is(err, notify.ErrInvalid) {
		t.Errorf("Add(fd -1) = %v, want ErrInvalid", err)
	}
	if _, err := n.Wait(make([]notify.Event, 1), -1, 0); !errors.Is(err, notify.ErrInvalid) {
		t.Errorf("Wait(min -1) = %v, want ErrInvalid", err)
	}
	if _, err := New(Config{Setup: Setup(9)}); !errors.Is(err, notify.ErrInvalid) {
		t.Errorf("New(unknown setup) = %v, want ErrInvalid", err)
	}
}

// TestRefusalIsUnavailable: a setup the kernel rejects (an SQPOLL thread
// pinned to a CPU that does not exist: EINVAL) is reported as unavailable,
// with the kernel's errno still reachable.
func TestRefusalIsUnavailable(t *testing.T) {
	_, err := New(Config{Setup: SQPoll, HelperCPU: 1 << 20})
	if !notify.IsUnavailable(err) || !errors.Is(err, unix.EINVAL) {
		t.Fatalf("New(SQPOLL on CPU %d) = %v, want ErrUnavailable wrapping EINVAL", 1<<20, err)
	}
	if err := refusal(Plain, &uring.SetupError{Errno: unix.EPERM}); !notify.IsUnavailable(err) || !errors.Is(err, unix.EPERM) {
		t.Fatalf("refusal(EPERM) = %v", err)
	}
	if err := refusal(Plain, &uring.SetupError{Errno: unix.EFAULT}); notify.IsUnavailable(err) {
		t.Fatalf("refusal(EFAULT) = %v: a bug of ours reported as the machine's refusal", err)
	}
}
