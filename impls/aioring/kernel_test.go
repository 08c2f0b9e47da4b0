//go:build linux

package aioring

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

func eventfd(t testing.TB) int {
	t.Helper()
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatalf("eventfd: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func fire(t testing.TB, fd int) {
	if _, err := unix.Write(fd, []byte{1, 0, 0, 0, 0, 0, 0, 0}); err != nil {
		t.Fatalf("eventfd write: %v", err)
	}
}

// drainFD empties an eventfd and returns its counter (0 if it was empty).
func drainFD(fd int, b *[8]byte) uint64 {
	if _, err := unix.Read(fd, b[:]); err != nil {
		return 0
	}
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// waitRing polls until the kernel has posted want completions into the ring.
func waitRing(t *testing.T, n *Notifier, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n.ring.ready() < want {
		if time.Now().After(deadline) {
			t.Fatalf("ring holds %d completions after 5s, want %d", n.ring.ready(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

func ringOrSkip(t *testing.T) *Notifier {
	t.Helper()
	n := newOrSkip(t, Options{MaxSources: 8})
	if mode, why := n.Reaping(); mode != ReapRing {
		t.Fatalf("ring refused on this kernel: %v", why)
	}
	return n
}

// TestKernelRingLayout: the kernel rounds the ring to whole pages, so nr+1
// slots of 32 bytes fill them exactly, nr is not a power of two, and it is
// at least what was asked for.
func TestKernelRingLayout(t *testing.T) {
	n := ringOrSkip(t)
	nr := int(n.ring.nr)
	page := os.Getpagesize()
	if (nr+1)*ioEventSize%page != 0 {
		t.Errorf("nr %d: header plus events is not whole pages of %d", nr, page)
	}
	if nr&(nr-1) == 0 {
		t.Errorf("nr %d is a power of two", nr)
	}
	if nr < n.limit {
		t.Errorf("nr %d < requested %d", nr, n.limit)
	}
}

// TestRemoveWhileInRing: the completion is already in the ring when Remove
// runs; the generation in aio_data is all that stops it.
func TestRemoveWhileInRing(t *testing.T) {
	for _, tr := range []notify.Trigger{notify.Level, notify.Oneshot} {
		n := ringOrSkip(t)
		fd := eventfd(t)
		if err := n.Add(fd, 1, notify.Readable, tr); err != nil {
			t.Fatal(err)
		}
		fire(t, fd)
		waitRing(t, n, 1)
		if err := n.Remove(fd); err != nil {
			t.Fatal(err)
		}
		if n.ring.ready() != 1 {
			t.Fatalf("%v: the completion left the ring before Wait", tr)
		}
		ev := make([]notify.Event, 4)
		if k, err := n.Wait(ev, 1, 20*time.Millisecond); err != nil || k != 0 {
			t.Errorf("%v: Wait after Remove: k=%d err=%v (%+v)", tr, k, err, ev[:k])
		}
		if n.inflight != 1 { // the wake poll's
			t.Errorf("%v: %d requests counted in flight, want 1 (the wake poll)", tr, n.inflight)
		}
	}
}

// TestSlotReuseKeepsGenerations: a slot freed with its completion still in
// the ring is taken by the next Add; the old completion must not come out
// under the new registration's token.
func TestSlotReuseKeepsGenerations(t *testing.T) {
	n := ringOrSkip(t)
	a, b := eventfd(t), eventfd(t)
	if err := n.Add(a, 100, notify.Readable, notify.Level); err != nil {
		t.Fatal(err)
	}
	fire(t, a)
	waitRing(t, n, 1)
	slotA := slotOf(n, a)
	if err := n.Remove(a); err != nil {
		t.Fatal(err)
	}
	if err := n.Add(b, 200, notify.Readable, notify.Level); err != nil {
		t.Fatal(err)
	}
	if slotOf(n, b) != slotA {
		t.Fatalf("slot not reused (%d, then %d): the test proves nothing", slotA, slotOf(n, b))
	}
	ev := make([]notify.Event, 4)
	if k, _ := n.Wait(ev, 1, 20*time.Millisecond); k != 0 {
		t.Errorf("got %+v, want nothing: b was never fired", ev[:k])
	}
	fire(t, b)
	if k, _ := n.Wait(ev, 1, time.Second); k != 1 || ev[0].Token != 200 {
		t.Errorf("got %+v, want token 200", ev[:k])
	}
}

// TestCancelCompletes: Remove of an armed, idle source cancels the request;
// the cancellation's own completion is reaped and filtered, returning the
// request budget.
func TestCancelCompletes(t *testing.T) {
	for _, mode := range []Reap{ReapRing, ReapSyscall} {
		n := newOrSkip(t, Options{MaxSources: 8, Reap: mode})
		fd := eventfd(t)
		if err := n.Add(fd, 1, notify.Readable, notify.Level); err != nil {
			t.Fatal(err)
		}
		before := n.Syscalls()
		if err := n.Remove(fd); err != nil {
			t.Fatal(err)
		}
		if d := n.Syscalls().Sub(before); d[notify.CallCtl] != 1 {
			t.Errorf("%v: Remove made %v, want one io_cancel", mode, d)
		}
		ev := make([]notify.Event, 4)
		deadline := time.Now().Add(2 * time.Second)
		for n.inflight > 1 && time.Now().Before(deadline) { // the wake poll stays armed
			if k, _ := n.Wait(ev, 1, 10*time.Millisecond); k != 0 {
				t.Fatalf("%v: cancelled source reported %+v", mode, ev[:k])
			}
		}
		if n.inflight != 1 {
			t.Errorf("%v: %d requests in flight after the cancellation, want 1 (wake)", mode, n.inflight)
		}
	}
}

// TestModifyInterestInFlight: changing the interest of an armed request
// cancels it and submits the new mask.
func TestModifyInterestInFlight(t *testing.T) {
	n := newOrSkip(t, Options{MaxSources: 8})
	fd := eventfd(t) // writable at once, readable only when fired
	if err := n.Add(fd, 1, notify.Readable, notify.Oneshot); err != nil {
		t.Fatal(err)
	}
	ev := make([]notify.Event, 4)
	if k, _ := n.Wait(ev, 1, 10*time.Millisecond); k != 0 {
		t.Fatalf("unfired eventfd reported readable: %+v", ev[:k])
	}
	if err := n.Modify(fd, 2, notify.Writable, notify.Oneshot); err != nil {
		t.Fatal(err)
	}
	k, err := n.Wait(ev, 1, time.Second)
	if err != nil || k != 1 || ev[0].Token != 2 || ev[0].Ready != notify.Writable {
		t.Fatalf("after Modify to Writable: k=%d err=%v %+v", k, err, ev[:k])
	}
	// Token-only Modify of an armed oneshot keeps the request: no io_cancel.
	fd2 := eventfd(t)
	if err := n.Add(fd2, 3, notify.Readable, notify.Oneshot); err != nil {
		t.Fatal(err)
	}
	before := n.Syscalls()
	if err := n.Modify(fd2, 4, notify.Readable, notify.Oneshot); err != nil {
		t.Fatal(err)
	}
	if d := n.Syscalls().Sub(before); d.Total() != 0 {
		t.Errorf("token-only Modify made system calls %v", d)
	}
	fire(t, fd2)
	if k, _ := n.Wait(ev, 1, time.Second); k != 1 || ev[0].Token != 4 {
		t.Errorf("got %+v, want the new token 4", ev[:k])
	}
}

// TestClosedFDReportsError: an fd closed without Remove makes its re-arm
// fail; the registration reports one Error event and goes quiet.
func TestClosedFDReportsError(t *testing.T) {
	n := newOrSkip(t, Options{MaxSources: 8})
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Add(fd, 9, notify.Readable, notify.Level); err != nil {
		t.Fatal(err)
	}
	fire(t, fd)
	ev := make([]notify.Event, 4)
	if k, _ := n.Wait(ev, 1, time.Second); k != 1 {
		t.Fatalf("got %d events, want 1", k)
	}
	unix.Close(fd) // the armed poll keeps its own file reference; the re-arm finds no fd
	k, err := n.Wait(ev, 1, time.Second)
	if err != nil || k != 1 || ev[0].Token != 9 || ev[0].Flags&notify.Error == 0 {
		t.Fatalf("re-arm of a closed fd: k=%d err=%v %+v, want one Error event", k, err, ev[:k])
	}
	if k, _ := n.Wait(ev, 1, 20*time.Millisecond); k != 0 {
		t.Errorf("failed registration reported again: %+v", ev[:k])
	}
	if err := n.Remove(fd); err != nil {
		t.Errorf("Remove of the failed registration: %v", err)
	}
}

// TestAddBeyondMaxSources: the context is sized for MaxSources.
func TestAddBeyondMaxSources(t *testing.T) {
	n := newOrSkip(t, Options{MaxSources: 2})
	for i := 0; i < 2; i++ {
		if err := n.Add(eventfd(t), uint64(i), notify.Readable, notify.Level); err != nil {
			t.Fatal(err)
		}
	}
	if err := n.Add(eventfd(t), 3, notify.Readable, notify.Level); !errors.Is(err, unix.ENOSPC) {
		t.Errorf("third Add into MaxSources=2: %v, want ENOSPC", err)
	}
}

// TestUnavailableOverAioMaxNr asks for more requests than fs.aio-max-nr
// allows: io_setup's EAGAIN must come back as ErrUnavailable with the errno.
func TestUnavailableOverAioMaxNr(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/fs/aio-max-nr")
	if err != nil {
		t.Skipf("fs.aio-max-nr unreadable: %v", err)
	}
	maxNr, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || maxNr > 1<<22 {
		t.Skipf("fs.aio-max-nr %q: too large to exceed cheaply", b)
	}
	n, err := New(Options{MaxSources: maxNr + 1})
	if err == nil {
		n.Close()
		t.Fatalf("io_setup for more than fs.aio-max-nr=%d succeeded", maxNr)
	}
	if !notify.IsUnavailable(err) || !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("err = %v, want ErrUnavailable wrapping EAGAIN", err)
	}
	t.Logf("refusal as reported: %v", err)
}

// TestWakeCoalesces: Wakes before a Wait share one eventfd write.
func TestWakeCoalesces(t *testing.T) {
	n := newOrSkip(t, Options{MaxSources: 8})
	for i := 0; i < 5; i++ {
		if err := n.Wake(); err != nil {
			t.Fatal(err)
		}
	}
	if w := n.Syscalls()[notify.CallWake]; w != 1 {
		t.Errorf("5 Wakes made %d eventfd writes, want 1", w)
	}
	ev := make([]notify.Event, 4)
	start := time.Now()
	if _, err := n.Wait(ev, 1, 5*time.Second); err != nil || time.Since(start) > time.Second {
		t.Fatalf("Wait after Wakes: err=%v after %v", err, time.Since(start))
	}
	// Consumed: the next Wake writes again and the next Wait returns.
	if err := n.Wake(); err != nil {
		t.Fatal(err)
	}
	if w := n.Syscalls()[notify.CallWake]; w != 2 {
		t.Errorf("Wake after a consumed wake: %d writes in all, want 2", w)
	}
	if _, err := n.Wait(ev, 1, 5*time.Second); err != nil || time.Since(start) > 2*time.Second {
		t.Fatalf("second woken Wait: err=%v", err)
	}
}

// TestChurnBeyondHeadroom: Add/Remove cycles without a Wait leave cancelled
// requests in flight until they are reaped, and past the context's budget a
// new Add is queued instead of submitted. The next Wait must reap the
// cancellations (already all in the ring) and then submit the queued source
// before it blocks, or it would sleep through a ready source.
func TestChurnBeyondHeadroom(t *testing.T) {
	for _, mode := range []Reap{ReapRing, ReapSyscall} {
		n := newOrSkip(t, Options{MaxSources: 2, Reap: mode})
		for i := 0; i < n.limit; i++ {
			fd := eventfd(t)
			if err := n.Add(fd, 0, notify.Readable, notify.Level); err != nil {
				t.Fatal(err)
			}
			if err := n.Remove(fd); err != nil {
				t.Fatal(err)
			}
		}
		fd := eventfd(t)
		if err := n.Add(fd, 7, notify.Readable, notify.Level); err != nil {
			t.Fatal(err)
		}
		if st := n.regs[slotOf(n, fd)].st; st != queued {
			t.Fatalf("%v: Add beyond the budget left the source %v, want queued: the test proves nothing", mode, st)
		}
		fire(t, fd)
		time.Sleep(20 * time.Millisecond)     // let every cancellation reach the ring
		ev := make([]notify.Event, 2*n.limit) // room to reap every cancellation in one read
		start := time.Now()
		k, err := n.Wait(ev, 1, 2*time.Second)
		if err != nil || k != 1 || ev[0].Token != 7 {
			t.Fatalf("%v: k=%d err=%v %+v, want token 7", mode, k, err, ev[:k])
		}
		if el := time.Since(start); el > time.Second {
			t.Errorf("%v: the ready source took %v: Wait blocked before submitting it", mode, el)
		}
	}
}

// slotOf is the registration slot of a registered fd.
func slotOf(n *Notifier, fd int) uint32 {
	s, _ := n.byFD.Get(fd)
	return s
}

// TestSignalfdPollStaysAsleep is why aioring refuses signals (kinds.go): a
// poll of a signalfd armed before the signal arrives is never completed by
// it, because the kernel re-polls from a kworker that has no such signal
// pending; the same signal, pending when a poll is submitted, completes
// that one inline. If a kernel ever completes the first, signals can be
// served like the other kinds.
func TestSignalfdPollStaysAsleep(t *testing.T) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread ends with its mask and pending signal
		n := newOrSkip(t, Options{MaxSources: 8})
		const sig = notify.SigRTMin + 12
		if err := notify.BlockSignal(sig); err != nil {
			t.Error(err)
			return
		}
		set := notify.SigsetOf(sig)
		fd, err := unix.Signalfd(-1, &set, unix.SFD_NONBLOCK|unix.SFD_CLOEXEC)
		if err != nil {
			t.Error(err)
			return
		}
		defer unix.Close(fd)
		poll := func(data uint64) {
			cb := &iocb{data: data, opcode: iocbCmdPoll, fildes: uint32(fd), buf: pollIn}
			if k, e := ioSubmit(n.id, []*iocb{cb}); k != 1 {
				t.Errorf("io_submit: %d, %v", k, e)
			}
		}
		evs := make([]ioEvent, 4)
		ts := unix.NsecToTimespec(int64(200 * time.Millisecond))
		poll(1)
		if err := notify.RaiseSignal(unix.Gettid(), sig); err != nil {
			t.Error(err)
			return
		}
		if k, e := ioGetevents(n.id, 1, evs, &ts); e != 0 || k != 0 {
			t.Errorf("a signalfd poll armed before the signal completed (%d events, %v): aioring could serve signals", k, e)
		}
		poll(2) // the signal is pending now: polled inline on this thread
		ts = unix.NsecToTimespec(int64(time.Second))
		if k, e := ioGetevents(n.id, 1, evs, &ts); e != 0 || k != 1 || evs[0].data != 2 {
			t.Errorf("a signalfd poll submitted with the signal pending: %d events (%+v), %v; want the second poll's", k, evs[:max(k, 0)], e)
		}
	}()
	<-done
}
