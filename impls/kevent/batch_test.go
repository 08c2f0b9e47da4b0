package kevent

import (
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// TestCtlArrayMalformed: an ADD array with bad entries in the middle hands
// back exactly those entries, first, with take29's flags and -errno, and
// registers the rest; READY and REMOVE arrays behave as the patch's did.
func TestCtlArrayMalformed(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.add(9, 0, 1, 0)
	ukevs := []ukevent{
		{ID: 1, Type: typeUnotify, Event: 1, ReqFlags: reqET},
		{ID: 9, Type: typeUnotify, Event: 1},   // duplicate id: EEXIST
		{ID: 2, Type: 8, Event: 1, User: 42},   // a type with no callbacks: back untouched
		{ID: 3, Type: typePoll, Event: pollIn}, // no origin (fget failed): EBADF
		{ID: 4, Type: typeUnotify, Event: 1},   // the queue's own storage
		{ID: 5, Type: typePoll, Event: pollIn, User: 7},
	}
	sts := []*storage{q.st[0], q.st[1], nil, nil, nil, q.st[2]}
	n, err := q.u.ctl(ctlAdd, ukevs, sts)
	if err != nil || n != 3 {
		t.Fatalf("ADD array: %d, %v; want 3 handed back", n, err)
	}
	want := []ukevent{
		{ID: 9, Type: typeUnotify, Event: 1, RetFlags: retBroken | retDone, RetData: [2]uint32{0, negErrno(unix.EEXIST)}},
		{ID: 2, Type: 8, Event: 1, User: 42},
		{ID: 3, Type: typePoll, Event: pollIn, RetFlags: retBroken | retDone, RetData: [2]uint32{0, negErrno(unix.EBADF)}},
	}
	for i, w := range want {
		if ukevs[i] != w {
			t.Errorf("handed back %d: %+v, want %+v", i, ukevs[i], w)
		}
	}
	for _, id := range []uint64{1, 4, 5, 9} {
		if q.u.index[id] == nil {
			t.Errorf("kevent %d not registered", id)
		}
	}
	if q.u.index[4].st != q.u.ust {
		t.Error("a unotify kevent without an origin is not on the queue's storage")
	}
	// READY: the unknown id comes back, the count is of those made ready.
	rd := []ukevent{{ID: 4}, {ID: 77}, {ID: 1}}
	if n, err := q.u.ctl(ctlReady, rd, nil); n != 2 || err != nil || rd[0].ID != 77 {
		t.Errorf("READY array: %d, %v, %+v; want 2 with id 77 handed back", n, err, rd[0])
	}
	q.expect("made ready", q.get(8), 4, 1)
	// REMOVE: every entry DONE, the unknown one BROKEN, the call returns 0.
	rm := []ukevent{{ID: 5}, {ID: 77}}
	if n, err := q.u.ctl(ctlRemove, rm, nil); n != 0 || err != nil || rm[0].RetFlags != retDone || rm[1].RetFlags != retBroken|retDone {
		t.Errorf("REMOVE array: %d, %v, %+v", n, err, rm)
	}
	// More entries than kevents: EINVAL for the whole call.
	if _, err := q.u.ctl(ctlModify, make([]ukevent, 9), nil); !errors.Is(err, unix.EINVAL) {
		t.Errorf("MODIFY of 9 on a queue of 3: %v, want EINVAL", err)
	}
	if c := q.calls.Snapshot()[notify.CallCtl]; c != 5 {
		t.Errorf("%d control calls, want 5 (one per array, one for the first add)", c)
	}
}

// TestBatch: a batch of registrations is one kevent_ctl per command; a bad
// change fails alone.
func TestBatch(t *testing.T) {
	for _, p := range []Path{PathSyscall, PathTake29, PathZach} {
		t.Run(p.String(), func(t *testing.T) { batchPath(t, p) })
	}
}

func batchPath(t *testing.T, p Path) {
	n, err := New(p, testOptions)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	var fds []int
	for range 4 {
		fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
	}
	cs := []notify.Change{
		{Op: notify.OpAdd, FD: fds[0], Token: 0, In: notify.Readable, Tr: notify.Oneshot},
		{Op: notify.OpAdd, FD: fds[1], Token: 1, In: notify.Readable, Tr: notify.Oneshot},
		{Op: notify.OpAdd, FD: fds[1], Token: 9, In: notify.Readable, Tr: notify.Oneshot},  // twice
		{Op: notify.OpAdd, FD: 1 << 20, Token: 9, In: notify.Readable, Tr: notify.Oneshot}, // not open
		{Op: notify.OpAdd, FD: fds[2], Token: 2, In: notify.Readable, Tr: notify.Oneshot},
		{Op: notify.OpAdd, FD: fds[3], Token: 3, In: notify.Readable, Tr: notify.Oneshot},
	}
	ctl0 := n.Syscalls()[notify.CallCtl]
	if err := n.Batch(cs); err == nil {
		t.Fatal("Batch with bad changes returned nil")
	}
	if !errors.Is(cs[2].Err, os.ErrExist) || cs[3].Err == nil {
		t.Errorf("errors %v, %v; want ErrExist and a refusal", cs[2].Err, cs[3].Err)
	}
	for _, i := range []int{0, 1, 4, 5} {
		if cs[i].Err != nil {
			t.Errorf("change %d: %v", i, cs[i].Err)
		}
	}
	if c := n.Syscalls()[notify.CallCtl] - ctl0; c != 1 {
		t.Errorf("%d kevent_ctl calls for the adds, want 1", c)
	}
	ev := make([]notify.Event, 8)
	fire := func() {
		for _, fd := range fds {
			one := [8]byte{1}
			unix.Write(fd, one[:])
		}
	}
	collect := func(what string) {
		t.Helper()
		seen := map[uint64]bool{}
		deadline := time.Now().Add(2 * time.Second)
		for len(seen) < 4 && time.Now().Before(deadline) {
			k, err := n.Wait(ev, 1, 100*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range ev[:k] {
				if seen[e.Token] {
					t.Fatalf("%s: token %d twice", what, e.Token)
				}
				seen[e.Token] = true
			}
		}
		if len(seen) != 4 {
			t.Fatalf("%s: saw %v, want tokens 0..3", what, seen)
		}
		for _, fd := range fds {
			var b [8]byte
			unix.Read(fd, b[:])
		}
	}
	fire()
	collect("after the batched add")
	// Re-arm the four delivered oneshot kevents in one batch.
	mods := make([]notify.Change, 4)
	for i, fd := range fds {
		mods[i] = notify.Change{Op: notify.OpModify, FD: fd, Token: uint64(i), In: notify.Readable, Tr: notify.Oneshot}
	}
	ctl0 = n.Syscalls()[notify.CallCtl]
	if err := n.Batch(mods); err != nil {
		t.Fatal(err)
	}
	if c := n.Syscalls()[notify.CallCtl] - ctl0; c > 2 {
		t.Errorf("%d kevent_ctl calls for four re-arms, want at most 2", c)
	}
	fire()
	collect("after the batched re-arm")
	rms := make([]notify.Change, 4)
	for i, fd := range fds {
		rms[i] = notify.Change{Op: notify.OpRemove, FD: fd}
	}
	if err := n.Batch(rms); err != nil {
		t.Fatal(err)
	}
	fire()
	if k, _ := n.Wait(ev, 0, 0); k != 0 {
		t.Errorf("%d events after the batched remove", k)
	}
	if err := n.Remove(fds[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Remove after the batched remove: %v, want ErrNotExist", err)
	}
}

// negErrno is ret_data[1] of a refused ADD: the negative errno.
func negErrno(e unix.Errno) uint32 { return uint32(-int32(e)) }
