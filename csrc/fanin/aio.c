//go:build ignore

// The constraint above keeps the go tool from treating this file as cgo
// source of package fanin, which only embeds it (see fanin.go).

/*
 * aio.c: the twin of impls/aioring reaping from the ring (its "ring" and
 * "ring-oneshot" rows behave alike here: a collected source's poll is
 * resubmitted in the next Wait's single io_submit).
 *
 * Each Wait: io_submit every queued poll (sources collected by the previous
 * Wait, and the wake poll after it fired), read completions from the mmap'd
 * struct aio_ring without a system call, and block in io_getevents only when
 * the ring is empty.
 */
#include "fanin.h"

#include <errno.h>
#include <linux/aio_abi.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* struct aio_ring is fs/aio.c's, not uapi: the header user space may read
 * (magic and incompat_features say whether it may), then the io_events. */
struct aio_ring {
	unsigned id, nr, head, tail;
	unsigned magic, compat_features, incompat_features, header_length;
	struct io_event io_events[];
};
#define AIO_RING_MAGIC 0xa10a10a1
_Static_assert(sizeof(struct aio_ring) == 32, "struct aio_ring header is 32 bytes");
_Static_assert(sizeof(struct io_event) == 32, "struct io_event is 32 bytes");
_Static_assert(sizeof(struct iocb) == 64, "struct iocb is 64 bytes");

static aio_context_t ctx;
static struct aio_ring *ring;
static int nsrc, limit, inflight;
static struct iocb *iocbs; /* one per source, slot nsrc is the wake poll */
static struct iocb **batch;
static int *pending, npending, *requeue, nrequeue;
static int wake_arm, woken;
static struct io_event *evs;

static long io_setup_(unsigned nr, aio_context_t *c) { return syscall(SYS_io_setup, nr, c); }
static long io_destroy_(aio_context_t c) { return syscall(SYS_io_destroy, c); }
static long io_submit_(aio_context_t c, long n, struct iocb **b) { return syscall(SYS_io_submit, c, n, b); }
static long io_getevents_(aio_context_t c, long min, long nr, struct io_event *e, struct timespec *ts)
{
	return syscall(SYS_io_getevents, c, min, nr, e, ts);
}

static int aio_open(int S, const int *fds, int wakefd, const char *setup)
{
	(void)setup;
	nsrc = S;
	limit = S + 1 + S / 4 + 8; /* the Go backend's sizing */
	if (io_setup_((unsigned)limit, &ctx) != 0) {
		if (errno == EAGAIN || errno == ENOSYS || errno == EPERM)
			unavailable("io_setup", errno);
		return -1;
	}
	ring = (struct aio_ring *)ctx; /* the context id is the ring's address */
	if (ring->magic != AIO_RING_MAGIC || ring->incompat_features != 0 || ring->header_length != 32)
		unavailable("aio_ring layout not understood", EPROTO);
	iocbs = calloc((size_t)S + 1, sizeof *iocbs);
	batch = calloc((size_t)S + 1, sizeof *batch);
	pending = calloc((size_t)S + 1, sizeof *pending);
	requeue = calloc((size_t)S + 1, sizeof *requeue);
	evs = calloc((size_t)limit, sizeof *evs);
	if (!iocbs || !batch || !pending || !requeue || !evs)
		die("alloc", ENOMEM);
	for (int i = 0; i <= S; i++) {
		iocbs[i].aio_data = (uint64_t)i;
		iocbs[i].aio_lio_opcode = IOCB_CMD_POLL;
		iocbs[i].aio_fildes = (uint32_t)(i == S ? wakefd : fds[i]);
		iocbs[i].aio_buf = POLLIN;
	}
	for (int i = 0; i < S; i++)
		pending[npending++] = i;
	wake_arm = 1;
	return 0;
}

/* flush submits the queued polls in one io_submit. Every source has at most
 * one request in flight and the context has room for all of them, so the
 * kernel takes the whole batch. */
static void flush(void)
{
	int n = 0;
	if (wake_arm)
		batch[n++] = &iocbs[nsrc];
	for (int i = 0; i < npending; i++)
		batch[n++] = &iocbs[pending[i]];
	if (n == 0)
		return;
	ncalls[CALL_SUBMIT]++;
	long k = io_submit_(ctx, n, batch);
	if (k != n)
		die("io_submit", k < 0 ? errno : EAGAIN);
	inflight += n;
	wake_arm = 0;
	npending = 0;
}

/* ring_read copies up to max completions out of the ring and publishes the
 * new head. Indices wrap modulo nr (not a power of two). */
static int ring_read(struct io_event *dst, int max)
{
	/* The kernel writes head only inside our own io_getevents, never
	 * concurrently with this read: no ordering needed. */
	unsigned head = __atomic_load_n(&ring->head, __ATOMIC_RELAXED) % ring->nr;
	/* Acquire: pairs with aio_complete's smp_wmb() between writing the
	 * io_event and storing tail. */
	unsigned tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE) % ring->nr;
	unsigned avail = (tail + ring->nr - head) % ring->nr;
	unsigned k = avail < (unsigned)max ? avail : (unsigned)max;
	if (k == 0)
		return 0;
	unsigned first = k < ring->nr - head ? k : ring->nr - head;
	memcpy(dst, &ring->io_events[head], first * sizeof *dst);
	memcpy(dst + first, &ring->io_events[0], (k - first) * sizeof *dst);
	/* Release: the copies are done before the kernel sees the slots free;
	 * pairs with its read of head under completion_lock. */
	__atomic_store_n(&ring->head, (head + k) % ring->nr, __ATOMIC_RELEASE);
	return (int)k;
}

/* deliver turns completions into events and queues each source's next poll
 * for the next Wait (the Go backend's requeue). */
static int deliver(const struct io_event *raw, int n, struct fev *out)
{
	int k = 0;
	for (int i = 0; i < n; i++) {
		inflight--;
		uint64_t slot = raw[i].data;
		if (slot == (uint64_t)nsrc) {
			drain_wake();
			woken = 1;
			wake_arm = 1;
			continue;
		}
		if (raw[i].res <= 0)
			die("poll completion", raw[i].res < 0 ? (int)-raw[i].res : EIO);
		out[k++].token = slot;
		requeue[nrequeue++] = (int)slot;
	}
	return k;
}

static int aio_wait(struct fev *out, int max, long timeout_ns)
{
	int64_t deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0;
	memcpy(pending + npending, requeue, (size_t)nrequeue * sizeof *requeue);
	npending += nrequeue;
	nrequeue = 0;
	woken = 0;
	int got = 0;
	for (;;) {
		flush();
		int room = max - got < limit ? max - got : limit;
		got += deliver(evs, ring_read(evs, room), out + got);
		if (got >= 1 || woken || timeout_ns == 0)
			return got;
		/* The ring is empty: block in the kernel for the rest. */
		struct timespec ts, *tsp = NULL;
		if (timeout_ns > 0) {
			int64_t left = deadline - now_ns();
			if (left <= 0)
				return got;
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
			tsp = &ts;
		}
		room = max - got < limit ? max - got : limit;
		ncalls[CALL_WAIT]++;
		long k = io_getevents_(ctx, 1, room, evs, tsp);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			die("io_getevents", errno);
		}
		got += deliver(evs, (int)k, out + got);
		if (got >= 1 || woken)
			return got;
	}
}

static void aio_rearm(int i)
{
	(void)i; /* queued by deliver, submitted by the next Wait */
}

static void aio_close(void)
{
	io_destroy_(ctx);
}

const struct backend aio_ring = {"aio", aio_open, aio_wait, aio_rearm, aio_close};
