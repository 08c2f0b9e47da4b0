package iouring

import (
	"fmt"
	"os"
	"sync/atomic"

	"kbench/notify"
)

// User events are native: Post adds its value to a counter in memory and,
// when the event goes from idle to posted, rings a doorbell, one
// IORING_OP_MSG_RING (IORING_MSG_DATA) that makes the kernel post a CQE with
// the event's user_data into the main ring. The collector's reap closes the
// doorbell and takes the counter, and the sum becomes the event's Data.
//
// The MSG_RING is submitted on the waker's private ring, under its mutex,
// the one Wake uses: MSG_RING needs a ring to submit from, the main ring's
// SQ belongs to the collector, and a ring per posting goroutine would cost
// an fd and three mappings for each, with nothing to tell when a goroutine
// is done posting. The doorbell keeps that mutex cold: only the Post that
// finds the event idle enters the kernel (CallFire); every Post until the
// collector reaps the CQE is an atomic add and a load. A polled eventfd
// would cost a write per Post and a read per delivery instead.
//
// Ordering. Post adds to count, then tries rung false->true; the reap stores
// rung false, then swaps count to 0 (all sequentially consistent). A Post
// whose add the swap missed finds rung false afterwards and rings again; one
// whose add the swap took may ring a doorbell that then finds 0 and reports
// nothing. No value is lost and none is reported twice.
type userEvent struct {
	count atomic.Uint64 // posted and not yet taken by the collector
	rung  atomic.Bool   // a doorbell is on its way or in the CQ ring
	ud    uint64        // the doorbell CQE's user_data (slot and generation)
}

// userTable maps ids to user events for Post, which any goroutine calls
// while the collector adds and removes sources: AddEvent publishes a grown
// copy of the table, entries are atomic pointers, a removed id's is nil.
type userTable []atomic.Pointer[userEvent]

// AddEvent registers a user event, fired with Post.
func (n *Notifier) AddEvent(token uint64) (int, error) {
	if !n.gate.Enter() {
		return 0, notify.ErrClosed
	}
	defer n.gate.Exit()
	slot, s := n.newKind(notify.KindUser, token)
	s.user = &userEvent{ud: kindData(slot, s.gen)}
	t := n.users.Load()
	if t == nil || int(slot) >= len(*t) {
		g := make(userTable, 2*len(n.ksrcs))
		if t != nil {
			for i := range *t {
				g[i].Store((*t)[i].Load())
			}
		}
		// Published whole: pairs with Post's Load of the table.
		n.users.Store(&g)
		t = &g
	}
	// Pairs with Post's Load of the entry; the event is complete before.
	(*t)[slot].Store(s.user)
	return int(slot), nil
}

// dropUser unpublishes a user event; a Post that already loaded it may
// still ring, with the old generation, and that CQE is dropped.
func (n *Notifier) dropUser(slot uint32) {
	if t := n.users.Load(); t != nil && int(slot) < len(*t) {
		(*t)[slot].Store(nil)
	}
}

// Post adds value to user event id and makes it ready. Any goroutine,
// concurrently with Wait; it allocates nothing.
func (n *Notifier) Post(id int, value uint64) error {
	if value == 0 {
		return fmt.Errorf("iouring post source %d: value 0: %w", id, notify.ErrInvalid)
	}
	if !n.gate.Enter() {
		return notify.ErrClosed
	}
	defer n.gate.Exit()
	var u *userEvent
	if t := n.users.Load(); t != nil && id >= 0 && id < len(*t) {
		u = (*t)[id].Load()
	}
	if u == nil {
		return fmt.Errorf("iouring post source %d: no such user event: %w", id, os.ErrNotExist)
	}
	// The add precedes the CAS; they pair with userRung's store of rung
	// and then swap of count (see the type's comment).
	u.count.Add(value)
	if u.rung.Load() || !u.rung.CompareAndSwap(false, true) {
		return nil // a doorbell is pending; the collector takes our value with it
	}
	if err := n.waker.ring1(u.ud, &n.Counters); err != nil {
		// The value stays counted and goes with the next doorbell.
		u.rung.Store(false)
		return fmt.Errorf("iouring post source %d: %w", id, err)
	}
	return nil
}

// userRung takes a doorbell CQE: reopen the doorbell, then take the count.
func (n *Notifier) userRung(slot uint32) {
	u := n.ksrcs[slot].user
	// Reopen first, then take: pairs with Post's add-then-CAS.
	u.rung.Store(false)
	if v := u.count.Swap(0); v > 0 {
		n.report(slot, v, 0)
	}
}
