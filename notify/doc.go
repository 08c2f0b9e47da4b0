// Package notify states the contract every kbench backend meets.
//
// A Notifier collects readiness events from many sources. Collection is
// shaped like the kevent_getevents call proposed on LKML in 2006:
//
//	Wait(events, min, timeout) (n, err)
//
// Wait returns as soon as at least min events are available, reporting at
// most len(events) of them, or when timeout expires with fewer (possibly
// zero). If timeout < 0, Wait blocks until min events are available (or Wake
// or Close is called). If timeout == 0, Wait never blocks: it reports what is
// ready now. If min == 0, Wait behaves as if timeout were 0. min must not
// exceed len(events) (ErrInvalid). One call covers epoll_wait (min=1),
// io_getevents(min_nr, nr), io_uring_enter(GETEVENTS, min_complete) and
// kevent_get_events(min, max).
//
// Wake makes a blocked Wait return early, or the next Wait if none is
// blocked; the woken Wait may report zero events. Close makes a blocked Wait
// return ErrClosed, releases every kernel object the backend owns, and a
// second Close returns ErrClosed. Wake and Close are the only methods that may
// be called from another goroutine while Wait runs; every other method belongs
// to the goroutine that collects (the one exception, UserSources.Fire, is the
// producer's and is documented there).
//
// Several waiters. By default one goroutine collects from an instance. A
// backend on whose instance several goroutines may block at once
// implements SharedWaiter (waiters.go): NewWaiter hands each one a Wait of
// its own, and WakePolicy says which of them a firing wakes — one
// (WakeOne: epoll_wait's exclusive wait queue) or all (WakeAll). The policy
// is what the Waits' returns show: a kernel that wakes every sleeper and
// lets all but the first go back to sleep inside the call (AIO's
// io_getevents, kevent's get_events, a plain io_uring ring's GETEVENTS,
// re-entered by the Wait) returns one Wait, WakeOne, and the others' wake-ups
// cost context switches no return shows. Policies
// between instances watching one source are the backend's registration
// options (epoll's exclusive=1 for EPOLLEXCLUSIVE, kevent's wakeup_all on
// queues of one Kernel), documented in its package.
//
// Sources are registered with an Interest (a non-empty set of Readable and
// Writable), a Trigger and a 64-bit token. The token comes back in every
// Event for that source and is never interpreted: backends carry it in the
// kernel's cookie (epoll data, aio_data, user_data). Trigger semantics:
//
//   - Level: reported by every Wait while the source is ready.
//   - Edge: reported once per transition to ready; the consumer drains the
//     source (to EAGAIN) before it can expect another report.
//   - Oneshot: reported once, then disabled until Modify re-arms it.
//   - Multishot: stays armed; reported once per kernel wakeup of the source
//     (io_uring's IORING_POLL_ADD_MULTI), so it is not coalesced per source.
//
// A backend that cannot do a combination says so in Caps, and Add returns an
// error wrapping errors.ErrUnsupported: the harness reports the row as not
// applicable and never emulates the combination silently. A backend whose
// kernel mechanism is refused on this machine returns an error wrapping
// ErrUnavailable from its constructor, with the kernel's reason.
//
// Source kinds. A real event loop waits on descriptors, timers, signals and
// wake-ups from other threads in one call. A Notifier that implements
// KindSources (kinds.go) takes timers (CLOCK_MONOTONIC, relative or
// absolute, once or periodic), signals and user events beside its
// descriptors, and reports them through the same Wait with Event.Kind and
// a count in Event.Data (expirations, signals received, the sum of the
// values posted), so that a caller can account for every expiration,
// signal and post exactly once. Caps.Kinds says which kinds a backend
// takes, Caps.NativeKinds which its kernel interface serves itself
// (IORING_OP_TIMEOUT, kevent's timer and signal types) rather than through
// a descriptor it owns and drains (timerfd, signalfd, eventfd).
//
// Hot paths allocate nothing: the caller owns and reuses the events slice,
// and Wait, Modify (as a re-arm) and Fire must not allocate.
//
// Every backend counts the system calls it makes, per call-site kind
// (Syscalls), so results report system calls per event without strace.
// System calls the caller makes on the sources themselves (reading an
// eventfd) are not the backend's and are not counted there.
package notify
