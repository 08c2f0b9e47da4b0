package kevent

import (
	"errors"
	"fmt"
	"os"

	"kbench/notify"
)

// User sources: take30's private user notifications, a unotify kevent on a
// storage of its own, made ready by Fire.

const userMask = 1 // a user source's only event

// userFlags: a user source has no state to re-check, so Level is take29's
// default mode (reported once per Fire, coalesced until collected). No
// ALWAYS_QUEUE: with it take30's unotify kevent is ready at add.
func userFlags(tr notify.Trigger) (uint32, error) {
	switch tr {
	case notify.Level:
		return 0, nil
	case notify.Edge:
		return reqET, nil
	case notify.Oneshot:
		return reqOneshot, nil
	}
	return 0, fmt.Errorf("kevent: trigger %v: %w", tr, errors.ErrUnsupported)
}

// AddUser registers a user source (take30's private user notification);
// the id it returns is what Fire takes.
func (n *Notifier) AddUser(token uint64, tr notify.Trigger) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	req, err := userFlags(tr)
	if err != nil {
		return 0, err
	}
	idx := n.allocReg()
	r := &n.regs[idx]
	st := &storage{origin: idx, typ: typeUnotify, gen: r.gen + 1}
	*r = reg{live: true, user: true, gen: r.gen, token: token, in: notify.Readable, tr: tr, req: req, st: st}
	if err := n.addKevent(idx, userMask); err != nil {
		n.freeReg(idx)
		return 0, err
	}
	n.tab.store(idx, st)
	return idx, nil
}

func (n *Notifier) userReg(op string, id int) (*reg, error) {
	if id < 0 || id >= len(n.regs) || !n.regs[id].live || !n.regs[id].user {
		return nil, fmt.Errorf("kevent %s user source %d: %w", op, id, os.ErrNotExist)
	}
	return &n.regs[id], nil
}

// ModifyUser changes a user source's token or trigger, or re-arms a
// oneshot one. A token change alone needs no kernel call; a trigger change
// is a MODIFY, and take30's unotify callback always says ready, so it
// reports the source once.
func (n *Notifier) ModifyUser(id int, token uint64, tr notify.Trigger) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	req, err := userFlags(tr)
	if err != nil {
		return err
	}
	r, err := n.userReg("modify", id)
	if err != nil {
		return err
	}
	if r.kev && r.req == req {
		r.token = token
		return nil
	}
	return n.rearm(id, token, notify.Readable, tr, userMask, req)
}

// RemoveUser unregisters a user source.
func (n *Notifier) RemoveUser(id int) error {
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	r, err := n.userReg("remove", id)
	if err != nil {
		return err
	}
	if r.kev {
		n.u.remove(keventID(id, r.gen))
	}
	n.tab.store(id, nil)
	n.freeReg(id)
	return nil
}

// Fire is kevent_storage_ready on the user source's storage: by default
// kernel code reporting an event, so no kernel entry but the futex wake when
// the collector sleeps. With fire_ctl=1 it is a user-space producer's
// KEVENT_CTL_READY: one kernel entry first, counted as CallFire (the
// producer's side, as an eventfd write is for fd sources). Any goroutine may
// call it. A Fire racing with
// RemoveUser of the same id may fire the slot's next user.
func (n *Notifier) Fire(id int) error {
	if n.closed.Load() {
		return notify.ErrClosed
	}
	st := n.tab.load(id)
	if st == nil || st.typ != typeUnotify {
		return fmt.Errorf("kevent fire user source %d: %w", id, os.ErrNotExist)
	}
	if n.fireCtl {
		// The producer's KEVENT_CTL_READY: the same kernel entry as every
		// emulated control call, on the producer's side of the ledger.
		sysEnter(&n.calls, notify.CallFire)
	}
	n.u.storageReady(st, userMask)
	return nil
}
