package kevent

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// TestSharedStorageWakeup: two queues of one Kernel watch one eventfd, so
// its storage holds a kevent of each, queue 0's first. Without
// KEVENT_REQ_WAKEUP_ALL a write readies queue 0's kevent only; with it on
// queue 1's kevent, both; and once queue 0's oneshot kevent has fired and
// left the storage, the next write goes to queue 1, the first waker now.
func TestSharedStorageWakeup(t *testing.T) {
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		for _, wakeAll := range []int{0, 1} {
			t.Run(p.String()+map[int]string{0: "-first", 1: "-all"}[wakeAll], func(t *testing.T) {
				sharedWakeup(t, p, wakeAll)
			})
		}
	}
}

func sharedWakeup(t *testing.T, p Path, wakeAll int) {
	k := NewKernel(-1)
	q0, err := k.Open(p, notify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	q1, err := k.Open(p, notify.Options{Params: map[string]int{ParamWakeupAll: wakeAll}})
	if err != nil {
		t.Fatal(err)
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := q0.Add(fd, 10, notify.Readable, notify.Oneshot); err != nil {
		t.Fatal(err)
	}
	if err := q1.Add(fd, 11, notify.Readable, notify.Edge); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); !errors.Is(err, notify.ErrInvalid) {
		t.Errorf("Kernel.Close with open queues = %v, want ErrInvalid", err)
	}
	ev := make([]notify.Event, 4)
	write := func() {
		one := [8]byte{1}
		if _, err := unix.Write(fd, one[:]); err != nil {
			t.Fatal(err)
		}
	}
	got := func(q *Notifier, min int) []uint64 {
		t.Helper()
		n, err := q.Wait(ev, min, time.Duration(min)*time.Second+20*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		var toks []uint64
		for _, e := range ev[:n] {
			toks = append(toks, e.Token)
		}
		return toks
	}
	write()
	if toks := got(q0, 1); len(toks) != 1 || toks[0] != 10 {
		t.Fatalf("queue 0 reported %v, want [10]", toks)
	}
	toks := got(q1, wakeAll)
	if wakeAll == 1 && (len(toks) != 1 || toks[0] != 11) || wakeAll == 0 && len(toks) != 0 {
		t.Fatalf("queue 1 (wakeup_all=%d) reported %v after the first write", wakeAll, toks)
	}
	// Queue 0's oneshot kevent is off the storage: queue 1's comes first.
	write()
	if toks := got(q1, 1); len(toks) != 1 || toks[0] != 11 {
		t.Fatalf("queue 1 reported %v after the second write, want [11]", toks)
	}
	if toks := got(q0, 0); len(toks) != 0 {
		t.Fatalf("queue 0's fired oneshot reported %v", toks)
	}
	// Closing queue 0 takes its kevents off the shared storage; queue 1
	// keeps working.
	q0.Close()
	write()
	if toks := got(q1, 1); len(toks) != 1 || toks[0] != 11 {
		t.Fatalf("queue 1 reported %v after queue 0 closed, want [11]", toks)
	}
	q1.Close()
	if err := k.Close(); err != nil {
		t.Fatalf("Kernel.Close: %v", err)
	}
}

// TestFireThroughReady: by default Fire is the producer's
// KEVENT_CTL_READY (one CallFire each, no storage_ready); fire_direct=1
// fires the source's own storage without a kernel entry.
func TestFireThroughReady(t *testing.T) {
	for _, direct := range []int{0, 1} {
		n, err := New(PathSyscall, notify.Options{HelperCPU: -1, Params: map[string]int{ParamFireDirect: direct}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := n.AddUser(7, notify.Oneshot)
		if err != nil {
			t.Fatal(err)
		}
		if (n.regs[id].st == nil) != (direct == 0) {
			t.Errorf("fire_direct=%d: source storage %v", direct, n.regs[id].st)
		}
		for range 3 {
			if err := n.Fire(id); err != nil {
				t.Fatal(err)
			}
		}
		ev := make([]notify.Event, 4)
		if k, err := n.Wait(ev, 1, time.Second); k != 1 || err != nil || ev[0].Token != 7 {
			t.Fatalf("fire_direct=%d: Wait = %d, %v %+v", direct, k, err, ev[:k])
		}
		// The oneshot kevent is gone: READY finds nothing, and says nothing.
		if err := n.Fire(id); err != nil {
			t.Errorf("fire_direct=%d: Fire of a delivered oneshot: %v", direct, err)
		}
		want := uint64(4)
		if direct == 1 {
			want = 0
		}
		if c := n.Syscalls()[notify.CallFire]; c != want {
			t.Errorf("fire_direct=%d: %d CallFire, want %d", direct, c, want)
		}
		n.Close()
	}
	if _, err := New(PathSyscall, notify.Options{Params: map[string]int{ParamFireDirect: 2}}); !errors.Is(err, notify.ErrInvalid) {
		t.Errorf("fire_direct=2: %v, want ErrInvalid", err)
	}
}
