//go:build linux

package aioring

import (
	"encoding/binary"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
	"kbench/notify/notifytest"
)

func newSharedOrSkip(t *testing.T) *Shared {
	t.Helper()
	s, err := NewShared(Options{MaxSources: testSources})
	if notify.IsUnavailable(err) {
		t.Skipf("AIO unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSharedExactlyOnce: four waiters on one context collect numbered
// firings of eight level eventfds; each waiter takes a firing by reading
// the eventfd (one read wins), and every number is taken exactly once.
func TestSharedExactlyOnce(t *testing.T) {
	s := newSharedOrSkip(t)
	const S, W, total = 8, 4, 4000
	fds := make([]int, S)
	busy := make([]atomic.Bool, S)
	for i := range fds {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		fds[i] = fd
		if err := s.Add(fd, uint64(i), notify.Readable, notify.Level); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := make([]int, total+1)
	var taken atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, W)
	for range W {
		w := s.NewWaiter()
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := make([]notify.Event, 4)
			var b [8]byte
			for !stop.Load() {
				k, err := w.Wait(ev, 1, 20*time.Millisecond)
				if err != nil {
					errs <- err
					return
				}
				for _, e := range ev[:k] {
					if _, err := unix.Read(fds[e.Token], b[:]); err != nil {
						continue // another waiter took it: a stale copy
					}
					seq := binary.NativeEndian.Uint64(b[:])
					mu.Lock()
					if seq <= total {
						seen[seq]++
					}
					mu.Unlock()
					busy[e.Token].Store(false) // pairs with the producer's Load
					taken.Add(1)
				}
			}
		}()
	}
	var b [8]byte
	for seq := uint64(1); seq <= total; {
		for i := range fds {
			if seq > total || busy[i].Load() {
				continue
			}
			busy[i].Store(true)
			binary.NativeEndian.PutUint64(b[:], seq)
			if _, err := unix.Write(fds[i], b[:]); err != nil {
				t.Fatal(err)
			}
			seq++
		}
		time.Sleep(10 * time.Microsecond)
	}
	for deadline := time.Now().Add(5 * time.Second); taken.Load() < total && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Wait: %v", err)
	}
	for seq := 1; seq <= total; seq++ {
		if seen[seq] != 1 {
			t.Errorf("firing %d taken %d times", seq, seen[seq])
		}
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestSharedCloseReturnsEveryWaiter: Close returns each of several waiters
// blocked with no deadline, though one wake poll returns one of them.
func TestSharedCloseReturnsEveryWaiter(t *testing.T) {
	s := newSharedOrSkip(t)
	// A user event's eventfd must be closed with the context, waiters or
	// not. Registered before the waiters start: no Add while Waiters wait
	// (notify.Waiter).
	id, err := s.AddEvent(7)
	if err != nil {
		t.Fatalf("AddEvent: %v", err)
	}
	evfd := s.kinds.Get(id).FD
	const W = 4
	out := make(chan error, W)
	for range W {
		w := s.NewWaiter()
		go func() {
			ev := make([]notify.Event, 4)
			_, err := w.Wait(ev, 1, notify.Forever)
			out <- err
		}()
	}
	time.Sleep(100 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return the blocked waiters within 5s")
	}
	for range W {
		if err := <-out; err != notify.ErrClosed {
			t.Errorf("a waiter returned %v, want ErrClosed", err)
		}
	}
	if _, err := unix.FcntlInt(uintptr(evfd), unix.F_GETFD, 0); err != unix.EBADF {
		t.Errorf("the user event's eventfd %d is still open after Close (F_GETFD: %v)", evfd, err)
	}
}

// wakeAllClaim is the shared context claiming that one firing returns
// every waiter.
type wakeAllClaim struct{ *Shared }

func (wakeAllClaim) WakePolicy() notify.WakePolicy { return notify.WakeAll }

// TestSharedClaimRefused: the shared-waiters check fails the context
// claiming WakeAll (one firing returns one waiter).
func TestSharedClaimRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole suite")
	}
	f := notifytest.Failures(func() (notify.Notifier, error) {
		s, err := NewShared(Options{MaxSources: testSources})
		if err != nil {
			return nil, err
		}
		return wakeAllClaim{s}, nil
	})
	if _, ok := f["SharedWaitersWakePolicy"]; !ok {
		t.Errorf("the suite passed the shared AIO context claiming WakeAll:\n%s", notifytest.Summary(f))
	}
}

// TestSharedWaitAllocatesNothing: a Waiter's Wait, with an event and
// without, allocates nothing.
func TestSharedWaitAllocatesNothing(t *testing.T) {
	s := newSharedOrSkip(t)
	defer s.Close()
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := s.Add(fd, 1, notify.Readable, notify.Oneshot); err != nil {
		t.Fatal(err)
	}
	w := s.NewWaiter()
	ev := make([]notify.Event, 4)
	one := []byte{1, 0, 0, 0, 0, 0, 0, 0}
	allocs := testing.AllocsPerRun(100, func() {
		w.Wait(ev, 0, 0)
		unix.Write(fd, one)
		w.Wait(ev, 1, 10*time.Millisecond)
	})
	if allocs != 0 {
		t.Errorf("Waiter.Wait allocates %.1f times", allocs)
	}
}
