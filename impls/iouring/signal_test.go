package iouring

import (
	"errors"
	"os"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// Signals are thread-directed (notify/signals.go): the collector runs on a
// locked thread with the signal blocked there, and producers tgkill that
// thread.

// testSig is a real-time signal: queued one per raise, so counts are exact.
const testSig = notify.SigRTMin + 6

func blockSignal(t *testing.T, sig int) {
	t.Helper()
	if err := notify.BlockSignal(sig); err != nil {
		t.Fatal(err)
	}
}

var raiseSignal = notify.RaiseSignal

// onSignalThread runs f on a fresh goroutine locked to its thread with sig
// blocked, and lets that goroutine exit still locked, so the thread (and
// whatever is still pending on it) dies with it and never runs other Go code
// with the signal blocked.
func onSignalThread(t *testing.T, sig int, f func(t *testing.T, tid int)) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		blockSignal(t, sig)
		f(t, unix.Gettid())
	}()
	<-done
}

// TestSignalThreadDirected: real-time signals tgkill'ed at the collecting
// thread, before a Wait and during a blocked one, are each counted once.
func TestSignalThreadDirected(t *testing.T) {
	for _, s := range []Setup{Plain, Coop} {
		for _, ms := range []bool{false, true} {
			name := s.String() + "-oneshot"
			if ms {
				name = s.String() + "-multishot"
			}
			t.Run(name, func(t *testing.T) {
				onSignalThread(t, testSig, func(t *testing.T, tid int) {
					n, err := New(Config{Setup: s, HelperCPU: -1, Multishot: ms})
					if notify.IsUnavailable(err) {
						t.Skip(err)
					}
					if err != nil {
						t.Fatal(err)
					}
					defer n.Close()
					signalCounts(t, n, tid)
				})
			})
		}
	}
}

func signalCounts(t *testing.T, n *Notifier, tid int) {
	id, err := n.AddSignal(testSig, 11)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.AddSignal(testSig, 12); !errors.Is(err, os.ErrExist) {
		t.Errorf("second AddSignal of one signal = %v, want ErrExist", err)
	}
	// Raised before any Wait: the POLL_ADD is not even submitted yet.
	for i := 0; i < 5; i++ {
		if err := raiseSignal(tid, testSig); err != nil {
			t.Fatal(err)
		}
	}
	before := n.Syscalls()
	if got := collectKinds(t, n, notify.KindSignal, 50*time.Millisecond); got[11] != 5 || len(got) != 1 {
		t.Errorf("5 raised before Wait, reported %v", got)
	}
	if d := n.Syscalls().Sub(before); d[notify.CallDrain] == 0 {
		t.Errorf("signalfd reads not counted: %v", d.Map())
	}
	// Raised by another thread while the collector blocks in the kernel.
	go func() {
		time.Sleep(20 * time.Millisecond)
		for i := 0; i < 3; i++ {
			raiseSignal(tid, testSig)
		}
	}()
	start := time.Now()
	ev := make([]notify.Event, 4)
	var total uint64
	for total < 3 && time.Since(start) < 5*time.Second {
		m, err := n.Wait(ev, 1, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ev[:m] {
			if e.Token != 11 || e.Kind != notify.KindSignal {
				t.Fatalf("event %+v", e)
			}
			total += e.Data
		}
	}
	total += collectKinds(t, n, notify.KindSignal, 20*time.Millisecond)[11]
	if total != 3 {
		t.Errorf("3 raised during a blocked Wait, reported %d", total)
	}
	// Removed: raised signals stay pending on the thread, unreported.
	raiseSignal(tid, testSig)
	if err := n.RemoveSource(id); err != nil {
		t.Fatal(err)
	}
	if got := collectKinds(t, n, notify.KindSignal, 30*time.Millisecond); len(got) != 0 {
		t.Errorf("removed signal reported: %v", got)
	}
}

func TestSignalRefused(t *testing.T) {
	n := openLocked(t, Config{Setup: Plain, HelperCPU: -1})
	for _, sig := range []int{0, -1, 65, int(unix.SIGKILL), int(unix.SIGSTOP), int(unix.SIGURG), int(unix.SIGSEGV), 32} {
		if _, err := n.AddSignal(sig, 0); !errors.Is(err, notify.ErrInvalid) {
			t.Errorf("AddSignal(%d) = %v, want ErrInvalid", sig, err)
		}
	}
	// Not blocked in this thread: refused, not delivered to Go's handler later.
	if _, err := n.AddSignal(testSig+1, 0); !errors.Is(err, notify.ErrInvalid) {
		t.Errorf("AddSignal of an unblocked signal = %v, want ErrInvalid", err)
	}
}

// TestSignalSQPoll is why sqpoll refuses signals: the ring polls a signalfd
// from the SQPOLL thread, whose pending set never holds a signal directed at
// the collecting thread, so the signal stays unseen. The check is made with
// the refusal lifted; if this kernel ever reports the signal, the test fails
// and the refusal should go.
func TestSignalSQPoll(t *testing.T) {
	onSignalThread(t, testSig, func(t *testing.T, tid int) {
		n, err := New(Config{Setup: SQPoll, HelperCPU: -1})
		if notify.IsUnavailable(err) {
			t.Skip(err)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer n.Close()
		if _, err := n.AddSignal(testSig, 1); !errors.Is(err, errors.ErrUnsupported) {
			t.Fatalf("sqpoll AddSignal = %v, want ErrUnsupported", err)
		}
		n.kops.signals = nil
		if _, err := n.AddSignal(testSig, 1); err != nil {
			t.Fatal(err)
		}
		// Let the SQ thread take the POLL_ADD, then raise.
		collectKinds(t, n, notify.KindSignal, 10*time.Millisecond)
		raiseSignal(tid, testSig)
		if got := collectKinds(t, n, notify.KindSignal, 200*time.Millisecond); len(got) != 0 {
			t.Errorf("sqpoll reported a thread-directed signal (%v): the refusal is unfounded on this kernel", got)
		}
		// It is still pending on this thread: the ring never consumed it.
		set := notify.SigsetOf(testSig)
		fd, err := unix.Signalfd(-1, &set, unix.SFD_NONBLOCK|unix.SFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		if k := n.drainSignal(fd); k != 1 {
			t.Errorf("the collecting thread holds %d pending instances, want 1", k)
		}
	})
}
