package kevent

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"kbench/notify"
)

// Batch applies registration changes as kevent_ctl arrays (notify.Batcher):
// each run of consecutive changes of one kind is one kevent_ctl call per
// command it needs — ADD for adds and re-arms of delivered oneshot kevents,
// MODIFY for held kevents, REMOVE — instead of one call per change, which
// is what the patch's array interface was for. Entries the kernel hands
// back (take29 copies a failed ADD back with BROKEN|DONE and -errno, a
// failed MODIFY or REMOVE with BROKEN) become their change's Err; the rest
// of the array is processed regardless. A change the arrays cannot express
// (a Modify that changes the interest or leaves Oneshot, which take apart
// the kevent first) and a second change of one fd within a run are made
// on their own, in order.
func (n *Notifier) Batch(cs []notify.Change) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	for i := 0; i < len(cs); {
		j := i + 1
		for j < len(cs) && cs[j].Op == cs[i].Op {
			j++
		}
		switch cs[i].Op {
		case notify.OpAdd:
			n.batchAdd(cs[i:j])
		case notify.OpModify:
			n.batchModify(cs[i:j])
		case notify.OpRemove:
			n.batchRemove(cs[i:j])
		default:
			for k := i; k < j; k++ {
				cs[k].Err = fmt.Errorf("kevent batch: %v: %w", cs[k].Op, notify.ErrInvalid)
			}
		}
		i = j
	}
	for i := range cs {
		if cs[i].Err != nil {
			return cs[i].Err
		}
	}
	return nil
}

// batchScratch is Batch's reusable memory (collector only).
type batchScratch struct {
	uk   []ukevent
	sts  []*storage
	ids  []uint64  // the ids sent, in order: the hand-back names entries by id
	ci   []int     // change index of each entry
	mu   []ukevent // MODIFY entries
	mods []int     // their change indexes
	seen map[int]struct{}
}

func (b *batchScratch) reset() {
	b.uk, b.sts, b.ids, b.ci, b.mu, b.mods = b.uk[:0], b.sts[:0], b.ids[:0], b.ci[:0], b.mu[:0], b.mods[:0]
	if b.seen == nil {
		b.seen = make(map[int]struct{})
	}
	clear(b.seen)
}

// queueAdd prepares an ADD entry for registration idx with a new generation.
func (n *Notifier) queueAdd(idx, ci int, event uint32) {
	r := &n.regs[idx]
	r.gen++
	b := &n.batch
	uk := ukevent{ID: keventID(idx, r.gen), Type: typePoll, Event: event, ReqFlags: r.req | n.reqExtra, User: r.token}
	b.uk = append(b.uk, uk)
	b.sts = append(b.sts, r.st)
	b.ids = append(b.ids, uk.ID)
	b.ci = append(b.ci, ci)
}

// sendAdds makes the ADD call for the prepared entries and settles each:
// registered, or failed (undo with undo, Err set).
func (n *Notifier) sendAdds(cs []notify.Change, undo func(idx int)) {
	b := &n.batch
	if len(b.uk) == 0 {
		return
	}
	back, _ := n.u.ctl(ctlAdd, b.uk, b.sts) // ADD fails entry by entry only
	for _, id := range b.ids {
		idx, _ := idSlot(id)
		n.regs[idx].kev = true
	}
	for _, uk := range b.uk[:back] {
		p := indexOf(b.ids, uk.ID)
		idx, _ := idSlot(uk.ID)
		c := &cs[b.ci[p]]
		n.regs[idx].kev = false
		switch {
		case uk.RetFlags&retBroken != 0:
			c.Err = fmt.Errorf("kevent %v fd %d: %w", c.Op, c.FD, unix.Errno(-int32(uk.RetData[1])))
		default: // ready at once and handed back: cannot be, with ALWAYS_QUEUE
			c.Err = fmt.Errorf("kevent %v fd %d: handed back ready (ret_flags %#x)", c.Op, c.FD, uk.RetFlags)
		}
		undo(idx)
	}
}

func indexOf(ids []uint64, id uint64) int {
	for i, x := range ids {
		if x == id {
			return i
		}
	}
	return -1
}

func (n *Notifier) batchAdd(cs []notify.Change) {
	b := &n.batch
	b.reset()
	for ci := range cs {
		c := &cs[ci]
		c.Err = nil
		if _, dup := b.seen[c.FD]; dup {
			// The fd was added earlier in this run: sequentially, this
			// Add finds it registered.
			c.Err = fmt.Errorf("kevent add fd %d: %w", c.FD, os.ErrExist)
			continue
		}
		event, req, err := fdFlags(c.In, c.Tr)
		if err != nil {
			c.Err = err
			continue
		}
		if _, ok := n.byFD[c.FD]; ok {
			c.Err = fmt.Errorf("kevent add fd %d: %w", c.FD, os.ErrExist)
			continue
		}
		st, err := n.k.attach(c.FD, c.In, false)
		if err != nil {
			c.Err = fmt.Errorf("kevent add fd %d: %w", c.FD, err)
			continue
		}
		b.seen[c.FD] = struct{}{}
		idx := n.allocReg()
		r := &n.regs[idx]
		*r = reg{live: true, kind: notify.KindFD, typ: typePoll, gen: r.gen, fd: c.FD, token: c.Token, in: c.In, tr: c.Tr, req: req, st: st}
		n.byFD[c.FD] = idx
		if c.Tr == notify.Level {
			n.levelFDs++
		}
		n.queueAdd(idx, ci, event)
	}
	if len(b.uk) > 0 {
		n.k.harvest() // once for the run's attaches, before its kevents join the storages
	}
	n.sendAdds(cs, func(idx int) {
		r := &n.regs[idx]
		if r.tr == notify.Level {
			n.levelFDs--
		}
		n.k.detach(r.fd, r.st)
		delete(n.byFD, r.fd)
		n.freeReg(idx)
	})
}

func (n *Notifier) batchModify(cs []notify.Change) {
	b := &n.batch
	b.reset()
	for ci := range cs {
		c := &cs[ci]
		c.Err = nil
		idx, ok := n.byFD[c.FD]
		_, dup := b.seen[c.FD]
		if !ok || dup {
			// Unknown (the single call says so) or changed twice in
			// this run: send what is prepared, then this one alone.
			n.flushModifies(cs)
			b.reset()
			c.Err = n.modifyFD(c.FD, c.Token, c.In, c.Tr)
			continue
		}
		r := &n.regs[idx]
		event, req, err := fdFlags(c.In, c.Tr)
		if err != nil {
			c.Err = err
			continue
		}
		if r.in != c.In || r.kev && r.tr == notify.Oneshot && c.Tr != notify.Oneshot {
			n.flushModifies(cs)
			b.reset()
			c.Err = n.modifyFD(c.FD, c.Token, c.In, c.Tr)
			continue
		}
		b.seen[c.FD] = struct{}{}
		if old := r.tr; old != c.Tr {
			if old == notify.Level {
				n.levelFDs--
			}
			if c.Tr == notify.Level {
				n.levelFDs++
			}
		}
		r.token, r.tr, r.req = c.Token, c.Tr, req
		if !r.kev {
			n.queueAdd(idx, ci, event) // a delivered oneshot: its re-arm is an ADD
			continue
		}
		// MODIFY names the kevent by id; event and req_flags replace its own.
		b.mu = append(b.mu, ukevent{ID: keventID(idx, r.gen), Type: typePoll, Event: event, ReqFlags: req | n.reqExtra, User: c.Token})
		b.mods = append(b.mods, ci)
	}
	n.flushModifies(cs)
}

// flushModifies sends the prepared run: the MODIFY entries as one call,
// and the ADD entries — re-arms, plus kevents MODIFY did not find because
// Zach's ring freed them at publish — as another.
func (n *Notifier) flushModifies(cs []notify.Change) {
	b := &n.batch
	if len(b.mu) > 0 {
		n.u.ctl(ctlModify, b.mu, nil)
		for i, uk := range b.mu {
			if uk.RetFlags&retBroken != 0 {
				idx, _ := idSlot(uk.ID)
				n.regs[idx].kev = false
				n.queueAdd(idx, b.mods[i], uk.Event)
			}
		}
	}
	n.sendAdds(cs, func(int) {}) // a failed re-arm leaves the registration unarmed, as Modify does
	b.reset()
}

func (n *Notifier) batchRemove(cs []notify.Change) {
	b := &n.batch
	b.reset()
	for ci := range cs {
		c := &cs[ci]
		c.Err = nil
		idx, ok := n.byFD[c.FD]
		if !ok {
			c.Err = fmt.Errorf("kevent remove fd %d: %w", c.FD, os.ErrNotExist)
			continue
		}
		if r := &n.regs[idx]; r.kev {
			b.uk = append(b.uk, ukevent{ID: keventID(idx, r.gen)})
		}
		b.ci = append(b.ci, idx)
		delete(n.byFD, c.FD) // a second Remove of it in this run finds nothing
	}
	if len(b.uk) > 0 {
		// A kevent Zach's ring already freed comes back BROKEN: gone
		// either way, as for the single Remove.
		n.u.ctl(ctlRemove, b.uk, nil)
	}
	for _, idx := range b.ci {
		r := &n.regs[idx]
		if r.tr == notify.Level {
			n.levelFDs--
		}
		fd, st := r.fd, r.st
		n.freeReg(idx)
		if err := n.k.detach(fd, st); err != nil {
			for ci := range cs {
				if cs[ci].Op == notify.OpRemove && cs[ci].FD == fd && cs[ci].Err == nil {
					cs[ci].Err = fmt.Errorf("kevent remove fd %d: %w", fd, err)
				}
			}
		}
	}
}
