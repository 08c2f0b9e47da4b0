// Package iouring is kbench's io_uring backend: a notify.Notifier built on
// IORING_OP_POLL_ADD over the minimal binding in package uring, with timers,
// signals and user events beside the descriptors (notify.KindSources).
//
// # Triggers
//
//   - Oneshot (native): a POLL_ADD without IORING_POLL_ADD_MULTI completes
//     once and is gone; Modify queues a new POLL_ADD, which reaches the kernel
//     with the next io_uring_enter (the next Wait), batched with every other
//     pending SQE.
//   - Multishot (native): POLL_ADD with IORING_POLL_ADD_MULTI stays armed and
//     posts a CQE flagged IORING_CQE_F_MORE per wakeup it processes. It is not
//     coalesced per source the way epoll's ready list is: a source woken ten
//     times between two Waits may post ten CQEs. (The kernel does merge the
//     wakeups that arrive while the request's previous task_work has not run
//     yet into one vfs_poll and one CQE; see io_poll_check_events.)
//   - Level (derived): a oneshot POLL_ADD that the backend re-queues after
//     each report, so every Wait that submits re-polls the source and a
//     still-ready source completes inline again. Each report therefore costs
//     one POLL_ADD; Caps lists Level as accepted but not native.
//   - Edge: unsupported (errors.ErrUnsupported). A multishot poll reports
//     wakeups, not transitions; coalescing its CQEs per source in user space
//     would hide exactly the per-wakeup cost the multishot rows measure.
//
// # Identity and stale completions
//
// user_data carries a registration slot (low 32 bits; bit 31 set for the
// table of timers, signals and user events) and that slot's generation (31
// bits above); bit 63 marks the backend's own requests (wake
// messages, POLL_REMOVE results), which are never reported. Modify and
// Remove bump the generation and queue an IORING_OP_POLL_REMOVE for the old
// request, so a CQE of a removed or replaced registration, including one that
// was already sitting in the CQ ring or on the kernel's overflow list, no
// longer matches and is dropped. The token itself stays in user space.
//
// # CQ overflow
//
// The rings are created with IORING_SETUP_CQSIZE and require
// IORING_FEAT_NODROP: a CQE that does not fit is parked on the kernel's
// overflow list and IORING_SQ_CQ_OVERFLOW is set. While anything is parked,
// the kernel refuses further multishot CQEs (io_req_post_cqe fails) and ends
// those requests with a final CQE without IORING_CQE_F_MORE that still
// carries the readiness mask. Wait reports that CQE and re-arms the request;
// whenever it sees IORING_SQ_CQ_OVERFLOW and has room for more events it
// enters with IORING_ENTER_GETEVENTS to make the kernel flush the list into
// the ring (io_cqring_do_overflow_flush). A re-armed POLL_ADD polls the file
// at once, so readiness that arrived while no request was armed is reported
// too: nothing is lost, at the price of possible extra reports. If the kernel
// ever drops a CQE (it could not allocate an overflow entry; io_uring_enter
// returns EBADR) every registration is re-armed from scratch.
//
// # Waiting
//
// Wait reaps the CQ ring in user space first and enters the kernel only when
// it must: to wait for what is missing (IORING_ENTER_GETEVENTS with
// min_complete = min - collected and an IORING_ENTER_EXT_ARG timeout, an
// hrtimer, so sub-millisecond timeouts work), to submit queued SQEs, to flush
// overflow, or, on coop rings, when IORING_SQ_TASKRUN says deferred
// completions are waiting to be run.
//
// A Wait that already has its events still submits the re-arms it queued,
// and that submit carries GETEVENTS with min_complete 0 whenever
// IORING_SQ_TASKRUN or IORING_SQ_CQ_OVERFLOW is set. On a coop ring this is
// not an optimisation: always-ready level sources refill the CQ ring inline
// at every submit, so such a Wait never runs out of events and never blocks,
// and a DEFER_TASKRUN ring posts every other source's completion only in an
// enter with GETEVENTS. Without it those sources would never be reported.
//
// # Wake and Close
//
// A Wake must end an io_uring_enter that waits for min_complete CQEs, and
// one extra CQE does not end a wait for five. So the waiter publishes how
// many it waits for, and Wake posts that many CQEs into the ring with
// IORING_OP_MSG_RING (IORING_MSG_DATA) submitted on a second, private
// eight-entry ring that any goroutine may use under a mutex. A flag (one CAS,
// as in the Go runtime's netpollBreak) makes the first Wake the only one that
// enters the kernel, and lets a Wake that finds no waiter cost no system call
// at all: the next Wait sees the flag and returns before blocking. Close
// marks the gate closed, wakes the waiter the same way, waits for it to leave
// and only then unmaps the rings and closes the fds. It never enters the
// main ring itself, because a coop ring (SINGLE_ISSUER|DEFER_TASKRUN)
// accepts io_uring_enter only from the thread that created it.
//
// # Setups
//
//   - plain: no setup flags beyond CQSIZE. Poll completions run as task_work
//     on the submitting thread, signalled with TWA_SIGNAL. Several threads
//     may wait on a plain ring (Shared, shared.go); the plain variants open
//     one, which a lone collector uses as the Notifier.
//   - coop: COOP_TASKRUN|SINGLE_ISSUER|DEFER_TASKRUN, plus TASKRUN_FLAG so a
//     non-blocking Wait enters only when the kernel has deferred work for it.
//     Completions are posted only when the creating thread enters with
//     GETEVENTS, and only that thread may enter: the Notifier must be created
//     and used by one goroutine locked to its OS thread (runtime.LockOSThread),
//     and that thread must outlive the Notifier. Wake and Close may still come
//     from anywhere.
//   - sqpoll: IORING_SETUP_SQPOLL. A kernel thread consumes the SQ ring and
//     runs the poll task_work; the backend publishes the tail and enters only
//     with IORING_ENTER_SQ_WAKEUP when the thread has set
//     IORING_SQ_NEED_WAKEUP (checked after the tail store, with the full
//     barrier the protocol requires), with IORING_ENTER_SQ_WAIT when the SQ
//     ring is full, or with GETEVENTS to wait. Config.HelperCPU >= 0 pins the
//     thread (IORING_SETUP_SQ_AFF); it sleeps after Config.SQThreadIdle.
//
// # Source kinds
//
// The Notifier implements notify.KindSources; ids are slots of a table of
// their own, and their CQEs are summed per source into one Event per Wait
// (kinds.go).
//
//   - Timers (native): IORING_OP_TIMEOUT with completion count 0, always
//     IORING_TIMEOUT_ABS on CLOCK_MONOTONIC (a relative first expiry becomes
//     a deadline at AddTimer). A periodic timer is re-armed by the backend
//     at the first grid point start + k*period after the clock, counting
//     every grid point passed, so a late collector loses none and none is
//     early or counted twice. IORING_TIMEOUT_MULTISHOT is not used: the
//     kernel re-arms it relative to its completion's task_work, which drifts
//     and, on a coop ring, waits for the collector to enter (timer.go).
//     RemoveSource queues IORING_OP_TIMEOUT_REMOVE.
//   - Signals (through a descriptor): a signalfd per signal, polled by the
//     ring (IORING_POLL_ADD_MULTI when Config.Multishot, the multishot rows;
//     re-armed oneshot polls otherwise) and read to EAGAIN by Wait. The poll
//     runs in the submitting task, and signalfd sees that task's pending
//     signals: the collecting thread on plain and coop, which is where
//     thread-directed signals go, but the SQPOLL thread on sqpoll, where
//     AddSignal is therefore refused (errors.ErrUnsupported; signal.go).
//   - User events (native): Post sums values in memory and rings a doorbell,
//     one IORING_OP_MSG_RING from the waker's ring, only when the event goes
//     from idle to posted; Wait takes the sum when it reaps the doorbell
//     (user.go).
//
// System calls are counted per kind: io_uring_enter with GETEVENTS is
// CallWait, without it CallSubmit, the MSG_RING submission of a Wake is
// CallWake, a Post's doorbell CallFire, and each signalfd read CallDrain.
package iouring
