// Package epoll is the epoll backend: a thin translator between the
// Notifier contract and epoll_ctl/epoll_wait.
//
// Level maps to plain epoll, Edge to EPOLLET, Oneshot to EPOLLONESHOT with
// EPOLL_CTL_MOD as the re-arm. epoll has no multishot. Sub-millisecond
// timeouts use epoll_pwait2 (Linux 5.11+); on older kernels they are rounded
// up to one millisecond, which is epoll_wait's resolution.
//
// Several waiters. The instance is a notify.SharedWaiter: goroutines may
// block in epoll_wait on it at once, each through its own Waiter, and
// epoll_wait's waiters are exclusive (WakeOne). Between instances that
// watch one fd, Options parameter exclusive=1 (ParamExclusive; not a
// variant parameter: the herd workload sets it for its rows) registers
// every fd with EPOLLEXCLUSIVE (Linux 4.5+), so a wake-up of the fd wakes
// one (or more) of the instances with a blocked waiter instead of all.
// The kernel refuses it with ONESHOT and with EPOLL_CTL_MOD (Add and Modify
// say errors.ErrUnsupported) and with RDHUP, which is dropped.
//
// The epoll data word carries a registration index, not the token: the
// wake eventfd needs a cookie no token can collide with, and every 64-bit
// value is a valid token. The index is looked up in a slice, so translation
// costs one bounds-checked load per event.
//
// Source kinds (notify.KindSources). Timers, signals and user events are a
// timerfd (CLOCK_MONOTONIC, TFD_TIMER_ABSTIME for absolute deadlines), a
// signalfd and an eventfd the instance owns, each a level-triggered item
// whose data word has the top bit set (the wake eventfd's is that bit
// alone), so the descriptor path still tests one condition per event.
// Wait drains a reported kind descriptor (a timerfd read is the
// expirations, signalfd reads the signals dequeued, an eventfd read the
// sum posted) and counts each read as notify.CallDrain; Post's eventfd
// write is notify.CallFire. RemoveSource's EPOLL_CTL_DEL takes the item
// off the ready list, so nothing pending is reported afterwards. Signals
// are read by the thread that calls Wait: it is the collector's locked
// thread, which blocked them (notify.BlockSignal); a Waiter on another
// thread does not see them.
package epoll
