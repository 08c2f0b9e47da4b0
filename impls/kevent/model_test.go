package kevent

import "golang.org/x/sys/unix"

// model is the reference semantics of the emulated kernel: a sequential,
// obviously-correct transcription of take29's rules (kevent.c,
// kevent_user.c, ukevent.h), take30's unotify type, kbench's priorities and
// LEVEL flag, and Zach's ring, over plain slices and maps. It shares no code
// with the implementation except the ukevent type and flag constants. Single
// goroutine; sources are numbered, each with a kevent type and, for poll
// sources, a simulated readiness state.
type model struct {
	mode     mode
	kevs     map[uint64]*mKev
	storages [][]uint64 // per source: kevent ids in the order added
	srcType  []uint32
	state    []uint32 // per poll source: what poll(2) would report
	lists    [2 * numPrio][]uint64

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

func newModel(m mode, srcTypes []uint32, ringSlots int) *model {
	md := &model{mode: m, kevs: map[uint64]*mKev{}, srcType: srcTypes,
		storages: make([][]uint64, len(srcTypes)), state: make([]uint32, len(srcTypes)), zcap: ringSlots}
	md.t29 = mRing{size: uint32(ringSlots), rec: make([]ukevent, ringSlots)}
	return md
}

func eligibleM(k *mKev) bool { return k.uk.ReqFlags&(reqLevel|reqLastCheck) == 0 }

func (m *model) verdict(k *mKev) int {
	if m.srcType[k.src] != typePoll {
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

func (m *model) offStorage(k *mKev) {
	m.storages[k.src] = remove(m.storages[k.src], k.uk.ID)
	k.onStorage = false
}

func (m *model) unqueue(k *mKev) {
	m.lists[k.list] = remove(m.lists[k.list], k.uk.ID)
	k.queued = false
}

func (m *model) finish(k *mKev) {
	delete(m.kevs, k.uk.ID)
	if k.onStorage {
		m.offStorage(k)
	}
	if k.queued {
		m.unqueue(k)
	}
}

func (m *model) push(k *mKev, li int) {
	m.lists[li] = append(m.lists[li], k.uk.ID)
	k.queued, k.list = true, li
}

func (m *model) parked() bool {
	for p := 0; p < numPrio; p++ {
		if len(m.lists[2*p]) > 0 {
			return true
		}
	}
	return false
}

func (m *model) publish(k *mKev) {
	m.zring = append(m.zring, k.uk)
	m.complete(k, nil)
}

func (m *model) flush() {
	for p := numPrio - 1; p >= 0; p-- {
		for len(m.lists[2*p]) > 0 {
			k := m.kevs[m.lists[2*p][0]]
			if !eligibleM(k) {
				m.unqueue(k)
				m.push(k, 2*p+1)
				continue
			}
			if len(m.zring) >= m.zcap {
				return
			}
			m.unqueue(k)
			m.publish(k)
		}
	}
}

func (m *model) enqueue(k *mKev) {
	queued := k.queued
	if m.mode == modeZach {
		m.flush()
	}
	if queued {
		return
	}
	p := prio(k.uk.ReqFlags)
	switch {
	case m.mode != modeZach:
		m.push(k, 2*p)
	case eligibleM(k):
		if !m.parked() && len(m.zring) < m.zcap {
			m.publish(k)
			return
		}
		m.push(k, 2*p)
	default:
		m.push(k, 2*p+1)
	}
}

func (m *model) ready(k *mKev, ret int) {
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
		m.offStorage(k)
	}
	m.enqueue(k)
}

func (m *model) complete(k *mKev, deferred *[]*mKev) {
	if k.uk.ReqFlags&reqOneshot != 0 {
		m.finish(k)
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
			m.enqueue(k)
		}
	}
}

func (m *model) storageReady(src int, mask uint32) {
	woken := 0
	for _, id := range append([]uint64(nil), m.storages[src]...) {
		k := m.kevs[id]
		if k == nil || !k.onStorage {
			continue
		}
		if mask&k.uk.Event != 0 && (k.uk.ReqFlags&reqWakeupAll != 0 || woken == 0) {
			if m.srcType[src] == typePoll {
				k.uk.RetData[0] = mask & k.uk.Event
			}
			m.ready(k, 1)
			woken++
		}
	}
}

// ctl results: 0, or the errno the implementation's error wraps.
func (m *model) add(uk *ukevent, src int) (bool, unix.Errno) {
	fail := func(e unix.Errno) (bool, unix.Errno) {
		uk.RetFlags |= retBroken | retDone
		uk.RetData[1] = uint32(e)
		return false, e
	}
	if uk.Type != m.srcType[src] {
		return fail(unix.EINVAL)
	}
	if m.kevs[uk.ID] != nil {
		return fail(unix.EEXIST)
	}
	k := &mKev{uk: *uk, src: src, onStorage: true}
	k.uk.RetFlags = 0
	m.kevs[uk.ID] = k
	m.storages[src] = append(m.storages[src], uk.ID)
	if m.srcType[src] != typePoll {
		if uk.ReqFlags&reqAlwaysQueue != 0 {
			m.ready(k, 1)
		}
		return false, 0
	}
	if m.state[src]&pollNval != 0 {
		m.finish(k)
		return fail(unix.EBADF)
	}
	if uk.ReqFlags&reqAlwaysQueue != 0 {
		m.ready(k, m.verdict(k))
		return false, 0
	}
	if r := m.state[src] & k.uk.Event; r != 0 {
		*uk = k.uk
		uk.RetData[0] = r
		uk.RetFlags |= retDone
		m.finish(k)
		return true, 0
	}
	return false, 0
}

func (m *model) modify(id uint64, event, req uint32) unix.Errno {
	k := m.kevs[id]
	if k == nil {
		return unix.ENOENT
	}
	k.uk.Event, k.uk.ReqFlags, k.uk.RetFlags = event, req, 0
	m.ready(k, m.verdict(k))
	return 0
}

func (m *model) remove(id uint64) unix.Errno {
	k := m.kevs[id]
	if k == nil {
		return unix.ENOENT
	}
	m.finish(k)
	return 0
}

func (m *model) markReady(id uint64) unix.Errno {
	k := m.kevs[id]
	if k == nil {
		return unix.ENOENT
	}
	m.ready(k, 1)
	return 0
}

func (m *model) popFirst() *mKev {
	for p := numPrio - 1; p >= 0; p-- {
		for _, li := range []int{2*p + 1, 2 * p} {
			if len(m.lists[li]) > 0 {
				k := m.kevs[m.lists[li][0]]
				m.unqueue(k)
				return k
			}
		}
	}
	return nil
}

// collect is the dequeue of get_events and kevent_wait, one kevent at a time.
func (m *model) collect(max int) []ukevent {
	var out []ukevent
	var deferred []*mKev
	for len(out) < max {
		k := m.popFirst()
		if k == nil {
			break
		}
		if k.uk.ReqFlags&reqLastCheck != 0 {
			k.uk.ReqFlags &^= reqLastCheck
			if m.verdict(k) == 0 {
				k.uk.ReqFlags |= reqLastCheck
				k.uk.RetFlags = 0
				k.uk.RetData = [2]uint32{}
				continue
			}
		}
		out = append(out, k.uk)
		m.complete(k, &deferred)
	}
	for _, k := range deferred {
		m.enqueue(k)
	}
	return out
}

func (m *model) zachRead(max int) []ukevent {
	n := min(max, len(m.zring))
	out := append([]ukevent(nil), m.zring[:n]...)
	m.zring = m.zring[n:]
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

func (m *model) keventWait(num int) ([]ukevent, unix.Errno) {
	r := &m.t29
	if num > int(r.size) {
		return nil, unix.EINVAL
	}
	out := m.collect(min(num, int(r.space())))
	for _, uk := range out {
		r.rec[r.kidx] = uk
		r.kidx = (r.kidx + 1) % r.size
		if r.kidx == r.uidx {
			r.full = true
		}
	}
	return out, 0
}

func (m *model) commit(newUidx, over uint32) (int, unix.Errno) {
	r := &m.t29
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
