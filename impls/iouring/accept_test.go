package iouring

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

func listenLoopback(t *testing.T) (lfd int, sa *unix.SockaddrInet4) {
	t.Helper()
	lfd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(lfd) })
	if err := unix.Bind(lfd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 128); err != nil {
		t.Fatal(err)
	}
	got, err := unix.Getsockname(lfd)
	if err != nil {
		t.Fatal(err)
	}
	return lfd, got.(*unix.SockaddrInet4)
}

// dial connects a client and returns it with its port.
func dial(t *testing.T, server *unix.SockaddrInet4) (fd, port int) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Connect(fd, server); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return fd, sa.(*unix.SockaddrInet4).Port
}

func newAcceptorOrSkip(t *testing.T, lfd int) *Acceptor {
	t.Helper()
	a, err := NewAcceptor(lfd)
	if notify.IsUnavailable(err) {
		t.Skipf("multishot accept unavailable: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestAcceptorMultishot: one armed request accepts every connection, each
// once, the peers being the clients that connected.
func TestAcceptorMultishot(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lfd, server := listenLoopback(t)
	a := newAcceptorOrSkip(t, lfd)
	defer a.Close()
	var want, got []int
	for range 5 {
		_, port := dial(t, server)
		want = append(want, port)
	}
	fds := make([]int, 2) // smaller than the backlog: the rest waits in the CQ
	for deadline := time.Now().Add(2 * time.Second); len(got) < len(want) && time.Now().Before(deadline); {
		k, err := a.Accept(fds, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for _, fd := range fds[:k] {
			sa, err := unix.Getpeername(fd)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, sa.(*unix.SockaddrInet4).Port)
			unix.Close(fd)
		}
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("accepted peers %v, want %v", got, want)
	}
	if k, err := a.Accept(fds, 20*time.Millisecond); k != 0 || err != nil {
		t.Errorf("with nothing to accept: %d, %v", k, err)
	}
	if c := a.Syscalls()[notify.CallWait]; c == 0 {
		t.Errorf("no waits counted")
	}
	allocs := testing.AllocsPerRun(20, func() { a.Accept(fds, 0) })
	if allocs != 0 {
		t.Errorf("Accept allocates %.1f times", allocs)
	}
}

// TestAcceptorsShareOneListener: two rings armed on one listener, each
// blocked on its own thread: one connection is accepted once in all, by
// one of them, and the other returns nothing at its timeout.
func TestAcceptorsShareOneListener(t *testing.T) {
	lfd, server := listenLoopback(t)
	type outcome struct{ k int }
	out := make(chan outcome, 2)
	ready := make(chan error, 2)
	for range 2 {
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			a, err := NewAcceptor(lfd)
			ready <- err
			if err != nil {
				return
			}
			defer a.Close()
			fds := make([]int, 4)
			k, err := a.Accept(fds, 500*time.Millisecond)
			if err != nil {
				t.Error(err)
			}
			for _, fd := range fds[:k] {
				unix.Close(fd)
			}
			out <- outcome{k}
		}()
	}
	for range 2 {
		if err := <-ready; notify.IsUnavailable(err) {
			t.Skipf("multishot accept unavailable: %v", err)
		} else if err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // both blocked
	dial(t, server)
	a, b := <-out, <-out
	if a.k+b.k != 1 {
		t.Errorf("one connection accepted %d and %d times by two rings, want once in all", a.k, b.k)
	}
}

// TestAcceptorWake: Wake from another goroutine returns a blocked Accept
// with nothing, and a Wake before Accept returns the next one at once.
func TestAcceptorWake(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	lfd, _ := listenLoopback(t)
	a := newAcceptorOrSkip(t, lfd)
	defer a.Close()
	fds := make([]int, 4)
	for _, early := range []bool{false, true} {
		if early {
			a.Wake()
		} else {
			time.AfterFunc(50*time.Millisecond, func() { a.Wake() })
		}
		t0 := time.Now()
		k, err := a.Accept(fds, 5*time.Second)
		if k != 0 || err != nil || time.Since(t0) > 2*time.Second {
			t.Errorf("early %v: Accept = %d, %v after %v; want 0, nil soon after the Wake", early, k, err, time.Since(t0))
		}
	}
	// Consumed: the next Accept waits its timeout.
	t0 := time.Now()
	if k, err := a.Accept(fds, 50*time.Millisecond); k != 0 || err != nil || time.Since(t0) < 40*time.Millisecond {
		t.Errorf("after the Wakes: Accept = %d, %v after %v; want 0 at its 50ms timeout", k, err, time.Since(t0))
	}
}
