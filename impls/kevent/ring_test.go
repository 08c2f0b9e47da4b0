package kevent

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// userStorages makes n unotify origins with one ET kevent each (id i+1).
func (q *tq) userStorages(n int) []*storage {
	var sts []*storage
	for i := range n {
		st := &storage{origin: 100 + i, typ: typeUnotify}
		sts = append(sts, st)
		uk := ukevent{ID: uint64(i + 1), Type: typeUnotify, Event: 1, ReqFlags: reqET}
		if _, err := q.u.add(&uk, st); err != nil {
			q.t.Fatal(err)
		}
	}
	return sts
}

func (q *tq) zachRead(max int) []ukevent {
	var out []ukevent
	var uk ukevent
	for len(out) < max && q.u.zachNext(&uk) {
		out = append(out, uk)
	}
	return out
}

// TestZachWrap publishes and reads through a 3-slot ring across many wraps
// in uneven batches; reading makes no system call.
func TestZachWrap(t *testing.T) {
	q := newTQ(t, modeZach, 3)
	sts := q.userStorages(5)
	next, want := 0, 0
	for round := range 40 {
		burst := 1 + round%3
		for range burst {
			q.u.storageReady(sts[next%5], 1)
			next++
		}
		before := q.calls.Snapshot()
		got := q.zachRead(1 + round%4)
		if d := q.calls.Snapshot().Sub(before); d.Total() != 0 {
			t.Fatalf("reading the ring made system calls: %v", d.Map())
		}
		for _, e := range got {
			if e.ID != uint64(want%5+1) {
				t.Fatalf("round %d: record for kevent %d, want %d", round, e.ID, want%5+1)
			}
			want++
		}
		// Whatever parked in the meantime is flushed by later events or
		// collected by the call; drain it so the next round starts empty.
		for _, e := range append(q.zachRead(8), q.get(8)...) {
			if e.ID != uint64(want%5+1) {
				t.Fatalf("round %d: drained kevent %d, want %d", round, e.ID, want%5+1)
			}
			want++
		}
	}
	if want != next {
		t.Fatalf("fired %d, read %d", next, want)
	}
}

// TestZachParkAndFlush fills a 2-slot ring, checks that further ready
// kevents park (coalesced), that a later event flushes the parked ones into
// slots the reader returned, in order, and that the collection call hands
// over what is still parked.
func TestZachParkAndFlush(t *testing.T) {
	q := newTQ(t, modeZach, 2)
	sts := q.userStorages(5)
	for i := range 4 {
		q.u.storageReady(sts[i], 1)
	}
	q.u.storageReady(sts[2], 1) // parked already: coalesced
	if q.u.parked != 2 || q.u.readyNum != 2 {
		t.Fatalf("parked %d ready %d, want 2 2", q.u.parked, q.u.readyNum)
	}
	q.expect("ring", q.zachRead(1), 1)
	// Slot back; the next event flushes parked kevent 3 before its own.
	q.u.storageReady(sts[4], 1)
	q.expect("after flush", q.zachRead(8), 2, 3)
	if q.u.parked != 2 {
		t.Fatalf("parked %d, want 2 (4 and 5)", q.u.parked)
	}
	// An event of a parked kevent flushes too.
	q.u.storageReady(sts[3], 1)
	q.expect("flushed by a parked kevent's event", q.zachRead(8), 4, 5)
	q.u.storageReady(sts[0], 1)
	q.u.storageReady(sts[1], 1)
	q.u.storageReady(sts[2], 1) // ring full: parks
	q.expect("collection call", q.get(8), 3)
	q.expect("ring", q.zachRead(8), 1, 2)
	if q.u.parked != 0 || q.u.readyNum != 0 {
		t.Fatalf("parked %d ready %d, want 0 0", q.u.parked, q.u.readyNum)
	}
}

// TestTake29CommitRules drives kevent_wait and kevent_commit through the
// queue on a ring of 4, including take29's full-ring quirk.
func TestTake29CommitRules(t *testing.T) {
	q := newTQ(t, modeTake29, 4)
	sts := q.userStorages(6)
	fire := func(ids ...int) {
		for _, i := range ids {
			q.u.storageReady(sts[i-1], 1)
		}
	}
	wait := func(num int) int {
		t.Helper()
		n, _, err := q.u.keventWait(num, q.u.t29.Uidx(), 0)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	commit := func(uidx, over uint32, want int, wantErr error) {
		t.Helper()
		n, err := q.u.keventCommit(uidx, over)
		if wantErr != nil && !errors.Is(err, wantErr) || wantErr == nil && (err != nil || n != want) {
			t.Fatalf("kevent_commit(%d, %d) = %d, %v; want %d, %v", uidx, over, n, err, want, wantErr)
		}
	}
	if _, _, err := q.u.keventWait(5, 0, 0); !errors.Is(err, notify.ErrInvalid) {
		t.Fatalf("kevent_wait(num > ring) = %v, want EINVAL", err)
	}
	fire(1, 2, 3)
	if n := wait(4); n != 3 || q.u.t29.Kidx() != 3 {
		t.Fatalf("copied %d, kidx %d; want 3, 3", n, q.u.t29.Kidx())
	}
	commit(4, 0, 0, unix.EINVAL)    // new_uidx >= size
	commit(1, 2, 0, unix.EOVERFLOW) // over neither ring_over nor ring_over-1
	commit(2, 0, 2, nil)
	fire(4, 5, 6)
	if n := wait(4); n != 3 { // space 3: kidx 3 -> 2, wrapped
		t.Fatalf("copied %d, want 3", n)
	}
	if n := wait(4); n != 0 {
		t.Fatalf("kevent_wait on a full ring copied %d", n)
	}
	commit(3, ^uint32(0), 0, unix.EOVERFLOW) // stale over on a forward commit
	commit(2, 0, 0, nil)                     // == uidx on a full ring: nothing, the quirk
	commit(1, 0, 3, nil)                     // 2 -> 1 is a wrap: 3 records
	if q.u.t29.Over() != 1 {
		t.Fatalf("ring_over %d after a wrap, want 1", q.u.t29.Over())
	}
	commit(2, 1, 1, nil)
	if q.u.t29.Space() != 4 {
		t.Fatalf("space %d, want 4", q.u.t29.Space())
	}
}

// TestTake29NotifierWraps runs the take29 path through many wraps of a
// small ring with the Notifier's reader and committer.
func TestTake29NotifierWraps(t *testing.T) {
	for _, batch := range []int{1, 3} {
		n, err := New(PathTake29, notify.Options{HelperCPU: -1, Params: map[string]int{ParamRingSlots: 4, ParamCommitBatch: batch}})
		if err != nil {
			t.Fatal(err)
		}
		const srcs = 6
		var id [srcs]int
		for i := range id {
			if id[i], err = n.AddUser(uint64(i), notify.Edge); err != nil {
				t.Fatal(err)
			}
		}
		ev := make([]notify.Event, 8)
		for round := range 50 {
			want := 1 + round%srcs
			for i := range want {
				n.Fire(id[i])
			}
			seen := map[uint64]bool{}
			for len(seen) < want {
				k, err := n.Wait(ev, 1, time.Second)
				if err != nil || k == 0 {
					t.Fatalf("batch %d round %d: Wait = %d, %v", batch, round, k, err)
				}
				for _, e := range ev[:k] {
					if seen[e.Token] || e.Token >= uint64(want) {
						t.Fatalf("batch %d round %d: token %d again or unfired", batch, round, e.Token)
					}
					seen[e.Token] = true
				}
			}
		}
		if over := n.u.t29.Over(); over < 20 {
			t.Errorf("batch %d: ring_over %d after ~175 records through 4 slots", batch, over)
		}
		if c := n.Syscalls()[notify.CallCommit]; c == 0 {
			t.Errorf("batch %d: no kevent_commit counted", batch)
		}
		n.Close()
	}
}

// TestZachNotifierParking: more ready sources than ring slots; one Wait
// gets every one of them, the overflow through the collection call.
func TestZachNotifierParking(t *testing.T) {
	n, err := New(PathZach, notify.Options{HelperCPU: -1, Params: map[string]int{ParamRingSlots: 4}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	const srcs = 16
	for i := range srcs {
		id, err := n.AddUser(uint64(i), notify.Edge)
		if err != nil {
			t.Fatal(err)
		}
		n.Fire(id)
	}
	if n.u.parked != srcs-4 {
		t.Fatalf("parked %d, want %d", n.u.parked, srcs-4)
	}
	ev := make([]notify.Event, 32)
	k, err := n.Wait(ev, srcs, time.Second)
	if err != nil || k != srcs {
		t.Fatalf("Wait = %d, %v; want %d", k, err, srcs)
	}
	seen := map[uint64]bool{}
	for _, e := range ev[:k] {
		seen[e.Token] = true
	}
	if len(seen) != srcs {
		t.Fatalf("tokens %v, want all %d once", seen, srcs)
	}
	if c := n.Syscalls()[notify.CallWait]; c != 1 {
		t.Errorf("%d collection calls, want 1 (ring first, then one call for the parked)", c)
	}
}

// TestZachLevelFairness: the ring is kept full (every Wait finds it full,
// since the sources are fired again before each Wait and their parked
// kevents flush into the slots the last Wait returned) while a level fd
// source stays ready. It can only be reported by the collection call,
// which the reader must make every zach_n records even though each Wait is
// filled from the ring.
func TestZachLevelFairness(t *testing.T) {
	const zachN, room = 8, 4
	n, err := New(PathZach, notify.Options{HelperCPU: -1, Params: map[string]int{ParamRingSlots: 4, ParamZachN: zachN}})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	fd, err := unix.Eventfd(1, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC) // readable, never drained
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	const levelToken = 1000
	if err := n.Add(fd, levelToken, notify.Readable, notify.Level); err != nil {
		t.Fatal(err)
	}
	var ids [16]int
	for i := range ids {
		if ids[i], err = n.AddUser(uint64(i), notify.Edge); err != nil {
			t.Fatal(err)
		}
	}
	ev := make([]notify.Event, room)
	const waits = 60
	level := 0
	for range waits {
		for _, id := range ids {
			n.Fire(id)
		}
		k, err := n.Wait(ev, 1, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ev[:k] {
			if e.Token == levelToken {
				level++
			}
		}
	}
	// zach_n/room Waits read the ring, the next makes the call.
	if want := waits / (zachN/room + 1); level < want {
		t.Errorf("level source reported %d times in %d Waits, want %d", level, waits, want)
	}
}
