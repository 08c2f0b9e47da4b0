package kevent

import "golang.org/x/sys/unix"

// model is the reference semantics of the emulated kernel: a sequential,
// obviously-correct transcription of take29's rules (kevent.c,
// kevent_user.c, ukevent.h), take28's poll enqueue, take30's unotify type,
// kbench's priorities and LEVEL flag, and Zach's ring, over plain slices
// and maps. It shares no code with the implementation except the ukevent
// type and flag constants. Single goroutine.
//
// Several queues watch one set of origins: storages belong to the origins
// (per source, in add order, across queues), so first-waker-only and
// KEVENT_REQ_WAKEUP_ALL choose between queues. Each queue also has its own
// unotify storage (take30's k->user->st), source numSrc+q.
type model struct {
	storages [][]mRef // per source: kevents in the order added, of every queue
	srcType  []uint32
	state    []uint32 // per poll source: what poll(2) would report
	dead     []bool   // kevent_storage_fini ran on the source's storage
	numSrc   int
	q        []*mq
}

// mRef names a kevent on a storage.
type mRef struct {
	q  int
	id uint64
}

// mq is one queue (struct kevent_user).
type mq struct {
	m        *model
	idx      int
	mode     mode
	kevs     map[uint64]*mKev
	lists    [2 * numPrio][]uint64
	needExit bool

	zcap  int
	zring []ukevent // zach: published, not yet read

	t29 mRing
}

type mKev struct {
	uk        ukevent
	src       int
	onStorage bool
	queued    bool
	list      int
}

// mRing is take29's kevent_ring arithmetic, transcribed independently of
// internal/ring.
type mRing struct {
	size             uint32
	kidx, uidx, over uint32
	full             bool
	rec              []ukevent
}

func newModel(m mode, srcTypes []uint32, queues, ringSlots int) *model {
	n := len(srcTypes)
	md := &model{srcType: append([]uint32(nil), srcTypes...), numSrc: n, state: make([]uint32, n)}
	for qi := range queues {
		md.srcType = append(md.srcType, typeUnotify)
		md.q = append(md.q, &mq{m: md, idx: qi, mode: m, kevs: map[uint64]*mKev{}, zcap: ringSlots,
			t29: mRing{size: uint32(ringSlots), rec: make([]ukevent, ringSlots)}})
	}
	md.storages = make([][]mRef, len(md.srcType))
	md.dead = make([]bool, len(md.srcType))
	md.state = append(md.state, make([]uint32, queues)...)
	return md
}

func eligibleM(k *mKev) bool { return k.uk.ReqFlags&(reqLevel|reqLastCheck) == 0 }

// verdict is the type's callback outside storage_ready: a unotify kevent
// is always ready, a timer or signal kevent while it holds a count, a poll
// kevent by its source's state.
func (q *mq) verdict(k *mKev) int {
	m := q.m
	switch m.srcType[k.src] {
	case typePoll:
	case typeTimer, typeSignal:
		if k.uk.count() != 0 {
			return 1
		}
		return 0
	default:
		return 1
	}
	rev := m.state[k.src]
	if rev&pollNval != 0 {
		return -1
	}
	r := rev & k.uk.Event
	k.uk.RetData[0] = r
	if r != 0 {
		return 1
	}
	return 0
}

func remove(s []uint64, id uint64) []uint64 {
	for i, x := range s {
		if x == id {
			return append(s[:i:i], s[i+1:]...)
		}
	}
	return s
}

func (q *mq) offStorage(k *mKev) {
	l := q.m.storages[k.src]
	for i, r := range l {
		if r == (mRef{q.idx, k.uk.ID}) {
			q.m.storages[k.src] = append(l[:i:i], l[i+1:]...)
			break
		}
	}
	k.onStorage = false
}

func (q *mq) unqueue(k *mKev) {
	q.lists[k.list] = remove(q.lists[k.list], k.uk.ID)
	k.queued = false
}

func (q *mq) finish(k *mKev) {
	delete(q.kevs, k.uk.ID)
	if k.onStorage {
		q.offStorage(k)
	}
	if k.queued {
		q.unqueue(k)
	}
}

func (q *mq) push(k *mKev, li int) {
	q.lists[li] = append(q.lists[li], k.uk.ID)
	k.queued, k.list = true, li
}

func (q *mq) readyNum() int {
	n := 0
	for _, l := range q.lists {
		n += len(l)
	}
	return n
}

func (q *mq) parked() bool {
	for p := 0; p < numPrio; p++ {
		if len(q.lists[2*p]) > 0 {
			return true
		}
	}
	return false
}

func (q *mq) publish(k *mKev) {
	q.zring = append(q.zring, k.uk)
	q.complete(k, nil)
}

func (q *mq) flush() {
	for p := numPrio - 1; p >= 0; p-- {
		for len(q.lists[2*p]) > 0 {
			k := q.kevs[q.lists[2*p][0]]
			if !eligibleM(k) {
				q.unqueue(k)
				q.push(k, 2*p+1)
				continue
			}
			if len(q.zring) >= q.zcap {
				return
			}
			q.unqueue(k)
			q.publish(k)
		}
	}
}

func (q *mq) enqueue(k *mKev) {
	queued := k.queued
	if q.mode == modeZach {
		q.flush()
	}
	if queued {
		return
	}
	p := prio(k.uk.ReqFlags)
	switch {
	case q.mode != modeZach:
		q.push(k, 2*p)
	case eligibleM(k):
		if !q.parked() && len(q.zring) < q.zcap {
			q.publish(k)
			return
		}
		q.push(k, 2*p)
	default:
		q.push(k, 2*p+1)
	}
}

func (q *mq) ready(k *mKev, ret int) {
	switch {
	case ret > 0:
		k.uk.RetFlags |= retDone
	case ret < 0:
		k.uk.RetFlags |= retBroken | retDone
	default:
		ret = int(k.uk.RetFlags & (retBroken | retDone))
	}
	if ret == 0 {
		return
	}
	if (k.uk.ReqFlags&reqOneshot != 0 || ret < 0) && k.onStorage {
		q.offStorage(k)
	}
	q.enqueue(k)
}

// complete: a oneshot or broken kevent is freed at delivery.
func (q *mq) complete(k *mKev, deferred *[]*mKev) {
	if k.uk.ReqFlags&reqOneshot != 0 || k.uk.RetFlags&retBroken != 0 {
		q.finish(k)
		return
	}
	if k.uk.ReqFlags&reqET != 0 {
		k.uk.RetFlags = 0
		k.uk.RetData = [2]uint32{}
	}
	if k.uk.ReqFlags&reqLevel != 0 {
		k.uk.ReqFlags |= reqLastCheck
		if deferred != nil {
			*deferred = append(*deferred, k)
		} else {
			q.enqueue(k)
		}
	}
}

// storageReady is kevent_storage_ready: every kevent of the storage, of
// whichever queue, in the order added; without WAKEUP_ALL only until one
// has been made ready. A counting kevent adds n.
func (m *model) storageReady(src int, mask uint32, n uint64) {
	woken := 0
	for _, r := range append([]mRef(nil), m.storages[src]...) {
		q := m.q[r.q]
		k := q.kevs[r.id]
		if k == nil || !k.onStorage || k.src != src {
			continue
		}
		if mask&k.uk.Event != 0 && (k.uk.ReqFlags&reqWakeupAll != 0 || woken == 0) {
			if m.srcType[src] == typePoll {
				k.uk.RetData[0] = mask & k.uk.Event
			} else {
				k.uk.addCount(n)
			}
			q.ready(k, 1)
			woken++
		}
	}
}

// fini is kevent_storage_fini as kbench means it: every kevent of the
// storage, of every queue, marked broken and made ready broken (off the
// storage, queued once); the storage is dead.
func (m *model) fini(src int) {
	for _, r := range append([]mRef(nil), m.storages[src]...) {
		q := m.q[r.q]
		k := q.kevs[r.id]
		if k == nil || !k.onStorage || k.src != src {
			continue
		}
		k.uk.RetFlags |= retBroken
		q.ready(k, -1)
	}
	m.dead[src] = true
}

// reopen gives the source a fresh storage (a new file on the same number).
func (m *model) reopen(src int) {
	m.storages[src] = nil
	m.dead[src] = false
}

// enqueueV: KEVENT_REQ_READY makes the enqueue's verdict positive.
func enqueueV(k *mKev, v int) int {
	if k.uk.ReqFlags&reqReady != 0 && v == 0 {
		return 1
	}
	return v
}

// add results, as the implementation's addOne.
const (
	mAddQueued = iota
	mAddImmediate
	mAddNotAllowed
	mAddFailed
)

// add is one ADD entry; src < 0 is no origin (nil storage).
func (q *mq) add(uk *ukevent, src int) (int, unix.Errno) {
	m := q.m
	fail := func(e unix.Errno) (int, unix.Errno) {
		uk.RetFlags |= retBroken | retDone
		uk.RetData[1] = uint32(-int32(e))
		return mAddFailed, e
	}
	switch uk.Type {
	case typePoll, typeUnotify, typeTimer, typeSignal:
	default:
		return mAddNotAllowed, 0
	}
	if src < 0 && uk.Type == typeUnotify {
		src = m.numSrc + q.idx
	}
	if src < 0 {
		return fail(unix.EBADF)
	}
	if uk.Type != m.srcType[src] {
		return fail(unix.EINVAL)
	}
	if m.dead[src] {
		return fail(unix.EBADF)
	}
	if q.kevs[uk.ID] != nil {
		return fail(unix.EEXIST)
	}
	k := &mKev{uk: *uk, src: src, onStorage: true}
	k.uk.RetFlags = 0
	q.kevs[uk.ID] = k
	m.storages[src] = append(m.storages[src], mRef{q.idx, uk.ID})
	if m.srcType[src] != typePoll {
		if uk.ReqFlags&(reqAlwaysQueue|reqReady) != 0 {
			q.ready(k, enqueueV(k, q.verdict(k)))
		}
		return mAddQueued, 0
	}
	if m.state[src]&pollNval != 0 {
		q.finish(k)
		return fail(unix.EBADF)
	}
	if uk.ReqFlags&reqAlwaysQueue != 0 {
		q.ready(k, enqueueV(k, q.verdict(k)))
		return mAddQueued, 0
	}
	if m.state[src]&k.uk.Event != 0 {
		*uk = k.uk
		uk.RetFlags |= retDone
		q.finish(k)
		return mAddImmediate, 0
	}
	if uk.ReqFlags&reqReady != 0 {
		q.ready(k, 1)
	}
	return mAddQueued, 0
}

func (q *mq) modify(id uint64, event, req uint32) unix.Errno {
	k := q.kevs[id]
	if k == nil {
		return unix.ENOENT
	}
	k.uk.Event, k.uk.ReqFlags, k.uk.RetFlags = event, req, 0
	q.ready(k, q.verdict(k))
	return 0
}

func (q *mq) remove(id uint64) unix.Errno {
	k := q.kevs[id]
	if k == nil {
		return unix.ENOENT
	}
	q.finish(k)
	return 0
}

func (q *mq) markReady(id, n uint64) unix.Errno {
	k := q.kevs[id]
	if k == nil {
		return unix.ENOENT
	}
	if counting(q.m.srcType[k.src]) {
		k.uk.addCount(n)
	}
	q.ready(k, 1)
	return 0
}

// ctl is kevent_ctl over an array, transcribed from take29's
// kevent_user_ctl_add/_modify/_remove/_ready. srcs[i] < 0: no origin.
func (q *mq) ctl(cmd int, ukevs []ukevent, srcs []int) (int, unix.Errno) {
	if cmd != ctlAdd && len(ukevs) > len(q.kevs) {
		return 0, unix.EINVAL
	}
	switch cmd {
	case ctlAdd:
		var back []ukevent
		for i := range ukevs {
			uk := ukevs[i]
			if r, _ := q.add(&uk, srcs[i]); r != mAddQueued {
				back = append(back, uk)
			}
		}
		copy(ukevs, back)
		return len(back), 0
	case ctlModify, ctlRemove:
		for i := range ukevs {
			var e unix.Errno
			if cmd == ctlModify {
				e = q.modify(ukevs[i].ID, ukevs[i].Event, ukevs[i].ReqFlags)
			} else {
				e = q.remove(ukevs[i].ID)
			}
			if e != 0 {
				ukevs[i].RetFlags |= retBroken
			}
			ukevs[i].RetFlags |= retDone
		}
		return 0, 0
	case ctlReady:
		if len(ukevs) == 0 {
			q.needExit = true
			return 0, 0
		}
		var back []ukevent
		for i := range ukevs {
			if q.markReady(ukevs[i].ID, ukevs[i].count()) != 0 {
				back = append(back, ukevs[i])
			}
		}
		copy(ukevs, back)
		return len(ukevs) - len(back), 0
	}
	return 0, unix.EINVAL
}

func (q *mq) popFirst() *mKev {
	for p := numPrio - 1; p >= 0; p-- {
		for _, li := range []int{2*p + 1, 2 * p} {
			if len(q.lists[li]) > 0 {
				k := q.kevs[q.lists[li][0]]
				q.unqueue(k)
				return k
			}
		}
	}
	return nil
}

// collect is the dequeue of get_events and kevent_wait, one kevent at a
// time; with a take29 ring each kevent is copied into it first, and marked
// KEVENT_RET_COPY_FAILED if the ring is full.
func (q *mq) collect(max int) []ukevent {
	var out []ukevent
	var deferred []*mKev
	for len(out) < max {
		k := q.popFirst()
		if k == nil {
			break
		}
		if k.uk.ReqFlags&reqLastCheck != 0 && k.uk.RetFlags&retBroken == 0 {
			k.uk.ReqFlags &^= reqLastCheck
			if q.verdict(k) == 0 {
				k.uk.ReqFlags |= reqLastCheck
				k.uk.RetFlags = 0
				k.uk.RetData = [2]uint32{}
				continue
			}
		}
		if q.mode == modeTake29 && !q.t29.put(k.uk) {
			k.uk.RetFlags |= retCopyFailed
		}
		out = append(out, k.uk)
		q.complete(k, &deferred)
	}
	for _, k := range deferred {
		q.enqueue(k)
	}
	return out
}

// getEvents is kevent_get_events(min, max) whose sleep, if it comes to
// one, a signal ends: it reports whether it slept.
func (q *mq) getEvents(max, min int, block bool) (out []ukevent, woke, slept bool) {
	intr := false
	for {
		out = append(out, q.collect(max-len(out))...)
		if q.needExit {
			q.needExit, woke = false, true
		}
		if len(out) >= min || len(out) == max || woke || intr || !block ||
			q.mode == modeZach && len(q.zring) > 0 {
			return out, woke, slept
		}
		if q.readyNum() > 0 && (q.mode != modeTake29 || q.t29.space() > 0) {
			continue
		}
		slept, intr = true, true
	}
}

func (q *mq) zachRead(max int) []ukevent {
	n := min(max, len(q.zring))
	out := append([]ukevent(nil), q.zring[:n]...)
	q.zring = q.zring[n:]
	return out
}

func (r *mRing) space() uint32 {
	switch {
	case r.full:
		return 0
	case r.uidx > r.kidx:
		return r.uidx - r.kidx
	}
	return r.size - (r.kidx - r.uidx)
}

func (r *mRing) put(uk ukevent) bool {
	if r.space() == 0 {
		return false
	}
	r.rec[r.kidx] = uk
	r.kidx = (r.kidx + 1) % r.size
	if r.kidx == r.uidx {
		r.full = true
	}
	return true
}

// keventWait is kevent_wait(num, old_uidx): it sleeps (block) unless a
// kevent is ready and the ring has space, need_exit is set, or uidx moved
// from oldUidx; the sleep ends by a signal. Then it copies what fits.
func (q *mq) keventWait(num int, oldUidx uint32, block bool) (out []ukevent, woke, slept bool, e unix.Errno) {
	r := &q.t29
	if num > int(r.size) {
		return nil, false, false, unix.EINVAL
	}
	if block && !(q.needExit || q.readyNum() > 0 && r.space() > 0 || r.uidx != oldUidx) {
		slept = true
	}
	woke, q.needExit = q.needExit, false
	if room := min(num, int(r.space())); room > 0 {
		out = q.collect(room)
	}
	return out, woke, slept, 0
}

func (q *mq) commit(newUidx, over uint32) (int, unix.Errno) {
	r := &q.t29
	switch {
	case newUidx >= r.size:
		return 0, unix.EINVAL
	case over != r.over-1 && over != r.over:
		return 0, unix.EOVERFLOW
	case r.uidx < r.kidx && newUidx > r.kidx:
		return 0, unix.EINVAL
	case newUidx > r.uidx:
		if over != r.over {
			return 0, unix.EOVERFLOW
		}
		n := int(newUidx - r.uidx)
		r.uidx, r.full = newUidx, false
		return n, 0
	case newUidx < r.uidx:
		n := int(r.size - (r.uidx - newUidx))
		r.uidx, r.full = newUidx, false
		r.over++
		return n, 0
	}
	return 0, 0
}
