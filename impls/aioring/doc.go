// Package aioring is the Linux native AIO backend: readiness through
// IOCB_CMD_POLL requests, completions reaped straight from the mmap'd
// struct aio_ring whose head/tail control words the 2006 kevent review
// criticised.
//
// # Mechanism
//
// New calls io_setup for Options.MaxSources requests plus the internal wake
// poll plus headroom for cancelled requests not yet reaped. The kernel
// (ioctx_alloc, aio_setup_ring) takes max(that, 4 * possible CPUs), doubles
// it against per-CPU slot caching, adds two, and rounds the ring up to whole
// pages, so with 4 KiB pages the ring holds 128*pages-1 events: never a
// power of two, and ring indices wrap modulo nr. Each source has at most one
// request outstanding, so completions can never overrun the ring. The context id io_setup returns is the ring's user address; the
// kernel writes it into a pointer-typed word and the package derives its one
// []byte view from it with unsafe.Slice.
//
// Each armed source is one IOCB_CMD_POLL request whose aio_data is
// (generation<<32 | slot): the slot indexes the registration table, where the
// token lives, so the kernel cookie is never a pointer.
//
// Wait submits every request that needs (re)arming in one io_submit, then
// reaps. With ReapRing it loads tail, copies the events between head and tail
// and publishes the new head, entering the kernel only to block in
// io_getevents(min_nr, nr, timeout) for what the ring did not hold. If the
// mapping fails its checks (magic 0xa10a10a1, incompat_features == 0,
// header_length 32), the notifier falls back to ReapSyscall (Reaping says
// why), which collects every completion with io_getevents.
//
// # Triggers: native and derived
//
//   - Oneshot is native: a poll request completes once and is gone. Modify
//     re-arms it; the re-arm is queued and goes out in the next Wait's single
//     io_submit, so it costs no system call of its own.
//   - Level is derived: after each completion the request is queued again and
//     resubmitted at the start of the next Wait, not at once, because the
//     caller must first get its chance to drain the source. A source still
//     ready then completes inline during io_submit and that same Wait
//     reports it again; a drained one waits for its next wakeup. A source is
//     reported at most once per Wait.
//   - Edge is refused (errors.ErrUnsupported). A poll request cannot ask for
//     "the next transition": submitted on a source that is still ready, it
//     completes at once, and resubmitting only after the caller drains would
//     need a drain notification AIO does not have. Either choice would report
//     without a new transition or lose one; the row is not applicable.
//   - Multishot is refused: AIO has no multishot poll (io_uring has).
//
// # Remove and stale completions
//
// Remove (and a Modify that changes the interest of an armed request) calls
// io_cancel and bumps the slot's generation. A request completes exactly
// once whatever happens to it (a cancelled poll completes with res 0), so its
// completion still arrives, from the ring or from io_getevents, possibly
// already sitting in the ring when Remove runs. Wait drops every completion
// whose generation is not the slot's current one, and counts it, so the
// budget of in-flight requests stays exact. A slot reused by a later Add
// keeps the bumped generation, so an old completion never reaches the new
// registration's token.
//
// # Wake and Close
//
// Slot 0 is an internal eventfd poll, kept armed whenever Wait can block.
// Wake writes the eventfd once per wakeup episode (a flag set by the first
// Wake and cleared by the Wait that consumes the completion); the
// completion makes a blocked io_getevents return, or the next Wait's reap
// find it. Close writes the eventfd unconditionally, waits for callers to
// leave (internal/gate), then io_destroy cancels everything and unmaps the
// ring.
//
// # Limits
//
// Add submits at once, so the kernel's refusal (EBADF; EINVAL for files
// without poll support) is Add's error. A queued request the kernel later
// refuses (the fd was closed without Remove) is reported once as an event
// with notify.Error and disarmed; so is a source whose request the kernel
// ended without readiness (res 0: POLLFREE tore its wait queue down),
// reported with notify.Hangup. Add refuses more than MaxSources fds
// (ENOSPC). io_setup refused with EAGAIN (fs.aio-max-nr exhausted), ENOSYS
// or EPERM makes New return an error wrapping notify.ErrUnavailable.
//
// # Source kinds
//
// Timers and user events (notify.KindSources) are a timerfd and an eventfd
// the instance owns, each in a registration slot of its own (counted in
// MaxSources) with a POLLIN poll outstanding. Wait drains the descriptor
// when the poll completes and re-queues the poll at once, since nothing is
// left for the caller to drain; RemoveSource retires the slot as Remove
// does, so a completion already in the ring is dropped. Signals are refused:
// kinds.go says why the kernel cannot complete a signalfd poll for a
// thread-directed signal.
//
// System calls are counted: io_submit as CallSubmit, io_getevents as
// CallWait, io_cancel as CallCtl, the wake eventfd write as CallWake, the
// kind descriptors' reads as CallDrain, Post's eventfd write as CallFire,
// and io_setup, io_destroy and the wake eventfd drain as CallOther.
package aioring
