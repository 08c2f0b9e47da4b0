/*
 * work.h: the calibrated per-event application work of kbench's C twins,
 * the C side of internal/work (same chain, same constants, same walk), so
 * that a Go collector and its twin do the same work per event.
 *
 *   struct work w;
 *   if (work_init(&w, ns, bytes, work_calibrate()) != 0) ...;
 *   ... after each event is taken: work_do(&w);
 *   double measured = work_measure(&w, work_calls(&w));
 *
 * The chain x = x*A + B is dependent, so its time per iteration is the
 * multiply and add latency; the empty asm keeps the compiler from
 * collapsing or vectorising it (it costs no instruction). The walk loads
 * and stores one byte per cache line of a private buffer, each access
 * depending on the last. Header-only: static functions, C11; it needs
 * clock_gettime, so a file that includes it defines _GNU_SOURCE (as the
 * twins do) or _POSIX_C_SOURCE before its first #include.
 */
#ifndef KBENCH_WORK_H
#define KBENCH_WORK_H

#if !defined(_GNU_SOURCE) && (!defined(_POSIX_C_SOURCE) || _POSIX_C_SOURCE < 199309L)
#error "work.h needs clock_gettime: define _GNU_SOURCE or _POSIX_C_SOURCE >= 199309L before any #include"
#endif

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORK_MAX_NS 1000000000LL
#define WORK_MAX_BYTES (1LL << 30)
#define WORK_LINE 64

static inline int64_t work_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* as internal/work: preemption is not work */
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static __attribute__((noinline)) uint64_t work_chain(uint64_t x, uint64_t n)
{
	for (; n > 0; n--) {
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static __attribute__((noinline)) uint64_t work_walk(unsigned char *buf, size_t len, uint64_t x)
{
	for (size_t i = 0; i < len; i += WORK_LINE) {
		x += buf[i];
		buf[i] = (unsigned char)x;
	}
	return x;
}

static volatile uint64_t work_sink;

/* work_calibrate: the chain's iterations per ns, fastest of seven runs of
 * about a millisecond (interruptions only ever slow a run down). */
static double work_calibrate(void)
{
	uint64_t n = 1 << 14;
	for (;;) {
		int64_t t0 = work_now_ns();
		work_sink ^= work_chain(1, n);
		if (work_now_ns() - t0 >= 1000000 || n >= (1ULL << 34))
			break;
		n *= 2;
	}
	int64_t best = INT64_MAX;
	for (int i = 0; i < 7; i++) {
		int64_t t0 = work_now_ns();
		work_sink ^= work_chain(1, n);
		int64_t d = work_now_ns() - t0;
		if (d < 1)
			d = 1;
		if (d < best)
			best = d;
	}
	return (double)n / (double)best;
}

struct work {
	long long ns, bytes;
	uint64_t iters, x;
	unsigned char *buf;
	size_t len;
};

/* work_init: 0, or -1 for a request out of range (ns 0..1e9, bytes 0..1 GiB)
 * or out of memory. */
static int work_init(struct work *w, long long ns, long long bytes, double iters_per_ns)
{
	memset(w, 0, sizeof *w);
	w->x = 1;
	if (ns < 0 || ns > WORK_MAX_NS || bytes < 0 || bytes > WORK_MAX_BYTES)
		return -1;
	w->ns = ns;
	w->bytes = bytes;
	if (ns > 0) {
		if (!(iters_per_ns > 0))
			return -1;
		double it = (double)ns * iters_per_ns + 0.5;
		w->iters = it < 1 ? 1 : (uint64_t)it;
	}
	if (bytes > 0) {
		w->len = (size_t)(bytes + WORK_LINE - 1) / WORK_LINE * WORK_LINE;
		w->buf = calloc(w->len, 1);
		if (!w->buf)
			return -1;
	}
	return 0;
}

static inline int work_zero(const struct work *w)
{
	return w->iters == 0 && w->buf == NULL;
}

static inline void work_do(struct work *w)
{
	uint64_t x = w->x;
	if (w->iters)
		x = work_chain(x, w->iters);
	if (w->buf)
		x = work_walk(w->buf, w->len, x);
	w->x = x;
}

/* work_calls: calls for about a millisecond of measuring (16..4096). */
static inline int work_calls(const struct work *w)
{
	double per = (double)w->ns + (double)w->len / WORK_LINE;
	if (per <= 0)
		return 0;
	double n = 1e6 / per;
	return n < 16 ? 16 : n > 4096 ? 4096 : (int)n;
}

/* work_measure: ns per work_do over n calls on the calling thread. */
static double work_measure(struct work *w, int n)
{
	if (work_zero(w) || n < 1)
		return 0;
	int64_t t0 = work_now_ns();
	for (int i = 0; i < n; i++)
		work_do(w);
	return (double)(work_now_ns() - t0) / n;
}

static void work_free(struct work *w)
{
	free(w->buf);
	w->buf = NULL;
}

#endif
