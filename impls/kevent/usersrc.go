package kevent

import (
	"errors"
	"fmt"
	"os"

	"kbench/notify"
)

// User sources: take30's private user notifications (kevent_unotify.c), a
// unotify kevent on the queue's storage, which Fire marks ready with
// KEVENT_CTL_READY as the take30 mail says ("marked as ready using
// kevent_ctl(KEVENT_READY)"). With fire_direct=1 each source is instead an
// origin with a storage of its own that Fire readies through storage_ready
// (kbench's variant, see doc.go).

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
	us := &usrc{}
	if n.fireDirect {
		us.st = &storage{origin: idx, typ: typeUnotify}
	}
	*r = reg{live: true, user: true, kind: notify.KindUser, typ: typeUnotify, gen: r.gen, token: token, in: notify.Readable, tr: tr, req: req, st: us.st, us: us}
	if err := n.addKevent(idx, userMask); err != nil {
		n.freeReg(idx)
		return 0, err
	}
	n.utab.store(idx, us)
	return idx, nil
}

func (n *Notifier) userReg(op string, id int) (*reg, error) {
	if id < 0 || id >= len(n.regs) || !n.regs[id].live || !n.regs[id].user || n.regs[id].ks {
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
	n.utab.store(id, nil)
	n.freeReg(id)
	return nil
}

// Fire makes a user source ready; any goroutine may call it. By default it
// is the producer's kevent_ctl(KEVENT_CTL_READY) on the source's kevent:
// one kernel entry, counted as CallFire (the producer's side of the ledger,
// as an eventfd write is for fd sources). A oneshot source that was
// delivered and not yet re-armed has no kevent: the patch hands the entry
// back and readies nothing, and so does Fire, without error. With
// fire_direct=1 it is storage_ready on the source's own storage, kernel
// code firing an origin: no kernel entry but the futex wake when the
// collector sleeps. A Fire racing with RemoveUser of the same id may fire
// the slot's next user.
func (n *Notifier) Fire(id int) error {
	if n.closed.Load() {
		return notify.ErrClosed
	}
	us := n.utab.load(id)
	if us == nil || us.event {
		return fmt.Errorf("kevent fire user source %d: %w", id, os.ErrNotExist)
	}
	if us.st != nil {
		storageReady(us.st, userMask, 0, &n.calls)
		return nil
	}
	// Acquire: pairs with addKevent's Store.
	n.u.markReady(us.id.Load(), 0, notify.CallFire)
	return nil
}
