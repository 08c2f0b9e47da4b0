package kevent

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// TestTimeoutArgument: take29's timespec rules for kevent_get_events and
// kevent_wait — invalid is EINVAL, relative limits the wait, ABSTIME ends
// it through need_exit at the instant, and its timer outlives an earlier
// return; O_NONBLOCK never waits and checks nothing.
func TestTimeoutArgument(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.add(1, 0, 1, reqET)
	buf := make([]ukevent, 4)
	for _, ts := range []unix.Timespec{{Sec: -1}, {Nsec: -1}, {Nsec: 1e9}} {
		if _, err := q.u.getEventsTS(buf, 1, ts, 0); !errors.Is(err, unix.EINVAL) {
			t.Errorf("timeout %+v: %v, want EINVAL", ts, err)
		}
	}
	t0 := time.Now()
	if n, err := q.u.getEventsTS(buf, 1, unix.NsecToTimespec(int64(30*time.Millisecond)), 0); n != 0 || err != nil {
		t.Fatalf("relative wait: %d, %v", n, err)
	}
	if d := time.Since(t0); d < 30*time.Millisecond {
		t.Errorf("relative 30ms wait returned after %v", d)
	}
	// ABSTIME, 30ms from now: the wait ends at that instant with need_exit.
	t0 = time.Now()
	at := unix.NsecToTimespec(t0.Add(30 * time.Millisecond).UnixNano())
	if n, err := q.u.getEventsTS(buf, 1, at, flagsAbstime); n != 0 || err != nil {
		t.Fatalf("absolute wait: %d, %v", n, err)
	}
	if d := time.Since(t0); d < 25*time.Millisecond || d > 5*time.Second {
		t.Errorf("absolute wait 30ms ahead returned after %v", d)
	}
	// An ABSTIME wait that an event ends early leaves the timer armed: it
	// fires later and the next blocking collection returns at once.
	at = unix.NsecToTimespec(time.Now().Add(40 * time.Millisecond).UnixNano())
	q.u.storageReady(q.st[0], 1)
	if n, err := q.u.getEventsTS(buf, 1, at, flagsAbstime); n != 1 || err != nil {
		t.Fatalf("absolute wait with a ready kevent: %d, %v", n, err)
	}
	time.Sleep(80 * time.Millisecond)
	t0 = time.Now()
	if n, _ := q.u.getEvents(buf, 1, time.Second); n != 0 || time.Since(t0) > 500*time.Millisecond {
		t.Errorf("after the timer fired: %d events after %v, want 0 at once (need_exit)", n, time.Since(t0))
	}
	// O_NONBLOCK: an invalid timeout is not even looked at.
	q.u.nonblock = true
	t0 = time.Now()
	if n, err := q.u.getEventsTS(buf, 1, unix.Timespec{Sec: -1}, 0); n != 0 || err != nil || time.Since(t0) > 500*time.Millisecond {
		t.Errorf("O_NONBLOCK: %d, %v after %v", n, err, time.Since(t0))
	}
	q.u.nonblock = false

	w := newTQ(t, modeTake29, 4)
	if _, err := w.u.keventWaitTS(5, 0, unix.Timespec{Sec: -1}, 0); !errors.Is(err, notify.ErrInvalid) {
		t.Errorf("kevent_wait num 5 on a ring of 4: %v, want the num check first", err)
	}
	if _, err := w.u.keventWaitTS(1, 0, unix.Timespec{Nsec: 1e9}, 0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("kevent_wait with an invalid timeout: %v, want EINVAL", err)
	}
	q.u.shutdown()
	w.u.shutdown()
}

// TestPollFD: the queue's poll fd is readable exactly while the queue has
// something to collect, and epoll can watch it.
func TestPollFD(t *testing.T) {
	n, err := New(PathSyscall, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	id, err := n.AddUser(5, notify.Edge)
	if err != nil {
		t.Fatal(err)
	}
	pfd, err := n.PollFD()
	if err != nil {
		t.Fatal(err)
	}
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ep)
	if err := unix.EpollCtl(ep, unix.EPOLL_CTL_ADD, pfd, &unix.EpollEvent{Events: unix.EPOLLIN}); err != nil {
		t.Fatal(err)
	}
	epev := make([]unix.EpollEvent, 1)
	readable := func() bool {
		k, err := unix.EpollWait(ep, epev, 0)
		if err != nil {
			t.Fatal(err)
		}
		return k == 1
	}
	if readable() {
		t.Fatal("poll fd readable on an empty queue")
	}
	n.Fire(id)
	if !readable() {
		t.Fatal("poll fd not readable with a ready kevent")
	}
	ev := make([]notify.Event, 4)
	if k, _ := n.Wait(ev, 1, time.Second); k != 1 {
		t.Fatalf("Wait: %d", k)
	}
	if readable() {
		t.Fatal("poll fd still readable after the queue was drained")
	}
	n.Wake()
	if !readable() {
		t.Fatal("poll fd not readable with need_exit set")
	}
}
