package kevent

import (
	"errors"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// tq is a core queue on simulated sources: sources 0, 1 unotify, 2, 3 poll
// (whose fd state the test sets in sim.state).
type tq struct {
	t     *testing.T
	u     *kuser
	sim   *simPoller
	st    []*storage
	calls notify.Counters
}

func newTQ(t *testing.T, m mode, slots int) *tq {
	q := &tq{t: t, sim: &simPoller{state: make([]uint32, len(fuzzSrcTypes))}}
	u, err := newKuser(m, &q.calls, q.sim, slots)
	if err != nil {
		t.Fatal(err)
	}
	q.u = u
	for i, ty := range fuzzSrcTypes {
		q.st = append(q.st, &storage{origin: i, typ: ty})
	}
	return q
}

func (q *tq) add(id uint64, src int, event, req uint32) {
	q.t.Helper()
	uk := ukevent{ID: id, Type: q.st[src].typ, Event: event, ReqFlags: req}
	if imm, err := q.u.add(&uk, q.st[src]); err != nil || imm {
		q.t.Fatalf("add %d: immediate %v, %v", id, imm, err)
	}
}

// get collects without blocking through the queue's collection call.
func (q *tq) get(max int) []ukevent {
	buf := make([]ukevent, max)
	n, _ := q.u.getEvents(buf, 0, 0)
	return buf[:n]
}

func ids(evs []ukevent) []uint64 {
	var out []uint64
	for _, e := range evs {
		out = append(out, e.ID)
	}
	return out
}

func (q *tq) expect(what string, got []ukevent, want ...uint64) {
	q.t.Helper()
	g := ids(got)
	if len(g) != len(want) {
		q.t.Fatalf("%s: got ids %v, want %v", what, g, want)
	}
	for i := range g {
		if g[i] != want[i] {
			q.t.Fatalf("%s: got ids %v, want %v", what, g, want)
		}
	}
}

func TestOneshot(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.add(1, 0, 1, reqOneshot)
	q.u.storageReady(q.st[0], 1)
	q.u.storageReady(q.st[0], 1)
	ev := q.get(8)
	q.expect("first fire", ev, 1)
	if ev[0].RetFlags != retDone {
		t.Errorf("ret flags %#x, want DONE", ev[0].RetFlags)
	}
	if len(q.u.index) != 0 || len(q.st[0].list) != 0 {
		t.Fatalf("oneshot kevent not freed on delivery: index %d storage %d", len(q.u.index), len(q.st[0].list))
	}
	q.u.storageReady(q.st[0], 1)
	q.expect("after delivery", q.get(8))
	if err := q.u.modify(1, 1, reqOneshot); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("MODIFY of a delivered oneshot kevent = %v, want ErrNotExist (take29 frees it)", err)
	}
}

func TestEdgeAndDefault(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.add(1, 0, 1, reqET)
	q.add(2, 1, 1, 0)
	for range 3 {
		q.u.storageReady(q.st[0], 1)
		q.u.storageReady(q.st[1], 1)
	}
	q.expect("coalesced while pending", q.get(8), 1, 2)
	q.expect("nothing new", q.get(8))
	if et, def := q.u.index[1].uk.RetFlags, q.u.index[2].uk.RetFlags; et != 0 || def != retDone {
		t.Errorf("after delivery ET ret flags %#x (want 0), default %#x (want DONE kept)", et, def)
	}
	q.u.storageReady(q.st[0], 1)
	q.u.storageReady(q.st[1], 1)
	q.expect("new activity", q.get(8), 1, 2)
}

func TestLastCheck(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.add(1, 2, pollIn, reqLastCheck|reqET)
	q.u.storageReady(q.st[2], pollIn) // activity reported, then drained
	q.expect("not ready at dequeue", q.get(8))
	k := q.u.index[1]
	if k == nil || k.flags&kStorage == 0 || k.uk.ReqFlags&reqLastCheck == 0 || k.uk.RetFlags != 0 {
		t.Fatalf("dropped kevent should stay registered with LAST_CHECK and clear ret flags: %+v", k)
	}
	q.sim.state[2] = pollIn
	q.u.storageReady(q.st[2], pollIn)
	ev := q.get(8)
	q.expect("ready at dequeue", ev, 1)
	if ev[0].RetData[0] != pollIn {
		t.Errorf("ret_data[0] %#x, want POLLIN", ev[0].RetData[0])
	}
}

func TestLevelRequeue(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.sim.state[2] = pollIn
	q.add(1, 2, pollIn, reqLevel|reqLastCheck|reqAlwaysQueue)
	for range 3 {
		q.expect("level, still ready", q.get(8), 1) // once per collection
	}
	q.sim.state[2] = 0
	q.expect("drained", q.get(8))
	q.expect("stays quiet", q.get(8))
	q.sim.state[2] = pollIn
	q.u.storageReady(q.st[2], pollIn)
	q.expect("ready again", q.get(8), 1)
}

func TestAddReadyAtOnce(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.sim.state[2] = pollIn
	uk := ukevent{ID: 1, Type: typePoll, Event: pollIn | pollOut}
	imm, err := q.u.add(&uk, q.st[2])
	if err != nil || !imm || uk.RetFlags&retDone == 0 || uk.RetData[0] != 0 {
		t.Fatalf("ready at add: immediate %v err %v %+v; want the kevent back with DONE", imm, err, uk)
	}
	if len(q.u.index) != 0 || len(q.st[2].list) != 0 {
		t.Fatal("a kevent handed back from ADD must not stay registered")
	}
	q.add(2, 2, pollIn, reqAlwaysQueue)
	q.expect("ALWAYS_QUEUE", q.get(8), 2)
	// take30 unotify: ALWAYS_QUEUE makes it ready at add.
	q.add(3, 0, 1, reqAlwaysQueue)
	q.add(4, 0, 1, 0)
	q.expect("unotify", q.get(8), 3)
	q.sim.state[3] = pollNval
	uk = ukevent{ID: 5, Type: typePoll, Event: pollIn}
	if _, err := q.u.add(&uk, q.st[3]); !errors.Is(err, unix.EBADF) || uk.RetFlags != retBroken|retDone || int32(uk.RetData[1]) != -int32(unix.EBADF) {
		t.Errorf("add on a closed fd: %v %+v, want EBADF with BROKEN|DONE", err, uk)
	}
	uk = ukevent{ID: 2, Type: typePoll, Event: pollIn}
	if _, err := q.u.add(&uk, q.st[2]); !errors.Is(err, os.ErrExist) {
		t.Errorf("duplicate id: %v, want ErrExist", err)
	}
}

func TestWakeupAll(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.add(1, 0, 1, 0)
	q.add(2, 0, 1, 0)
	q.add(3, 0, 1, reqWakeupAll)
	q.u.storageReady(q.st[0], 1)
	q.expect("first-waker-only but WAKEUP_ALL", q.get(8), 1, 3)
}

func TestPriorityOrder(t *testing.T) {
	for _, m := range []mode{modeSyscall, modeTake29, modeZach} {
		q := newTQ(t, m, 8)
		// LEVEL keeps zach kevents off the ring, on the priority lists;
		// WAKEUP_ALL readies every kevent of a storage.
		for p := range numPrio {
			req := reqLevel | reqWakeupAll | uint32(p)<<reqPrioShift
			q.add(uint64(10+p), 0, 1, req)
			q.add(uint64(20+p), 1, 1, req)
		}
		for _, src := range []int{0, 1} {
			q.u.storageReady(q.st[src], 1)
		}
		var got []ukevent
		if m == modeTake29 {
			n, _, err := q.u.keventWait(8, q.u.t29.Uidx(), 0)
			if err != nil {
				t.Fatal(err)
			}
			for i := range n {
				got = append(got, *q.u.t29Record(uint32(i)))
			}
		} else {
			got = q.get(8)
		}
		q.expect(m.String(), got, 13, 23, 12, 22, 11, 21, 10, 20)
	}
}

func TestRemoveReadyNeverDelivered(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.add(1, 0, 1, 0)
	q.add(2, 1, 1, 0)
	q.u.storageReady(q.st[0], 1)
	q.u.storageReady(q.st[1], 1)
	if err := q.u.remove(1); err != nil {
		t.Fatal(err)
	}
	q.expect("after REMOVE of a ready kevent", q.get(8), 2)
	if err := q.u.remove(1); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("second REMOVE = %v, want ErrNotExist", err)
	}
}

func TestCtlReady(t *testing.T) {
	q := newTQ(t, modeSyscall, 4)
	q.add(1, 2, pollIn, reqET) // a poll kevent, its fd quiet
	if err := q.u.markReady(1, 0, notify.CallCtl); err != nil {
		t.Fatal(err)
	}
	q.expect("KEVENT_CTL_READY", q.get(8), 1)
	if err := q.u.markReady(9, 0, notify.CallCtl); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("READY of an unknown id = %v", err)
	}
}
