/*
 * fanin.h: the C twin of workloads/fanin.go, shared by the collector loop
 * (fanin.c) and the three kernel backends (epoll.c, aio.c, uring.c).
 *
 * The twin exists to answer one question: how much of a Go backend's fan-in
 * cost is the mechanism, and how much is Go? So the loop is the Go loop, step
 * for step: the same producer (per-source credit flag, numbered firings
 * written into eventfds), the same collector (one Wait for at least one
 * event, read each source's eventfd, mark the firing number, re-arm, return
 * the credit), the same exactly-once ledger. Each backend is what a careful C
 * programmer would write over raw system calls, with the Go backend's
 * structure (what is submitted when, how the ring is read).
 */
#ifndef KBENCH_FANIN_H
#define KBENCH_FANIN_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stddef.h>

/* One collected event: the source index (the Go collector's token). */
struct fev {
	uint64_t token;
};

/* Wait timeouts, as in notify: < 0 blocks, 0 never blocks. */
#define FOREVER (-1L)

/* Backend operations, the twin of notify.Notifier's methods the loop uses. */
struct backend {
	const char *name;
	/* open registers the S source eventfds and the wake eventfd. */
	int (*open)(int S, const int *fds, int wakefd, const char *setup);
	/* wait collects at least one event (unless woken or timed out) into
	 * out[0..max), like Notifier.Wait(events, 1, timeout). */
	int (*wait)(struct fev *out, int max, long timeout_ns);
	/* rearm re-enables source i after collection (oneshot modes). */
	void (*rearm)(int i);
	void (*close)(void);
};

extern const struct backend epoll_lt, epoll_et, epoll_oneshot;
extern const struct backend aio_ring;
extern const struct backend uring_oneshot, uring_multishot;

/* The collector's system calls, by the notify.SyscallKind of the Go side,
 * so that syscalls/event compares like for like. */
enum { CALL_CTL, CALL_WAIT, CALL_SUBMIT, CALL_WAKE, CALL_OTHER, NCALLS };
extern uint64_t ncalls[NCALLS];

/* die reports a fatal error and exits 1; unavailable reports a mechanism the
 * kernel refuses and exits 3 (the Go side marks the row skipped). */
void die(const char *what, int err) __attribute__((noreturn));
void unavailable(const char *what, int err) __attribute__((noreturn));

int64_t now_ns(void);

/* The wake eventfd's token: out of the sources' range. */
#define WAKE_TOKEN UINT64_MAX

/* Drains the wake eventfd (the Go backends' drainWake/consumeWake). */
void drain_wake(void);

#endif
