package kevent

// kevent is struct kevent: one registered interest. It lives in three
// places at once, as in the original: the queue's index (by id), its
// storage's list (while the origin should report to it) and at most one
// ready list (while it waits for collection).
type kevent struct {
	uk    ukevent
	flags uint32   // kReady, kStorage, kUser, kInFlight, kRequeue
	list  int8     // index into kuser.lists while kReady
	st    *storage // the origin's storage
	u     *kuser   // the queue it belongs to (struct kevent's user)
	// ready-list links (struct kevent's ready_entry).
	prev, next *kevent
}

// kevent.flags, under the queue's lock. kReady, kStorage and kUser are the
// original's KEVENT_READY, KEVENT_STORAGE and KEVENT_USER. kStorage changes
// only with both the storage's and the queue's lock held, so either lock
// is enough to read it.
const (
	kReady   = 0x1 // on a ready list
	kStorage = 0x2 // on its storage's list
	kUser    = 0x4 // in the queue's index
	// kInFlight: taken off the ready list by a collection that dropped the
	// queue lock to poll its LAST_CHECK kevents; kevent_ready does not queue
	// it meanwhile but sets kRequeue, and the collection queues it after.
	kInFlight = 0x8
	kRequeue  = 0x10
)

// storage is struct kevent_storage: the kevents interested in one origin,
// of every queue that watches it, in the order they were added, which is
// the order first-waker-only (no WAKEUP_ALL) follows. As in the patch it
// belongs to the origin, not to a queue: an fd's storage is in the Kernel
// (take28 kevent_poll.c: struct file carries one), the unotify storage in
// its queue (take30 kevent_unotify.c: k->user->st).
//
// Lock order: a storage's mu, then a queue's mu (the patch's st->lock, then
// ready_lock); never the other way round, and never two storages at once.
type storage struct {
	mu     spinlock
	origin int    // the fd of a poll storage, the slot of a direct user source
	typ    uint32 // typePoll, typeUnotify, typeTimer or typeSignal
	gen    uint32 // hook cookies carry it, so a late epoll report for a recycled slot is ignored
	list   []*kevent
	// dead: kevent_storage_fini ran (under mu); no kevent may join any more.
	dead bool
	// walk is storage_ready's position in list while it runs (under mu),
	// kept right by storageDequeue when a kevent before it leaves: a walk
	// visits each kevent that was on the list when it started and is still
	// there when its turn comes, once.
	walk    int
	walking bool
}

// klist is a ready list: FIFO, intrusive, O(1) unlink.
type klist struct {
	head, tail *kevent
	n          int
}

func (l *klist) pushBack(k *kevent) {
	k.next = nil
	k.prev = l.tail
	if l.tail != nil {
		l.tail.next = k
	} else {
		l.head = k
	}
	l.tail = k
	l.n++
}

func (l *klist) unlink(k *kevent) {
	if k.prev != nil {
		k.prev.next = k.next
	} else {
		l.head = k.next
	}
	if k.next != nil {
		k.next.prev = k.prev
	} else {
		l.tail = k.prev
	}
	k.prev, k.next = nil, nil
	l.n--
}

// kpool is kevent_cache: kevents are recycled, so a oneshot re-arm (which in
// take29 is a fresh ADD) allocates nothing in steady state.
type kpool struct{ free []*kevent }

func (p *kpool) get() *kevent {
	if n := len(p.free); n > 0 {
		k := p.free[n-1]
		p.free = p.free[:n-1]
		return k
	}
	return new(kevent)
}

func (p *kpool) put(k *kevent) {
	*k = kevent{}
	p.free = append(p.free, k)
}
