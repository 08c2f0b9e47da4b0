package iouring

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

func openShared(t *testing.T) *Shared {
	t.Helper()
	s, err := NewShared(Config{Setup: Plain, Multishot: true})
	if notify.IsUnavailable(err) {
		t.Skipf("io_uring unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitBlocked waits until want Waits are blocked in the kernel, and then
// a little longer, so that they are asleep there.
func waitBlocked(t *testing.T, s *Shared, want int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.blocked.Load() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d Waits blocked, want %d", s.blocked.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
}

// TestSharedRingWakesEveryWaiter: three Waits blocked on one plain ring,
// one eventfd write. Exactly one returns, with the event; on this kernel
// the CQE wakes every blocked io_uring_enter (each waits for the CQ tail
// its entry saw plus one), so the two that find the ring empty enter again
// (two more CallWait, or more after a spurious return) — the herd the
// file comment describes. A kernel
// that woke one waiter would leave CallWait unchanged and fail here, and
// the comment would have to change with it.
func TestSharedRingWakesEveryWaiter(t *testing.T) {
	s := openShared(t)
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	if err := s.Add(efd, 9, notify.Readable, notify.Multishot); err != nil {
		t.Fatal(err)
	}
	// The owner submits the poll (a first Wait), so no waiter thread owns
	// its task_work.
	if _, err := s.Wait(make([]notify.Event, 1), 0, 0); err != nil {
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
	waitBlocked(t, s, W)
	before := s.Syscalls()
	one := [8]byte{1}
	if _, err := unix.Write(efd, one[:]); err != nil {
		t.Fatal(err)
	}
	r := <-out
	if r.err != nil || r.k != 1 || r.tok != 9 {
		t.Fatalf("the first return: %d events (token %d), %v; want the event", r.k, r.tok, r.err)
	}
	waitBlocked(t, s, W-1)
	// At least: a spurious return (a signal, a task_work run) adds one.
	if d := s.Syscalls().Sub(before); d[notify.CallWait] < W-1 {
		t.Errorf("one CQE made %d more io_uring_enter waits, want %d (every blocked waiter woken, the losers entering again)", d[notify.CallWait], W-1)
	}
	select {
	case r := <-out:
		t.Errorf("a second Wait returned (%d events, %v)", r.k, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	// Close returns every Wait still blocked.
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	for range W - 1 {
		select {
		case r := <-out:
			if !errors.Is(r.err, notify.ErrClosed) {
				t.Errorf("a Wait closed out returned %d, %v; want ErrClosed", r.k, r.err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Close left a Wait blocked")
		}
	}
}

// TestSharedRingWake: each Wake returns one blocked Wait, whichever.
func TestSharedRingWake(t *testing.T) {
	s := openShared(t)
	defer s.Close()
	const W = 3
	out := make(chan error, W)
	for range W {
		w := s.NewWaiter()
		go func() {
			k, err := w.Wait(make([]notify.Event, 4), 1, 10*time.Second)
			if k != 0 && err == nil {
				err = errors.New("events from nowhere")
			}
			out <- err
		}()
	}
	waitBlocked(t, s, W)
	for i := range W {
		if err := s.Wake(); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-out:
			if err != nil {
				t.Errorf("Wake %d: %v", i, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("Wake %d returned no Wait", i)
		}
		if i < W-1 {
			waitBlocked(t, s, int32(W-1-i))
		}
	}
}

// TestSharedRingWaiterAllocs: a Waiter's Wait allocates nothing once its
// wait argument is mapped.
func TestSharedRingWaiterAllocs(t *testing.T) {
	s := openShared(t)
	defer s.Close()
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(efd)
	if err := s.Add(efd, 1, notify.Readable, notify.Multishot); err != nil {
		t.Fatal(err)
	}
	w := s.NewWaiter()
	ev := make([]notify.Event, 4)
	one := [8]byte{1}
	step := func() {
		if _, err := unix.Write(efd, one[:]); err != nil {
			t.Fatal(err)
		}
		if k, err := w.Wait(ev, 1, time.Second); k != 1 || err != nil {
			t.Fatalf("Wait: %d, %v", k, err)
		}
	}
	step()
	if a := testing.AllocsPerRun(200, step); a != 0 {
		t.Errorf("a Waiter's Wait: %v allocations, want 0", a)
	}
}

// TestSharedOnlyPlain: coop and SQPOLL rings are not shared.
func TestSharedOnlyPlain(t *testing.T) {
	for _, setup := range []Setup{Coop, SQPoll} {
		if _, err := NewShared(Config{Setup: setup}); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("NewShared(%v): %v, want ErrInvalid", setup, err)
		}
	}
	for _, v := range Variants() {
		n, err := v.Open(notify.Options{HelperCPU: -1})
		if notify.IsUnavailable(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		_, shared := n.(notify.SharedWaiter)
		if want := len(v.Name) > 6 && v.Name[:6] == "plain-"; shared != want {
			t.Errorf("%s: SharedWaiter %v, want %v", v.ID(), shared, want)
		}
		n.Close()
	}
}
