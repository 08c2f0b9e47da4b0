package kevent

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// simPoller is the poll(2) of fuzzed poll sources: origin i reports
// state[i]. delay (ns) stands for the system call's duration, during which
// the collector runs with the queue unlocked.
type simPoller struct {
	state []uint32
	delay int64
}

func (p *simPoller) poll(fds []unix.PollFd) {
	work(p.delay)
	for i := range fds {
		fds[i].Revents = int16(p.state[fds[i].Fd])
	}
}

// Sources of every fuzzed queue: two user (unotify) origins, two poll ones,
// a timer and a signal (counting origins, fired with a count).
var fuzzSrcTypes = []uint32{typeUnotify, typeUnotify, typePoll, typePoll, typeTimer, typeSignal}

// nShared is the number of shared origins; each queue's own storage follows.
var nShared = len(fuzzSrcTypes)

// driver applies one decoded operation sequence to the implementation and
// the model and fails at the first difference: a return value, an event
// delivered (all 40 bytes, in order), whether a blocking wait slept, or any
// kevent's state afterwards. Two queues share the six origins, so the
// storages hold kevents of both; an origin may go away
// (kevent_storage_fini) and come back as a new storage.
type driver struct {
	t    testing.TB
	m    *model
	us   []*kuser
	sim  *simPoller
	st   []*storage // the shared origins, then each queue's own storage
	data []byte
	pos  int
	buf  []ukevent
	step int
	q    int // the queue the current op works on
	// slept: the injected sleep was called (it stands for a signal
	// arriving while the collector sleeps: EINTR at once).
	slept bool
}

const fuzzQueues = 2

func newDriver(t testing.TB, md mode, slots int, data []byte) *driver {
	var calls notify.Counters
	sim := &simPoller{state: make([]uint32, len(fuzzSrcTypes))}
	d := &driver{t: t, m: newModel(md, fuzzSrcTypes, fuzzQueues, slots), sim: sim, data: data, buf: make([]ukevent, 64)}
	for i, ty := range fuzzSrcTypes {
		d.st = append(d.st, &storage{origin: i, typ: ty})
	}
	for range fuzzQueues {
		u, err := newKuser(md, &calls, sim, slots)
		if err != nil {
			t.Fatal(err)
		}
		u.sleep = func(*atomic.Uint32, uint32, time.Duration) unix.Errno {
			d.slept = true
			return unix.EINTR
		}
		d.us = append(d.us, u)
		d.st = append(d.st, u.ust)
	}
	copy(d.m.state, sim.state)
	return d
}

func (d *driver) next() byte {
	if d.pos >= len(d.data) {
		return 0
	}
	b := d.data[d.pos]
	d.pos++
	return b
}

func (d *driver) fail(format string, args ...any) {
	d.t.Helper()
	d.t.Fatalf("mode %v step %d queue %d: %s", d.m.q[0].mode, d.step, d.q, fmt.Sprintf(format, args...))
}

// errno maps an implementation error to the model's vocabulary.
func errno(err error) unix.Errno {
	var e unix.Errno
	switch {
	case err == nil:
		return 0
	case errors.As(err, &e):
		return e
	case errors.Is(err, os.ErrInvalid):
		return unix.EINVAL
	case errors.Is(err, os.ErrExist):
		return unix.EEXIST
	case errors.Is(err, os.ErrNotExist):
		return unix.ENOENT
	}
	return unix.EIO
}

// pollBits spreads a byte over the poll bits a source can report.
func pollBits(b byte, nval bool) uint32 {
	var m uint32
	for i, bit := range []uint32{pollIn, pollOut, pollRdHup, pollErr, pollHup} {
		if b&(1<<i) != 0 {
			m |= bit
		}
	}
	if nval && b&0x60 == 0x60 {
		m |= pollNval
	}
	return m
}

func (d *driver) reqFlags() uint32 {
	b := d.next()
	req := uint32(b & 0x1f)
	if b&0x20 != 0 {
		req |= reqLevel
	}
	return req | uint32(b>>6)<<reqPrioShift
}

func (d *driver) event(src int) uint32 {
	if fuzzSrcTypes[src] == typePoll {
		return pollBits(d.next(), false)
	}
	return uint32(d.next() % 4)
}

func (d *driver) sameEvents(what string, got, want []ukevent) {
	d.t.Helper()
	if len(got) != len(want) {
		d.fail("%s: delivered %d events %+v, model %d %+v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if got[i] != want[i] {
			d.fail("%s: event %d is %+v, model %+v", what, i, got[i], want[i])
		}
	}
}

func (d *driver) op() {
	d.step++
	b := d.next()
	d.q = int(b>>4) % fuzzQueues
	u, mq := d.us[d.q], d.m.q[d.q]
	md := mq.mode
	switch b & 0x0f % 14 {
	case 0, 8: // ADD
		id := uint64(d.next()%8) + 1
		src := int(d.next()) % nShared
		ty := fuzzSrcTypes[src]
		var extra uint32
		switch sel := d.next() % 16; {
		case sel == 15:
			ty = fuzzSrcTypes[(src+2)%nShared] // wrong type for the origin: EINVAL
		case sel == 14:
			ty = 8 // a type with no callbacks: handed back untouched
		case sel >= 10:
			extra = reqReady // take30's KEVENT_REQ_READY
		}
		uk := ukevent{ID: id, Type: ty, Event: d.event(src), ReqFlags: d.reqFlags() | extra, User: uint64(d.next())}
		mu := uk
		imm, err := u.add(&uk, d.st[src])
		r, merr := mq.add(&mu, src)
		if r == mAddNotAllowed {
			merr = unix.EINVAL
		}
		if imm != (r == mAddImmediate) || errno(err) != merr || uk != mu {
			d.fail("ADD %+v: (%v, %v) %+v, model (%v, %v) %+v", mu, imm, err, uk, r, merr, mu)
		}
	case 1: // MODIFY
		id := uint64(d.next()%8) + 1
		src := 2
		if k := mq.kevs[id]; k != nil {
			src = k.src
		}
		ev, req := d.event(evSrc(src)), d.reqFlags()
		if e, me := errno(u.modify(id, ev, req)), mq.modify(id, ev, req); e != me {
			d.fail("MODIFY %d: %v, model %v", id, e, me)
		}
	case 2: // REMOVE
		id := uint64(d.next()%8) + 1
		if e, me := errno(u.remove(id)), mq.remove(id); e != me {
			d.fail("REMOVE %d: %v, model %v", id, e, me)
		}
	case 3: // READY (ctl), with a count
		id := uint64(d.next()%8) + 1
		v := uint64(d.next() % 4)
		if e, me := errno(u.markReady(id, v, notify.CallCtl)), mq.markReady(id, v); e != me {
			d.fail("READY %d: %v, model %v", id, e, me)
		}
	case 4: // storage_ready, on a shared origin or a queue's own storage
		src := int(d.next()) % len(d.st)
		mask := d.event(evSrc(src))
		var n uint64
		if d.m.srcType[src] != typePoll {
			n = uint64(d.next() % 3)
		}
		storageReady(d.st[src], mask, n, u.calls)
		d.m.storageReady(src, mask, n)
	case 5: // the poll source's state changes (no activity reported)
		src := 2 + int(d.next()%2)
		d.sim.state[src] = pollBits(d.next(), true)
		d.m.state[src] = d.sim.state[src]
	case 6: // collection call
		max := 1 + int(d.next()%8)
		if md == modeTake29 {
			d.wait29(max, false)
			break
		}
		n, _ := u.getEvents(d.buf[:max], 0, 0)
		out, _, _ := mq.getEvents(max, 0, false)
		d.sameEvents("get_events", d.buf[:n], out)
	case 7:
		switch {
		case md == modeZach:
			d.zachRead(1 + int(d.next()%8))
		case md == modeTake29 && d.next()%4 != 0:
			d.commit29()
		default: // take29: get_events copies into the ring too
			n, _ := u.getEvents(d.buf[:64], 0, 0)
			out, _, _ := mq.getEvents(64, 0, false)
			d.sameEvents("get_events", d.buf[:n], out)
		}
	case 9: // kevent_ctl with an array
		d.ctlArray()
	case 10: // a blocking collection that a signal interrupts
		max := 1 + int(d.next()%8)
		if md == modeTake29 {
			d.wait29(max, true)
			break
		}
		d.slept = false
		n, woke := u.getEvents(d.buf[:max], max, Forever)
		out, mwoke, mslept := mq.getEvents(max, max, true)
		d.sameEvents("blocking get_events", d.buf[:n], out)
		if woke != mwoke || d.slept != mslept {
			d.fail("blocking get_events: woke %v slept %v, model %v %v", woke, d.slept, mwoke, mslept)
		}
	case 11: // Wake: kevent_ctl(READY, 0)
		if n, err := u.ctl(ctlReady, nil, nil); n != 0 || err != nil {
			d.fail("READY with no entries: %d, %v", n, err)
		}
		mq.ctl(ctlReady, nil, nil)
	case 12: // the origin goes away: kevent_storage_fini
		src := int(d.next()) % nShared
		storageFini(d.st[src], u.calls)
		d.m.fini(src)
	case 13: // a new origin in a dead one's place (a file reusing the fd)
		src := int(d.next()) % nShared
		if d.m.dead[src] {
			d.st[src] = &storage{origin: src, typ: fuzzSrcTypes[src]}
			d.m.reopen(src)
		}
	}
	d.compareState()
}

// Forever blocks (a signal ends it in the driver).
const Forever = -1

// evSrc is the source whose event vocabulary storage src uses (a queue's
// own storage is a unotify one).
func evSrc(src int) int {
	if src >= nShared {
		return 0
	}
	return src
}

// ctlArray: kevent_ctl(cmd, num) with entries that may fail, compared entry
// for entry with the model after the call.
func (d *driver) ctlArray() {
	u, mq := d.us[d.q], d.m.q[d.q]
	cmd := int(d.next() % 5) // 4: not a command
	num := int(d.next() % 6)
	ukevs := make([]ukevent, num)
	var sts []*storage
	var srcs []int
	for i := range ukevs {
		id := uint64(d.next()%8) + 1
		src := int(d.next()) % nShared
		ty := fuzzSrcTypes[src]
		flag := d.next()
		if flag%8 == 7 {
			ty = 8
		}
		ukevs[i] = ukevent{ID: id, Type: ty, Event: d.event(src), ReqFlags: d.reqFlags(), User: uint64(d.next())}
		if flag&0x10 != 0 {
			ukevs[i].ReqFlags |= reqReady
		}
		// ADD carries ret_data into the kevent (take29's memcpy), READY
		// adds it to a counting kevent's count.
		ukevs[i].RetData[0] = uint32(ukevs[i].User % 3)
		if flag%4 == 3 {
			sts, srcs = append(sts, nil), append(srcs, -1) // unotify: the queue's storage; poll: EBADF
		} else {
			sts, srcs = append(sts, d.st[src]), append(srcs, src)
		}
	}
	mukevs := append([]ukevent(nil), ukevs...)
	n, err := u.ctl(cmd, ukevs, sts)
	mn, merr := mq.ctl(cmd, mukevs, srcs)
	if n != mn || errno(err) != merr {
		d.fail("kevent_ctl(%d, %d): (%d, %v), model (%d, %v)", cmd, num, n, err, mn, merr)
	}
	for i := range ukevs {
		if ukevs[i] != mukevs[i] {
			d.fail("kevent_ctl(%d, %d): entry %d is %+v, model %+v", cmd, num, i, ukevs[i], mukevs[i])
		}
	}
}

func (d *driver) zachRead(max int) {
	var got []ukevent
	var uk ukevent
	for len(got) < max && d.us[d.q].zachNext(&uk) {
		got = append(got, uk)
	}
	d.sameEvents("zach ring", got, d.m.q[d.q].zachRead(max))
}

func (d *driver) wait29(num int, block bool) {
	u, mq := d.us[d.q], d.m.q[d.q]
	if d.next()%8 == 7 {
		num = u.t29.Slots() + 1 // EINVAL
	}
	old := u.t29.Uidx()
	if d.next()%8 == 6 {
		old++ // a stale old_uidx: no sleep
	}
	kidx := u.t29.Kidx()
	timeout := time.Duration(0)
	if block {
		timeout = Forever
	}
	d.slept = false
	n, woke, err := u.keventWait(num, old, timeout)
	want, mwoke, mslept, merr := mq.keventWait(num, old, block)
	if errno(err) != merr || woke != mwoke || d.slept != mslept {
		d.fail("kevent_wait(%d, block %v): %v woke %v slept %v, model %v %v %v", num, block, err, woke, d.slept, merr, mwoke, mslept)
	}
	got := make([]ukevent, n)
	for i := range got {
		got[i] = *u.t29Record((kidx + uint32(i)) % uint32(u.t29.Slots()))
	}
	d.sameEvents("kevent_wait", got, want)
}

func (d *driver) commit29() {
	u := d.us[d.q]
	r := &d.m.q[d.q].t29
	b := d.next()
	var newUidx, over uint32
	if b%4 != 0 {
		// What a reader does: release some of what it was given.
		used := r.size - r.space()
		newUidx = (r.uidx + uint32(b)%(used+1)) % r.size
		over = u.t29.Over()
	} else {
		newUidx = uint32(d.next()) % (r.size + 1)
		over = r.over + uint32(d.next()%3) - 1
	}
	n, err := u.keventCommit(newUidx, over)
	mn, merr := d.m.q[d.q].commit(newUidx, over)
	if n != mn || errno(err) != merr {
		d.fail("kevent_commit(%d, %d): (%d, %v), model (%d, %v)", newUidx, over, n, err, mn, merr)
	}
}

func (d *driver) compareState() {
	d.t.Helper()
	for qi, u := range d.us {
		d.q = qi
		d.compareQueue(u, d.m.q[qi])
	}
	for src, st := range d.st {
		if st.dead != d.m.dead[src] {
			d.fail("storage %d dead %v, model %v", src, st.dead, d.m.dead[src])
		}
		// Kevents finished without their storage's lock wait there for
		// their reaper, out of their queue: not part of the state.
		var live []mRef
		for _, k := range st.list {
			if k.flags&kUser != 0 {
				live = append(live, mRef{d.queueOf(k.u), k.uk.ID})
			}
		}
		ok := len(live) == len(d.m.storages[src])
		for i := 0; ok && i < len(live); i++ {
			ok = live[i] == d.m.storages[src][i]
		}
		if !ok {
			d.fail("storage %d is %v, model %v", src, live, d.m.storages[src])
		}
	}
}

func (d *driver) queueOf(u *kuser) int {
	for i, x := range d.us {
		if x == u {
			return i
		}
	}
	return -1
}

func (d *driver) compareQueue(u *kuser, m *mq) {
	d.t.Helper()
	if len(u.index) != len(m.kevs) {
		d.fail("%d kevents, model %d", len(u.index), len(m.kevs))
	}
	if u.needExit != m.needExit {
		d.fail("need_exit %v, model %v", u.needExit, m.needExit)
	}
	for id, mk := range m.kevs {
		k := u.index[id]
		switch {
		case k == nil:
			d.fail("kevent %d missing", id)
		case k.uk != mk.uk:
			d.fail("kevent %d is %+v, model %+v", id, k.uk, mk.uk)
		case (k.flags&kStorage != 0) != mk.onStorage:
			d.fail("kevent %d on storage %v, model %v", id, k.flags&kStorage != 0, mk.onStorage)
		case (k.flags&kReady != 0) != mk.queued || mk.queued && int(k.list) != mk.list:
			d.fail("kevent %d queued %v on %d, model %v on %d", id, k.flags&kReady != 0, k.list, mk.queued, mk.list)
		case k.flags&(kInFlight|kRequeue) != 0:
			d.fail("kevent %d left in flight", id)
		}
	}
	for li := range u.lists {
		k, n := u.lists[li].head, 0
		for _, id := range m.lists[li] {
			if k == nil || k.uk.ID != id {
				d.fail("list %d differs from the model's %v", li, m.lists[li])
			}
			k, n = k.next, n+1
		}
		if k != nil || n != u.lists[li].n {
			d.fail("list %d longer than the model's %v (n=%d)", li, m.lists[li], u.lists[li].n)
		}
	}
	if m.mode == modeTake29 {
		r := u.t29
		mr := &m.t29
		if r.Kidx() != mr.kidx || r.Uidx() != mr.uidx || r.Over() != mr.over || uint32(r.Space()) != mr.space() {
			d.fail("take29 ring kidx %d uidx %d over %d space %d, model %d %d %d %d",
				r.Kidx(), r.Uidx(), r.Over(), r.Space(), mr.kidx, mr.uidx, mr.over, mr.space())
		}
		for i := range mr.size {
			if *u.t29Record(i) != mr.rec[i] {
				d.fail("take29 ring record %d is %+v, model %+v", i, *u.t29Record(i), mr.rec[i])
			}
		}
	}
}

// maxSeq bounds a sequence, so that each fuzz run (and each step of
// minimising one) stays short; longer inputs add nothing a shorter one
// cannot reach with 8 ids and 4 sources.
const maxSeq = 4096

// runModel drives one sequence: data[0] picks the path, data[1] the ring size.
func runModel(t testing.TB, data []byte) {
	if len(data) < 2 {
		return
	}
	data = data[:min(len(data), maxSeq)]
	d := newDriver(t, mode(data[0]%3), 2+int(data[1]%5), data[2:])
	for d.pos < len(d.data) {
		d.op()
	}
	// Drain what is left, sources quiet; level user kevents stay ready
	// forever, so a few rounds only.
	clear(d.sim.state)
	clear(d.m.state)
	for range 4 {
		for qi, u := range d.us {
			d.q = qi
			mq := d.m.q[qi]
			if mq.mode == modeTake29 {
				d.wait29(u.t29.Slots(), false)
				d.commit29()
			} else {
				n, _ := u.getEvents(d.buf[:64], 0, 0)
				out, _, _ := mq.getEvents(64, 0, false)
				d.sameEvents("final get_events", d.buf[:n], out)
			}
			if mq.mode == modeZach {
				d.zachRead(64)
			}
		}
		d.compareState()
	}
}

// FuzzAgainstModel compares the emulated kernel with the reference model
// over random operation sequences through every collection path. The seed
// corpus (a few hand-written sequences plus 300 random ones from a fixed
// seed) runs in plain go test.
func FuzzAgainstModel(f *testing.F) {
	// ADD unotify id1 ET, fire it twice, collect; then ADD poll id2 LEVEL,
	// make it ready, fire, collect twice, quiet it, collect.
	f.Add([]byte{0, 2, 0, 0, 0, 0, 1, 4, 7, 4, 0, 1, 4, 0, 1, 6, 3})
	f.Add([]byte{1, 0, 0, 1, 2, 0, 1, 0x38, 9, 5, 0, 1, 4, 2, 1, 6, 4, 6, 4, 5, 0, 0, 6, 4, 7, 3})
	f.Add([]byte{2, 0, 0, 0, 0, 0, 1, 0x04, 1, 0, 1, 1, 0, 1, 0x84, 2, 4, 0, 1, 4, 1, 1, 4, 0, 1, 7, 1, 6, 8, 7, 8})
	// Two queues watch poll source 2 (ET, no WAKEUP_ALL): only queue 0's
	// kevent is made ready; both MODIFY to WAKEUP_ALL: both are.
	f.Add([]byte{0, 0, 0x00, 0, 2, 0, 1, 0x04, 0, 0x10, 0, 2, 0, 1, 0x04, 0, 4, 2, 1, 6, 7, 0x16, 7,
		0x01, 0, 1, 0x06, 0x11, 0, 1, 0x06, 4, 2, 1, 6, 7, 0x16, 7})
	// take29, ring of 2: fill it, fire again, a blocking kevent_wait sleeps
	// on the full ring until a signal ends it with nothing copied; commit,
	// wait again.
	f.Add([]byte{1, 0, 0, 0, 0, 0, 1, 0x04, 0, 0, 1, 1, 0, 1, 0x04, 0, 4, 0, 1, 4, 1, 1, 6, 1, 0, 0,
		4, 0, 1, 10, 1, 0, 0, 7, 1, 2, 10, 1, 0, 0})
	// Array ctl: ADD of three (a duplicate id, a type with no callbacks),
	// READY of two (one unknown), MODIFY of more than there are, REMOVE,
	// then a Wake and a blocking get_events a signal interrupts.
	f.Add([]byte{0, 0, 9, 0, 3, 0, 0, 0, 1, 0x04, 0, 0, 0, 0, 1, 0, 0, 1, 0, 7, 1, 0, 0,
		9, 3, 2, 0, 0, 0, 1, 0, 0, 5, 0, 0, 1, 0, 0, 9, 2, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0,
		9, 1, 1, 0, 0, 0, 1, 0, 0, 11, 10, 3, 10, 3})
	// An array MODIFY of a ready poll kevent, then a unotify one: they
	// reach the ready list in array order.
	f.Add([]byte{0, 0, 5, 0, 1, 0, 0, 2, 0, 1, 0x14, 0, 6, 7, 0, 1, 0, 0, 1, 0x04, 0,
		9, 2, 2, 0, 2, 0, 1, 0x04, 0, 1, 0, 0, 1, 0x04, 0, 6, 7})
	rng := rand.New(rand.NewPCG(2006, 12))
	for range 100 {
		b := make([]byte, 16+rng.IntN(240))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		f.Add(b)
	}
	for i := range 300 {
		f.Add(genSeed(rng, mode(i%3)))
	}
	f.Fuzz(func(t *testing.T, data []byte) { runModel(t, data) })
}

// genSeed writes a sequence in the driver's encoding that uniform bytes
// rarely produce: few ids (so ops hit live kevents), mostly ring-eligible
// flags, small rings, and runs of storage_ready between reads, so Zach's
// ring fills, parks, flushes, and parked kevents get modified.
func genSeed(rng *rand.Rand, m mode) []byte {
	b := []byte{byte(m), byte(rng.IntN(3))}
	id := func() byte { return byte(rng.IntN(4)) }
	flags := func() byte {
		f := byte(rng.Uint32())
		if rng.IntN(10) < 7 {
			f &^= 0x28 // neither LAST_CHECK nor LEVEL
		}
		return f
	}
	op := func(o byte) byte { return o | byte(rng.IntN(fuzzQueues))<<4 }
	for range 20 + rng.IntN(60) {
		switch r := rng.IntN(112); {
		case r < 20: // ADD
			src := byte(rng.IntN(nShared))
			b = append(b, op(0), id(), src, byte(rng.IntN(15)), byte(rng.Uint32()|1), flags(), byte(rng.Uint32()))
		case r < 27: // MODIFY
			b = append(b, op(1), id(), byte(rng.Uint32()|1), flags())
		case r < 32: // REMOVE
			b = append(b, op(2), id())
		case r < 37: // READY
			b = append(b, op(3), id(), byte(rng.IntN(4)))
		case r < 62: // a burst of storage_ready on one source
			src := byte(rng.IntN(nShared + fuzzQueues))
			mask := byte(rng.Uint32() | 1)
			for range 1 + rng.IntN(4) {
				b = append(b, op(4), src, mask)
				if int(src) >= nShared || fuzzSrcTypes[src] != typePoll {
					b = append(b, byte(1+rng.IntN(2)))
				}
			}
		case r < 70: // poll state
			b = append(b, op(5), byte(rng.IntN(2)), byte(rng.Uint32()))
		case r < 82: // collection call
			b = append(b, op(6), byte(rng.IntN(8)), byte(rng.IntN(8)), byte(rng.IntN(8)))
		case r < 92: // zach read / take29 commit
			b = append(b, op(7), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32()))
		case r < 100: // array ctl: cmd, num, then entries
			num := rng.IntN(5)
			b = append(b, op(9), byte(rng.IntN(5)), byte(num))
			for range num {
				src := byte(rng.IntN(nShared))
				b = append(b, id(), src, byte(rng.Uint32()), byte(rng.Uint32()|1), flags(), byte(rng.Uint32()))
			}
		case r < 106: // blocking collection, interrupted
			b = append(b, op(10), byte(rng.IntN(8)), byte(rng.IntN(8)), byte(rng.IntN(8)))
		case r < 108: // Wake
			b = append(b, op(11))
		default: // an origin goes away, or comes back
			b = append(b, op(byte(12+rng.IntN(2))), byte(rng.IntN(nShared)))
		}
	}
	return b
}
