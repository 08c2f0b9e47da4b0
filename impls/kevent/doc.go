// Package kevent is a user-space re-implementation of the kevent design
// (Evgeniy Polyakov, LKML, take29/take30, December 2006) with the kernel
// side running in this process, behind the notify contract, plus the
// collection ring Zach Brown proposed in his July 2006 review.
//
// # The emulated kernel
//
// kuser is struct kevent_user: every kevent indexed by id, one ready list
// per priority (kbench's addition, as Polyakov offered; the higher drained
// first), and a kevent_storage per origin holding the kevents interested in
// it. storage_ready(origin, mask) runs each matching kevent's callback and
// queues it once (the READY bit); without KEVENT_REQ_WAKEUP_ALL only the
// first kevent of the storage made ready by a call is queued. The collector
// sleeps on a futex with a waiter flag kept under the queue lock, so a
// producer makes the FUTEX_WAKE system call only when the collector is
// actually asleep, never per event while it is busy.
//
// Request flags keep take29's meaning (ukevent.h, kevent_user.c): ONESHOT
// (off the storage when ready, freed on delivery), ET (return state cleared
// on delivery: reported again only on new activity), LAST_CHECK (callback
// re-run at dequeue; a kevent no longer ready is dropped silently and stays
// registered), ALWAYS_QUEUE (a kevent ready at ADD is queued instead of
// being handed back from kevent_ctl and forgotten), WAKEUP_ALL; without ET
// a kevent keeps KEVENT_RET_DONE after delivery, take29's "level-like"
// default: re-reported on each new activity. Control: ADD, MODIFY, REMOVE
// (the kevent leaves the ready list too: never delivered afterwards), and
// READY (take30: mark one kevent ready; with no kevent, wake the
// collector). Return flags DONE and BROKEN as in take29.
//
// # Collection paths (Path)
//
//   - PathSyscall: kevent_get_events(min, max, timeout) only, with the
//     min_events semantics of Zach's proposed kevent_getevents.
//   - PathTake29: take29's ring of whole ukevents (internal/ring.Take29),
//     filled by kevent_wait, released by kevent_commit(new_uidx, over) with
//     take29's EINVAL/EOVERFLOW rules.
//   - PathZach: fixed-size slots, each with an ownership word
//     (internal/ring.Owned), filled by storage_ready itself; the reader
//     consumes and returns slots without a system call, makes the
//     collection call every zach_n ring records for level kevents, and
//     blocks in it only when the ring is empty. Ready kevents that find the
//     ring full park on their ready list and are flushed by later
//     storage_ready calls as slots come back, or handed over by the
//     collection call.
//
// # The kernel boundary
//
// Each emulated kevent system call (ctl, get_events, kevent_wait,
// kevent_commit) makes one real system call — getppid, or the futex wait
// when it sleeps — so its cost includes this machine's kernel entry.
// Counted as notify.CallCtl, CallWait, CallCommit; futex wakes as CallWake;
// the emulation's plumbing (the hook thread's epoll calls, the ppoll that
// stands for f_op->poll at ADD/MODIFY/LAST_CHECK) as CallHook. Reading
// Zach's ring costs nothing, and the counters show it. Fire is kernel code
// calling storage_ready, so it costs no system call either.
//
// # Sources and triggers
//
// User sources (AddUser/Fire) are take30 unotify kevents on their own
// storage. fd sources reach storage_ready from a hook thread pinned to
// Options.HelperCPU that learns their activity from its own edge-triggered
// epoll instance (emulated: results say so, and HookUsage reports the
// thread's CPU). Trigger mapping:
//
//	notify      fd source                              user source
//	Level       LEVEL|LAST_CHECK|ALWAYS_QUEUE          default mode
//	Edge        ET|ALWAYS_QUEUE                        ET
//	Oneshot     ONESHOT|ALWAYS_QUEUE (re-arm = ADD)    ONESHOT
//	Multishot   errors.ErrUnsupported                  errors.ErrUnsupported
//
// LEVEL is kbench's request flag: after delivery the kevent goes back on
// its ready list with LAST_CHECK, as epoll requeues level items, so each
// collection polls the fd again (one ppoll per batch) and drops it once the
// fd is drained; the hook thread only has to report activity, never
// repeat it. A user source has no state to re-check, so Level is take29's
// default mode there: one report per Fire, coalesced until collected.
//
// Where this differs from the mails: take29's poll type set LAST_CHECK on
// every kevent, a free indirect call in the kernel but a system call here,
// so it is left to the request; take29 had one ready list; ring records
// carry the registration's generation in the id so the reader can drop
// records of kevents removed after they reached a ring.
package kevent
