//go:build ignore

// The constraint above keeps the go tool from treating this file as cgo
// source of package fanin, which only embeds it (see fanin.go).

/*
 * uring.c: the twin of impls/iouring's plain and coop rings with POLL_ADD
 * sources, oneshot (re-armed by a new POLL_ADD after each collection) or
 * multishot (IORING_POLL_ADD_MULTI, re-armed only when the kernel ends the
 * request: a CQE without IORING_CQE_F_MORE).
 *
 * Each Wait reaps the CQ ring in user space first. If that found events,
 * queued re-arms go to the kernel in one io_uring_enter without GETEVENTS;
 * otherwise one io_uring_enter(GETEVENTS, min_complete=1) submits them and
 * waits. The wake eventfd has its own oneshot poll (the Go backend posts a
 * MSG_RING instead; either costs one CQE per repetition).
 */
#include "fanin.h"

#include <errno.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

_Static_assert(sizeof(struct io_uring_sqe) == 64, "SQE is 64 bytes");
_Static_assert(sizeof(struct io_uring_cqe) == 16, "CQE is 16 bytes");

#define SQ_ENTRIES 256  /* iouring.DefaultSQEntries */
#define CQ_ENTRIES 4096 /* iouring.DefaultCQEntries */

static int ringfd, nsrc, multishot, coop, woken;
static const int *srcfds;
static int wakefd_;
static unsigned *sq_head, *sq_tail, *sq_mask, *sq_flags, *sq_array, sq_entries;
static unsigned *cq_head, *cq_tail, *cq_mask;
static struct io_uring_cqe *cqes;
static struct io_uring_sqe *sqes;
static unsigned sqe_tail; /* our next SQE; published to *sq_tail by publish() */

static int enter(unsigned to_submit, unsigned min_complete, unsigned flags, void *arg, size_t argsz)
{
	return (int)syscall(SYS_io_uring_enter, ringfd, to_submit, min_complete, flags, arg, argsz);
}

/* publish makes the queued SQEs visible and returns how many the kernel has
 * not consumed yet. */
static unsigned publish(void)
{
	/* Release: the SQEs and array entries are written before the kernel
	 * sees the new tail; pairs with its smp_load_acquire of sq.tail. */
	__atomic_store_n(sq_tail, sqe_tail, __ATOMIC_RELEASE);
	/* Acquire: pairs with the kernel's smp_store_release of sq.head once it
	 * has consumed the entries. */
	return sqe_tail - __atomic_load_n(sq_head, __ATOMIC_ACQUIRE);
}

static void submit(void)
{
	unsigned n = publish();
	if (n == 0)
		return;
	for (;;) {
		ncalls[CALL_SUBMIT]++;
		if (enter(n, 0, 0, NULL, 0) >= 0 || errno == EAGAIN || errno == EBUSY)
			return;
		if (errno != EINTR)
			die("io_uring_enter submit", errno);
	}
}

static struct io_uring_sqe *next_sqe(void)
{
	if (sqe_tail - __atomic_load_n(sq_head, __ATOMIC_ACQUIRE) >= sq_entries)
		submit(); /* full: hand the queue to the kernel first */
	if (sqe_tail - __atomic_load_n(sq_head, __ATOMIC_ACQUIRE) >= sq_entries)
		die("submission ring full", EBUSY);
	unsigned idx = sqe_tail & *sq_mask;
	struct io_uring_sqe *sqe = &sqes[idx];
	sq_array[idx] = idx;
	sqe_tail++;
	memset(sqe, 0, sizeof *sqe);
	return sqe;
}

static void arm(int fd, uint64_t ud, int multi)
{
	struct io_uring_sqe *sqe = next_sqe();
	sqe->opcode = IORING_OP_POLL_ADD;
	sqe->fd = fd;
	sqe->poll32_events = POLLIN;
	if (multi)
		sqe->len = IORING_POLL_ADD_MULTI;
	sqe->user_data = ud;
}

static int open_ring(int S, const int *fds, int wakefd, const char *setup)
{
	nsrc = S;
	srcfds = fds;
	wakefd_ = wakefd;
	coop = setup && !strcmp(setup, "coop");
	struct io_uring_params p = {0};
	p.flags = IORING_SETUP_CQSIZE;
	p.cq_entries = CQ_ENTRIES;
	if (coop)
		p.flags |= IORING_SETUP_COOP_TASKRUN | IORING_SETUP_SINGLE_ISSUER |
			   IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG;
	ringfd = (int)syscall(SYS_io_uring_setup, SQ_ENTRIES, &p);
	if (ringfd < 0) {
		int e = errno;
		if (e == EPERM || e == EACCES || e == ENOSYS || e == EINVAL || e == ENOMEM || e == EOPNOTSUPP)
			unavailable("io_uring_setup", e);
		return -1;
	}
	const unsigned need = IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;
	if ((p.features & need) != need)
		unavailable("io_uring: kernel lacks SINGLE_MMAP, NODROP or EXT_ARG", ENOSYS);
	size_t sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	size_t sz = sqsz > cqsz ? sqsz : cqsz;
	char *r = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ringfd, IORING_OFF_SQ_RING);
	if (r == MAP_FAILED)
		return -1;
	sqes = mmap(NULL, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		    ringfd, IORING_OFF_SQES);
	if (sqes == MAP_FAILED)
		return -1;
	sq_head = (unsigned *)(r + p.sq_off.head);
	sq_tail = (unsigned *)(r + p.sq_off.tail);
	sq_mask = (unsigned *)(r + p.sq_off.ring_mask);
	sq_flags = (unsigned *)(r + p.sq_off.flags);
	sq_array = (unsigned *)(r + p.sq_off.array);
	sq_entries = p.sq_entries;
	cq_head = (unsigned *)(r + p.cq_off.head);
	cq_tail = (unsigned *)(r + p.cq_off.tail);
	cq_mask = (unsigned *)(r + p.cq_off.ring_mask);
	cqes = (struct io_uring_cqe *)(r + p.cq_off.cqes);
	sqe_tail = *sq_tail;

	arm(wakefd, WAKE_TOKEN, 0);
	for (int i = 0; i < S; i++)
		arm(fds[i], (uint64_t)i, multishot);
	submit();
	return 0;
}

static int open_oneshot(int S, const int *fds, int wakefd, const char *setup)
{
	multishot = 0;
	return open_ring(S, fds, wakefd, setup);
}

static int open_multishot(int S, const int *fds, int wakefd, const char *setup)
{
	multishot = 1;
	return open_ring(S, fds, wakefd, setup);
}

/* reap consumes CQEs into out and queues the re-arms they call for: the wake
 * poll, and a multishot request the kernel ended. No system call. */
static int reap(struct fev *out, int max)
{
	unsigned head = *cq_head; /* only we write it */
	/* Acquire: pairs with the kernel's smp_store_release of cq.tail after
	 * it has filled the CQEs below it. */
	unsigned tail = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE);
	int k = 0;
	while (head != tail && k < max) {
		const struct io_uring_cqe *c = &cqes[head & *cq_mask];
		uint64_t ud = c->user_data;
		int32_t res = c->res;
		uint32_t flags = c->flags;
		head++;
		if (ud == WAKE_TOKEN) {
			drain_wake();
			arm(wakefd_, WAKE_TOKEN, 0);
			woken = 1;
			continue;
		}
		if (res < 0)
			die("poll completion", -res);
		if (multishot && !(flags & IORING_CQE_F_MORE))
			arm(srcfds[ud], ud, 1); /* ended (CQ overflow): re-arm */
		out[k++].token = ud;
	}
	/* Release: the CQEs are read before the kernel may reuse their slots;
	 * pairs with its read of cq.head. */
	__atomic_store_n(cq_head, head, __ATOMIC_RELEASE);
	return k;
}

/* must_enter: SQEs queued, CQEs parked on the overflow list, or (coop)
 * completions that exist only as deferred task work until we enter. */
static int must_enter(void)
{
	unsigned f = __atomic_load_n(sq_flags, __ATOMIC_RELAXED);
	return publish() > 0 || (f & IORING_SQ_CQ_OVERFLOW) || (coop && (f & IORING_SQ_TASKRUN));
}

static int getevents(unsigned min, long timeout_ns)
{
	unsigned n = publish();
	struct __kernel_timespec ts;
	struct io_uring_getevents_arg arg = {0};
	unsigned flags = IORING_ENTER_GETEVENTS;
	void *argp = NULL;
	size_t argsz = 0;
	if (timeout_ns >= 0 && min > 0) {
		ts.tv_sec = timeout_ns / 1000000000;
		ts.tv_nsec = timeout_ns % 1000000000;
		arg.ts = (uint64_t)(uintptr_t)&ts;
		flags |= IORING_ENTER_EXT_ARG;
		argp = &arg;
		argsz = sizeof arg;
	}
	ncalls[CALL_WAIT]++;
	int r = enter(n, min, flags, argp, argsz);
	if (r < 0 && errno != EINTR && errno != ETIME && errno != EAGAIN && errno != EBUSY)
		die("io_uring_enter getevents", errno);
	return r;
}

static int ur_wait(struct fev *out, int max, long timeout_ns)
{
	int64_t deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0;
	int got = reap(out, max);
	if (got >= 1) {
		if (publish() > 0) {
			/* Re-arms reach the kernel now; a source still ready
			 * completes inline, so reap once more. */
			submit();
			got += reap(out + got, max - got);
		}
		return got;
	}
	for (;;) {
		if (woken) {
			woken = 0;
			return got;
		}
		long left = -1;
		if (timeout_ns >= 0) {
			left = timeout_ns == 0 ? 0 : (long)(deadline - now_ns());
			if (left <= 0) {
				if (must_enter())
					getevents(0, -1);
				return got + reap(out + got, max - got);
			}
		}
		getevents(1, left);
		got += reap(out + got, max - got);
		if (got >= 1)
			return got;
	}
}

static void rearm_oneshot(int i)
{
	arm(srcfds[i], (uint64_t)i, 0);
}

static void rearm_none(int i)
{
	(void)i;
}

static void ur_close(void)
{
	close(ringfd);
}

const struct backend uring_oneshot = {"uring-oneshot", open_oneshot, ur_wait, rearm_oneshot, ur_close};
const struct backend uring_multishot = {"uring-multishot", open_multishot, ur_wait, rearm_none, ur_close};
