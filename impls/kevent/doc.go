// Package kevent is a user-space re-implementation of the kevent design
// (Evgeniy Polyakov, LKML, take29/take30, December 2006) with the kernel
// side running in this process, behind the notify contract, plus, as a
// separately labelled variant, the collection ring Zach Brown proposed in
// his July 2006 review of kevent (not part of any kevent take).
//
// # The emulated kernel
//
// kuser is struct kevent_user: every kevent indexed by id, one ready list
// per priority (kbench's addition, as Polyakov offered; the higher drained
// first). A kevent_storage belongs to its origin, not to a queue: an fd's
// storage lives in the Kernel the queues were opened in (take28's struct
// file carries one), and every queue watching the fd has its kevent on
// that one storage, in the order added. storage_ready(origin, mask) runs
// each matching kevent's callback and queues it once on its own queue (the
// READY bit); without KEVENT_REQ_WAKEUP_ALL only the first kevent of the
// storage made ready by a call is queued, so first-waker-only versus
// WAKEUP_ALL chooses between queues and the threads collecting from them.
// New opens a queue in a Kernel of its own; NewKernel and Kernel.Open put
// several in one. A collector sleeps on a futex with a waiter flag kept
// under the queue lock, so a producer makes the FUTEX_WAKE system call
// only when the collector is actually asleep, never per event.
//
// # Collection paths (Path)
//
//   - PathSyscall: kevent_get_events(min, max, timeout) only, with the
//     min_events semantics of Zach's proposed kevent_getevents.
//   - PathTake29: take29's ring of whole ukevents (internal/ring.Take29),
//     filled by kevent_wait, released by kevent_commit(new_uidx, over) with
//     take29's EINVAL/EOVERFLOW rules.
//   - PathZach (variant: Zach Brown's July 2006 proposal, not a kevent
//     take): fixed-size slots, each with an ownership word
//     (internal/ring.Owned), filled by storage_ready itself; the reader
//     consumes and returns slots without a system call, makes the
//     collection call every zach_n ring records for level kevents, and
//     blocks in it only when the ring is empty. Ready kevents that find the
//     ring full park on their ready list and are flushed by later
//     storage_ready calls as slots come back, or handed over by the
//     collection call. A kevent completes when it is published, so a
//     ONESHOT kevent is freed before user space has read its record: a
//     MODIFY re-arm then gets ENOENT, and the Notifier ADDs instead.
//
// # The kernel boundary
//
// Each emulated kevent system call (ctl, get_events, kevent_wait,
// kevent_commit) makes one real system call — getppid, or the futex wait
// when it sleeps — so its cost includes this machine's kernel entry.
// Counted as notify.CallCtl, CallWait, CallCommit; a producer's
// KEVENT_CTL_READY as CallFire; futex wakes as CallWake; the emulation's
// plumbing (the hook thread's epoll calls, the ppoll that stands for
// f_op->poll at ADD/MODIFY/LAST_CHECK, the poll fd's eventfd, the timerfd
// and signalfd calls that stand for hrtimers and send_signal) as CallHook.
// Reading Zach's ring costs nothing, and the counters show it. An array
// kevent_ctl is one kernel entry however many ukevents it carries, and the
// f_op->poll calls of its poll kevents are one ppoll per run of the array
// (in the kernel they are indirect calls, no entry at all).
//
// # Sources and triggers
//
// User sources (AddUser/Fire) are take30 unotify kevents on the queue's
// storage, made ready by the producer's KEVENT_CTL_READY, one kernel entry
// per firing: take30's mail says they "are marked as ready using
// kevent_ctl(KEVENT_READY)", and nothing in the kernel calls storage_ready
// on them. Variant fire_direct=1 (kbench's, labelled in every row's
// parameters): each user source is an origin with its own storage that
// Fire readies through storage_ready directly, as kernel code fires a
// socket — a producer with no kernel entry, which the design did not have.
// fd sources reach storage_ready from a hook thread pinned to
// Options.HelperCPU that learns their activity from its own edge-triggered
// epoll instance (emulated: results say so, and HelperUsage reports the
// thread's CPU).
//
// The other source kinds (notify.KindSources, kinds.go) are kevent types
// too, registered KEVENT_REQ_ET, each delivery reporting the count its
// kevent gathered in ret_data: timers are KEVENT_TIMER kevents on timerfds
// the hook thread reads (timer.go), signals KEVENT_SIGNAL kevents fed from
// the collector thread's signalfd by its own collection calls (signal.go:
// signalfd only shows a thread its own signals), user events unotify
// kevents Post readies with KEVENT_CTL_READY carrying the value. CloseFD
// is the emulated close of a watched fd: kevent_storage_fini.
//
// Trigger mapping (wakeup_all=1 adds WAKEUP_ALL to all):
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
// fd is drained. A user source has no state to re-check, so Level is
// take29's default mode there: one report per firing, coalesced until
// collected.
//
// # The patch, rule by rule
//
// Each user-visible rule of the patch, where it is here, and whether it is
// exact, a labelled variant (with its reason) or absent (and why). Sources:
// take29 2/8 "Core files" (include/linux/ukevent.h, kernel/kevent/kevent.c,
// kernel/kevent/kevent_user.c), take28 kernel/kevent/kevent_poll.c,
// take30 Documentation/kevent.txt and kernel/kevent/kevent_unotify.c.
//
//	rule (patch: take, file)                              here (file: function)                  status
//	---------------------------------------------------- -------------------------------------- -----------------------------------
//	SYSCALLS
//	kevent_init(ring, num): num==1, ring xor num EINVAL    notifier.go: newNotifier; queue.go:     variant: the queue allocates its ring
//	  (t29 kevent_user.c sys_kevent_init)                    newKuser (ring_slots)                  (ring_slots); fewer than 2 is EINVAL
//	kevent_ctl(fd, cmd, num, ukevent array): one entry     ctl.go: kuser.ctl; batch.go:           exact; one kernel entry per array
//	  into the kernel for num entries (t29 kevent_user.c)    Notifier.Batch (notify.Batcher)
//	kevent_ctl serialised by ctl_mutex (t29)               queue lock; ctl is the queue owner's   variant: same effect, no mutex
//	                                                         (notify: no Add while Waiters wait)
//	copy_from_user / EFAULT paths (t29)                    -                                      absent: one address space
//	unknown cmd: EINVAL (t29 kevent_ctl_process)           ctl.go: ctlBody                        exact
//	MODIFY/REMOVE/READY with num > kevent_num: EINVAL      ctl.go: ctlBody                        exact
//	kevent_get_events(min, max, timeout, buf, flags)       collect.go: getEvents, collect;        exact except min (next row)
//	  (t29 kevent_user.c kevent_user_wait)                   timeout.go: getEventsTS
//	get_events returns at the first ready kevent,          collect.go: getEvents                  variant: min honoured, as Zach's
//	  min_nr unused (t29; t30 kevent.txt documents min)                                             kevent_getevents and the notify
//	                                                                                                contract need
//	get_events copies each kevent into the ring too,       collect.go: collect (take29 mode)      exact
//	  KEVENT_RET_COPY_FAILED if full (t29, t30 doc)
//	get_events sleeps until ready (and ring space) or      collect.go: getEvents                  exact
//	  need_exit; returns what is ready then (t29)
//	kevent_wait(num, old_uidx, timeout, flags): EINVAL     take29.go: keventWait                  exact
//	  without ring or num > size (t29 sys_kevent_wait)
//	kevent_wait sleeps while the ring is full, until       take29.go: keventWait                  exact (the Notifier keeps a record
//	  space with a ready kevent, need_exit or uidx !=                                               free, so it never sleeps on a full
//	  old_uidx; copies up to num; returns copied (t29)                                              ring)
//	kevent_commit(new_uidx, over): EINVAL/EOVERFLOW        take29.go: keventCommit;               exact
//	  rules, ring_over bump on wrap (t29)                    internal/ring: Take29.Commit
//	commit wakes no waiter (t29 __kevent_user_commit)      take29.go: keventCommit                exact
//	struct kevent_ring {ring_kidx, ring_over, event[]}     internal/ring: Take29                  exact
//	struct ukevent, 40 bytes (t29 ukevent.h)               ukevent.go: ukevent                    exact; kbench keeps a priority in
//	                                                                                                req_flags' unused top byte (variant)
//	one ready list per queue (t29)                         queue.go: kuser.lists                  variant: one per priority (Polyakov
//	                                                                                                offered priorities in July 2006)
//	CONTROL COMMANDS
//	ADD: entries ready at once, failed, or of a type       ctl.go: ctlBody, addOne                exact
//	  not allowed are copied to the front of the array,
//	  their number returned (t29 kevent_user_ctl_add)
//	ADD failure: BROKEN|DONE, ret_data[1] = -errno (t29)   ctl.go: ctlFail                        exact
//	ADD of a type with no callbacks: handed back as        ctl.go: addOne (addNotAllowed)         exact (the one-entry Go form also
//	  given, unflagged, counted (t29 is_allowed)                                                    returns ErrInvalid to its caller)
//	ADD of a known type on another type's origin           ctl.go: addOne                         variant: kbench names the origin
//	                                                                                                beside the ukevent (EINVAL,
//	                                                                                                BROKEN); the patch's type selects
//	                                                                                                it, so it cannot happen there
//	ADD duplicate id: EEXIST (t29 kevent_user_enqueue)     ctl.go: addOne                         exact
//	ADD ready at once, no ALWAYS_QUEUE: handed back with   ctl.go: addOne                         exact (no ret_data: take28's poll
//	  DONE, not registered (t29; t28 kevent_poll_enqueue)                                           enqueue fills none)
//	MODIFY: new event and req_flags, ret_flags cleared,    ctl.go: modifyOne                      exact; kbench's Notifier keeps the
//	  requeue (callback); user field untouched (t29)                                                token itself
//	MODIFY/REMOVE arrays: every entry DONE, BROKEN if      ctl.go: ctlBody                        exact
//	  no such kevent, return 0 (t29, t30 doc)
//	REMOVE: off storage, ready list, index; never          ctl.go: removeOne; queue.go: finish    exact
//	  delivered afterwards (t29; t30 doc)
//	READY (t29 kevent_user_ctl_ready, kevent_mark_ready;   ctl.go: readyOne, markReady            exact (take29, not take30 as this
//	  take30 uses it for unotify): kevent_ready(k, 1)                                               package once said)
//	  under the storage lock, no callback
//	READY array: unknown ids copied back, returns the      ctl.go: ctlBody                        exact
//	  number made ready; num == 0: need_exit + wake_up
//	REQUEST AND RETURN FLAGS
//	KEVENT_REQ_ONESHOT: off storage when ready, freed on   queue.go: ready, completeReady         exact (zach: freed at publish,
//	  delivery (t29 kevent_ready, complete_ready)                                                   variant above)
//	KEVENT_REQ_WAKEUP_ALL / first waker only, across all   queue.go: storageReady; kernel.go      exact (wakeup_all=1 sets it on a
//	  queues watching the origin (t29 storage_ready)                                                Notifier's kevents)
//	KEVENT_REQ_ET: ret flags and data cleared on delivery  queue.go: completeReady                exact
//	default (no ET): DONE kept, re-reported on activity    queue.go: ready                        exact
//	KEVENT_REQ_LAST_CHECK: callback at dequeue, dropped    collect.go: collect                    exact
//	  (LAST_CHECK set again) if not ready (t29)
//	take28 poll sets LAST_CHECK on every poll kevent;      fdsrc.go: fdFlags; queue.go:           variant: left to the request (Level
//	  once a dequeue check clears it, the poll callback      readyVerdict                           sets it); storage_ready trusts the
//	  calls f_op->poll at every storage_ready (t28)                                                 hook's report instead of polling
//	                                                                                                (a system call per report here)
//	KEVENT_REQ_ALWAYS_QUEUE (t29; t28/t30 enqueue)         ctl.go: addOne                         exact
//	KEVENT_REQ_READY: marked ready at enqueue time         ctl.go: addBegin, addFinish,           exact (one kevent_ready with
//	  (t30 doc, t30 0/9 changelog)                           enqueueVerdict                         ALWAYS_QUEUE; a poll kevent ready
//	                                                                                                at ADD without it is still handed
//	                                                                                                back); the value 0x20 is ours: the
//	                                                                                                t30 header was not in the mails
//	kbench LEVEL (0x100): requeue with LAST_CHECK          queue.go: completeReady                variant: kbench's, for notify.Level
//	KEVENT_RET_DONE, KEVENT_RET_BROKEN (t29)               queue.go: ready; ctl.go                exact
//	KEVENT_RET_COPY_FAILED (t29 copy_ring_buffer)          collect.go: collect                    exact
//	TYPES
//	KEVENT_POLL (3): fd storage in struct file, shared     kernel.go: Kernel.attach; fdsrc.go     exact storage; variant: readiness
//	  by every queue (t28 kevent_poll.c)                                                            reaches it from an epoll hook thread
//	                                                                                                (emulated, labelled in results)
//	KEVENT_UNOTIFY: kevents on the queue's storage         usersrc.go: AddUser, Fire; ctl.go:     exact (default); the type number is
//	  (k->user->st), callback always ready, made ready by    addOne (u.ust)                         ours: the mails read give none
//	  KEVENT_CTL_READY (t30 kevent_unotify.c)
//	fire_direct=1: per-source storage, storage_ready       usersrc.go: Fire                       variant: kbench's producer with no
//	                                                                                                kernel entry; labelled by parameter
//	KEVENT_TIMER (2): a storage per timer kevent, the      timer.go: Kernel.attachTimer,          variant: the timer is a timerfd the
//	  hrtimer's expiry calls storage_ready, storage          armTimer, detachTimer, hook.fireTimer; hook thread reads (emulated, CallHook,
//	  enqueued before hrtimer_start (t29 kevent_timer.c)     kinds.go: AddTimer                     hook CPU); ret_data counts expirations
//	                                                                                                (t29: expiry time in ms); timerfd's
//	                                                                                                spec, relative or absolute (t29: one
//	                                                                                                relative period; absolute was its
//	                                                                                                POSIX-timer type's); overruns counted;
//	                                                                                                a once timer is ET, left disarmed
//	KEVENT_SIGNAL (7): the task's storage, readied by      signal.go: Kernel.attachSignal,        variant: thread-directed (blocked,
//	  send_signal in the sender's context; NOMASK skips      sigTask.drain, kuser.sleepSignals;     tgkill), read from a signalfd by the
//	  the usual delivery (t26 kevent_signal.c)               kinds.go: AddSignal                    collector thread's own collection
//	                                                                                                calls (signalfd is per-thread, so no
//	                                                                                                other thread can); sleeps ppoll on it;
//	                                                                                                a storage per (thread, signal);
//	                                                                                                ret_data counts what signalfd read
//	                                                                                                (a shared queue: only the owner's
//	                                                                                                collection reads it; a signal raised
//	                                                                                                while the owner does not collect
//	                                                                                                readies nothing until it does)
//	user events with a value (kbench's Post)               kinds.go: AddEvent, Post; ctl.go:      variant: a unotify kevent whose READY
//	                                                         readyOne                               entry carries the value in ret_data,
//	                                                                                                summed into the kevent's (t30's READY
//	                                                                                                carried the id only)
//	counting kevents: ret_data as a 64-bit count,          ukevent.go: counting, addCount;        kbench's: what notify's Event.Data
//	  cleared by ET's completion                             queue.go: readyVerdict, checkVerdict   reports; a timer or signal kevent's
//	                                                                                                re-check says ready while it counts;
//	                                                                                                Zach's ring holds a record per
//	                                                                                                readiness, and the Notifier's reader
//	                                                                                                (wait.go: translate) merges one
//	                                                                                                source's records within a Wait
//	an hrtimer's storage_ready runs at expiry              wait.go: Wait (harvest)                variant: with timers registered a
//	                                                                                                Wait first catches up with the hook
//	                                                                                                thread (epoll_wait 0, CallHook), so it
//	                                                                                                reports every expiration due when it
//	                                                                                                began, as for level fds
//	socket, pipe, inode, AIO, POSIX-timer types            -                                      absent: sockets and pipes are fd
//	                                                                                                sources (KEVENT_POLL); the others
//	                                                                                                have no notify counterpart
//	STORAGE LIFECYCLE
//	storage_enqueue before the type's readiness check      ctl.go: addOne, pollInFlight           exact
//	kevent_ready: oneshot or broken leaves the storage     queue.go: ready                        exact
//	kevent_finish_user: out of index, ready list,          queue.go: finish, reapDead             variant: freed by the collector's
//	  storage; freed after RCU (t29)                                                                reaper when the finisher does not
//	                                                                                                hold the storage's lock
//	kevent_user_release: a closed queue's kevents leave    notifier.go: Close                     exact (a private Kernel goes with
//	  every storage (t29)                                                                           its queue)
//	kevent_storage_fini: origin gone (t28 __fput, t26      queue.go: storageFini; kernel.go:      variant: every kevent of the storage,
//	  task exit): storage_ready(st, kevent_break,            Kernel.closeFD; fdsrc.go:              of every queue, is broken and leaves
//	  MASK_ALL), "that will remove them from storage"        Notifier.CloseFD                       it, queued once BROKEN|DONE (t29's
//	  (t29 kevent.c)                                                                                first-waker-only walk and positive
//	                                                                                                verdicts could leave kevents on the
//	                                                                                                dying storage); the dead storage
//	                                                                                                refuses ADD (EBADF). CloseFD is the
//	                                                                                                emulated close of a file's last
//	                                                                                                reference; a plain close(2) is seen
//	                                                                                                only by a Level kevent's next poll
//	a broken kevent after delivery                         queue.go: completeReady                variant: freed, as a oneshot one (t29
//	                                                                                                kept it in the index, off its
//	                                                                                                storage); reported once, Hangup|Error
//	a broken kevent at a LAST_CHECK dequeue                collect.go: lastCheck                  variant: delivered without the check
//	                                                                                                (its origin is gone)
//	TIMEOUTS
//	relative timespec (t29 kevent_user_wait, kevent_wait)  timeout.go: waitTimeout                exact, to the nanosecond (take29
//	                                                                                                rounded to jiffies)
//	invalid timespec (negative, nsec >= 1e9): EINVAL; no   timeout.go: waitTimeout                exact
//	  "-1 waits forever" in the code (t30 doc says so)
//	KEVENT_FLAGS_ABSTIME: CLOCK_REALTIME hrtimer sets      timeout.go: waitTimeout, armAbs        exact, including the timer left
//	  need_exit; cancelled only by the next ABSTIME wait                                            armed; variant: a Go timer does not
//	  or release (t29 kevent_user_wake)                                                             follow a later clock step
//	O_NONBLOCK queue: no wait, timeout not checked (t29)   queue.go: kuser.nonblock; collect.go,  exact at the queue; not a Notifier
//	                                                         take29.go                              option: the contract's Wait has
//	                                                                                                its own zero timeout
//	notify's duration timeouts                             wait.go: Wait                          variant: the contract's form
//	SIGNALS
//	waits are interruptible: a signal ends the wait and    collect.go: getEvents, sleepLocked;    exact; the Notifier restarts the
//	  the call returns what is ready (t29                    take29.go: keventWait                  call (one more CallWait), as user
//	  wait_event_interruptible_timeout)                                                             space would after a handler
//	signal kevents (t26 kevent_signal.c)                   signal.go (TYPES above)                variant, see KEVENT_SIGNAL above
//	WAKE-UPS AND POLLING
//	wake_up on each kevent_ready (all sleepers)            queue.go: wakeLocked                   exact: one FUTEX_WAKE of every
//	                                                                                                sleeper; none when none sleeps
//	several threads sleep in kevent_get_events on one      waiters.go: Shared; collect.go:        syscall path: exact, each a
//	  queue, each re-checking after wake_up (t29             getEventsAs, sleepLocked               collector of its own; one that
//	  wait_event_interruptible_timeout on u->wait)                                                  finds too few sleeps again (min,
//	                                                                                                above); take29/Zach rings: one
//	                                                                                                reader (absent)
//	kevent file pollable: POLLIN while ready_num or        pollable.go: PollFD                    exact readiness; variant: an eventfd
//	  need_exit; poll clears need_exit (t29 user_poll)                                              mirrors it (a system call per
//	                                                                                                transition, CallHook), and polling
//	                                                                                                it cannot clear need_exit
//	LIMITS
//	KEVENT_MIN_BUFFS_ALLOC: arrays above 3 copied in one   -                                      exact: no visible effect
//	  piece (t29)
//	KEVENT_MAX: types 0..8 (t29 ukevent.h)                 ctl.go: typeAllowed                    exact for the four types implemented
//	ring of num records, num >= 2 (t29)                    notifier.go: ParamRingSlots            exact
//
// Ring records carry the registration's generation in the id, so the
// Notifier's reader drops records of kevents removed after they reached a
// ring; the patch's reader owned its ids and did the same itself.
package kevent
