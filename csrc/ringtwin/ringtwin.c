//go:build ignore

// The constraint above keeps the go tool from treating this file as cgo
// source of package ringtwin, which only embeds it (see ringtwin.go).

/*
 * ringtwin: C11 twins of kbench's ring designs 1-3 (internal/ring) and of
 * the ringlab loops that drive them, so that the ring table can show how far
 * the Go implementation is from C on the same machine, same parameters.
 *
 *   owned  - ownership word per slot (Zach Brown 2006, af_packet tp_status)
 *   shared - AIO-style: head and tail on one cache line, read every time
 *   split  - head and tail on separate lines, each side caching the other's
 *   owned-pow2 - owned with af_packet's aligned layout: the word inside a
 *            power-of-two slot, free-running indices wrapped by mask
 *   minimal - owned-pow2 in loops that keep their positions in registers
 *
 * Orderings are C11 release stores and acquire loads (a plain MOV each on
 * x86-64), where Go's sync/atomic Store is an XCHG: that difference is part
 * of what the Go/C ratio shows.
 *
 * Usage: ringtwin -designs owned,shared,split -sizes 16,40,64 -ring 256
 *        -pattern stream|lockstep|burst -burst 32 -batch 1 -idle-ns 5000
 *        -pcpu 0 -ccpu 1 -events 200000 -reps 6 -warmup 50000
 *        -work-ns 0 -work-bytes 0 -net 0
 * Prints one line per timed repetition:
 *   design=owned slot=40 ring=256 pattern=stream batch=1 pcpu=0 ccpu=1
 *   events=200000 rep=0 check=1 ns_per_event=12.345 lost=0 dup=0 reordered=0
 *   corrupt=0 work_ns=0 work_measured_ns=0.000
 * With -net 1 each timed repetition is followed by an unchecked one (the
 * consumer only sums the payload; check=0, held to its count and checksum)
 * to measure the harness's own per-event cost. -work-ns/-work-bytes are the
 * consumer's calibrated work per event (work.h, as internal/work in Go).
 * Exit status 2 with one line on stderr for bad arguments or a refused
 * affinity; 1 if a repetition did not finish.
 *
 * Plain C11 with <stdatomic.h> and pthreads; build: cc -O2 -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "work.h"

#define LINE 64

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void *xalloc(size_t n)
{
	void *p = aligned_alloc(LINE, (n + LINE - 1) / LINE * LINE);
	if (!p) {
		fprintf(stderr, "ringtwin: out of memory\n");
		exit(2);
	}
	memset(p, 0, n);
	return p;
}

static inline _Atomic uint32_t *u32(unsigned char *mem, size_t off)
{
	return (_Atomic uint32_t *)(void *)(mem + off);
}

/* ---------------------------------------------------------------- owned */

struct owned {
	unsigned char *mem;
	int slot, slots;
	_Alignas(LINE) int pi;	/* producer-only */
	_Alignas(LINE) int ci;	/* consumer-only */
	_Alignas(LINE) char end;
};

static void owned_init(struct owned *r, int slots, int payload)
{
	r->slot = payload + 8;
	r->slots = slots;
	r->mem = xalloc((size_t)slots * r->slot);
	r->pi = r->ci = 0;
}

static inline unsigned char *owned_reserve(struct owned *r)
{
	unsigned char *s = r->mem + (size_t)r->pi * r->slot;
	if (atomic_load_explicit(u32(s, 0), memory_order_acquire) != 0)
		return NULL;
	return s + 8;
}

static inline void owned_publish(struct owned *r)
{
	atomic_store_explicit(u32(r->mem, (size_t)r->pi * r->slot), 1, memory_order_release);
	if (++r->pi == r->slots)
		r->pi = 0;
}

static inline unsigned char *owned_next(struct owned *r)
{
	unsigned char *s = r->mem + (size_t)r->ci * r->slot;
	if (atomic_load_explicit(u32(s, 0), memory_order_acquire) != 1)
		return NULL;
	return s + 8;
}

static inline void owned_release(struct owned *r)
{
	atomic_store_explicit(u32(r->mem, (size_t)r->ci * r->slot), 0, memory_order_release);
	if (++r->ci == r->slots)
		r->ci = 0;
}

static inline int owned_drained(struct owned *r)
{
	int last = r->pi - 1 < 0 ? r->slots - 1 : r->pi - 1;
	return atomic_load_explicit(u32(r->mem, (size_t)last * r->slot), memory_order_acquire) == 0;
}

/* ----------------------------------------------------------- owned-pow2 */

struct owned_pow2 {
	unsigned char *mem;
	unsigned mask, shift;
	_Alignas(LINE) unsigned pi;	/* producer-only, free-running */
	_Alignas(LINE) unsigned ci;	/* consumer-only, free-running */
	_Alignas(LINE) char end;
};

static int pow2_slot(int payload)
{
	int n = 16;
	while (n < payload + 8)
		n *= 2;
	return n;
}

static void owned_pow2_init(struct owned_pow2 *r, int slots, int payload)
{
	int slot = pow2_slot(payload);
	r->mask = (unsigned)slots - 1;
	r->shift = (unsigned)__builtin_ctz((unsigned)slot);
	r->mem = xalloc((size_t)slots * slot);
	r->pi = r->ci = 0;
}

static inline unsigned char *owned_pow2_reserve(struct owned_pow2 *r)
{
	unsigned char *s = r->mem + ((size_t)(r->pi & r->mask) << r->shift);
	if (atomic_load_explicit(u32(s, 0), memory_order_acquire) != 0)
		return NULL;
	return s + 8;
}

static inline void owned_pow2_publish(struct owned_pow2 *r)
{
	atomic_store_explicit(u32(r->mem, (size_t)(r->pi & r->mask) << r->shift), 1, memory_order_release);
	r->pi++;
}

static inline unsigned char *owned_pow2_next(struct owned_pow2 *r)
{
	unsigned char *s = r->mem + ((size_t)(r->ci & r->mask) << r->shift);
	if (atomic_load_explicit(u32(s, 0), memory_order_acquire) != 1)
		return NULL;
	return s + 8;
}

static inline void owned_pow2_release(struct owned_pow2 *r)
{
	atomic_store_explicit(u32(r->mem, (size_t)(r->ci & r->mask) << r->shift), 0, memory_order_release);
	r->ci++;
}

static inline int owned_pow2_drained(struct owned_pow2 *r)
{
	return atomic_load_explicit(u32(r->mem, (size_t)((r->pi - 1) & r->mask) << r->shift),
				    memory_order_acquire) == 0;
}

/* ---------------------------------------------------------------- shared */

#define SH_HEAD 8
#define SH_TAIL 12

struct shared {
	unsigned char *mem;
	int size, slots;
	_Alignas(LINE) int tail, ptail;	/* producer-only */
	_Alignas(LINE) int head, phead;	/* consumer-only */
	_Alignas(LINE) char end;
};

static void shared_init(struct shared *r, int slots, int payload)
{
	r->size = payload;
	r->slots = slots;
	r->mem = xalloc(LINE + (size_t)slots * payload);
	r->tail = r->ptail = r->head = r->phead = 0;
}

static inline int inc(int i, int n)
{
	return ++i == n ? 0 : i;
}

static inline unsigned char *shared_reserve(struct shared *r)
{
	int next = inc(r->ptail, r->slots);
	if (next == (int)atomic_load_explicit(u32(r->mem, SH_HEAD), memory_order_acquire))
		return NULL;
	unsigned char *p = r->mem + LINE + (size_t)r->ptail * r->size;
	r->ptail = next;
	return p;
}

static inline void shared_publish(struct shared *r)
{
	r->tail = r->ptail;
	atomic_store_explicit(u32(r->mem, SH_TAIL), (uint32_t)r->tail, memory_order_release);
}

static inline unsigned char *shared_next(struct shared *r)
{
	if (r->phead == (int)atomic_load_explicit(u32(r->mem, SH_TAIL), memory_order_acquire))
		return NULL;
	unsigned char *p = r->mem + LINE + (size_t)r->phead * r->size;
	r->phead = inc(r->phead, r->slots);
	return p;
}

static inline void shared_release(struct shared *r)
{
	r->head = r->phead;
	atomic_store_explicit(u32(r->mem, SH_HEAD), (uint32_t)r->head, memory_order_release);
}

static inline int shared_drained(struct shared *r)
{
	return (int)atomic_load_explicit(u32(r->mem, SH_HEAD), memory_order_acquire) == r->tail;
}

/* ---------------------------------------------------------------- split */

#define SP_HEAD 0
#define SP_TAIL LINE
#define SP_REC (2 * LINE)

struct split {
	unsigned char *mem;
	int size, slots;
	size_t end;
	_Alignas(LINE) uint32_t tail, ptail, cached_head;	/* producer-only */
	size_t toff;
	_Alignas(LINE) uint32_t head, phead, cached_tail;	/* consumer-only */
	size_t hoff;
	_Alignas(LINE) char pad;
};

static void split_init(struct split *r, int slots, int payload)
{
	r->size = payload;
	r->slots = slots;
	r->end = SP_REC + (size_t)slots * payload;
	r->mem = xalloc(r->end);
	r->tail = r->ptail = r->cached_head = 0;
	r->head = r->phead = r->cached_tail = 0;
	r->toff = r->hoff = SP_REC;
}

static inline unsigned char *split_reserve(struct split *r)
{
	if (r->ptail - r->cached_head == (uint32_t)r->slots) {
		r->cached_head = atomic_load_explicit(u32(r->mem, SP_HEAD), memory_order_acquire);
		if (r->ptail - r->cached_head == (uint32_t)r->slots)
			return NULL;
	}
	unsigned char *p = r->mem + r->toff;
	r->ptail++;
	r->toff += r->size;
	if (r->toff == r->end)
		r->toff = SP_REC;
	return p;
}

static inline void split_publish(struct split *r)
{
	r->tail = r->ptail;
	atomic_store_explicit(u32(r->mem, SP_TAIL), r->tail, memory_order_release);
}

static inline unsigned char *split_next(struct split *r)
{
	if (r->phead == r->cached_tail) {
		r->cached_tail = atomic_load_explicit(u32(r->mem, SP_TAIL), memory_order_acquire);
		if (r->phead == r->cached_tail)
			return NULL;
	}
	unsigned char *p = r->mem + r->hoff;
	r->phead++;
	r->hoff += r->size;
	if (r->hoff == r->end)
		r->hoff = SP_REC;
	return p;
}

static inline void split_release(struct split *r)
{
	r->head = r->phead;
	atomic_store_explicit(u32(r->mem, SP_HEAD), r->head, memory_order_release);
}

static inline int split_drained(struct split *r)
{
	r->cached_head = atomic_load_explicit(u32(r->mem, SP_HEAD), memory_order_acquire);
	return r->cached_head == r->tail;
}

/* ------------------------------------------------------ the lab's loops */

struct flags {
	_Alignas(LINE) atomic_int ready;
	_Alignas(LINE) atomic_int done;
	_Alignas(LINE) atomic_int stop;
};

struct side {
	struct flags *f;
	void *ring;
	int n, batch, burst, yield, payload;
	int64_t idle, idle_ns;
	/* consumer tally */
	int verify; /* 0: only sum the payload (the harness-cost runs) */
	uint64_t *seen, next, sum;
	long long received, dup, reordered, corrupt;
	struct work *w; /* application work per event, or NULL */
	int measure_work;
	double work_ns;
};

static inline void put64(unsigned char *b, uint64_t v)
{
	memcpy(b, &v, 8); /* little-endian on every target kbench runs on */
}

static inline uint64_t get64(const unsigned char *b)
{
	uint64_t v;
	memcpy(&v, b, 8);
	return v;
}

static inline void fill(unsigned char *b, int len, uint64_t seq)
{
	put64(b, seq);
	for (int j = 8; j + 8 <= len; j += 8)
		put64(b + j, seq ^ (uint64_t)j);
}

static inline void check(struct side *c, const unsigned char *b)
{
	uint64_t seq = get64(b);
	c->received++;
	for (int j = 8; j + 8 <= c->payload; j += 8)
		if (get64(b + j) != (seq ^ (uint64_t)j)) {
			c->corrupt++;
			break;
		}
	if (seq != c->next)
		c->reordered++;
	c->next = seq + 1;
	if (seq >= (uint64_t)c->n) {
		c->dup++;
		return;
	}
	uint64_t w = seq / 64, bit = (uint64_t)1 << (seq % 64);
	if (c->seen[w] & bit) {
		c->dup++;
		return;
	}
	c->seen[w] |= bit;
}

static inline void add(struct side *c, const unsigned char *b)
{
	uint64_t s = c->sum;
	c->received++;
	for (int j = 0; j + 8 <= c->payload; j += 8)
		s += get64(b + j);
	c->sum = s;
}

/* take: the harness's check (or the plain sum), then the application's
 * work, before the slot is released, as ringlab's consumer.take. */
static inline void take(struct side *c, const unsigned char *b)
{
	if (c->verify)
		check(c, b);
	else
		add(c, b);
	if (c->w)
		work_do(c->w);
}

static uint64_t want_sum(int n, int payload)
{
	uint64_t s = 0;
	for (int i = 0; i < n; i++) {
		s += (uint64_t)i;
		for (int j = 8; j + 8 <= payload; j += 8)
			s += (uint64_t)i ^ (uint64_t)j;
	}
	return s;
}

static inline int ppause(struct side *p)
{
	if (p->yield)
		sched_yield();
	return atomic_load_explicit(&p->f->stop, memory_order_relaxed);
}

static inline int cidle(struct side *c)
{
	if (c->yield)
		sched_yield();
	return atomic_load_explicit(&c->f->done, memory_order_acquire) ||
	       atomic_load_explicit(&c->f->stop, memory_order_relaxed);
}

static void idle_gap(struct side *p)
{
	if (p->idle <= 0)
		return;
	int64_t t0 = now_ns();
	while (now_ns() - t0 < p->idle && !atomic_load_explicit(&p->f->stop, memory_order_relaxed))
		if (p->yield)
			sched_yield();
	p->idle_ns += now_ns() - t0;
}

static inline int edge(struct side *p, int i)
{
	return i == p->n || (p->burst > 0 && i % p->burst == 0);
}

static inline int burst_end(struct side *p, int i)
{
	return p->burst > 0 && i % p->burst == 0 && i < p->n;
}

/*
 * One producer and one consumer loop per design, the same shape as
 * ringlab's Go loops (designs.go): publish every batch events or at a burst
 * edge, drain-wait at the end of each burst and of the run, release every
 * batch events or when the ring looks empty.
 */
#define LOOPS(D)                                                               \
	static void produce_##D(struct side *p)                                \
	{                                                                      \
		struct D *r = p->ring;                                         \
		int pending = 0;                                               \
		for (int i = 0; i < p->n; i++) {                               \
			unsigned char *b;                                      \
			while ((b = D##_reserve(r)) == NULL) {                 \
				if (pending > 0) {                             \
					D##_publish(r);                        \
					pending = 0;                           \
				}                                              \
				if (ppause(p))                                 \
					return;                                \
			}                                                      \
			fill(b, p->payload, (uint64_t)i);                      \
			pending++;                                             \
			if (pending >= p->batch || edge(p, i + 1)) {           \
				D##_publish(r);                                \
				pending = 0;                                   \
			}                                                      \
			if (burst_end(p, i + 1)) {                             \
				while (!D##_drained(r))                        \
					if (ppause(p))                         \
						return;                        \
				idle_gap(p);                                   \
			}                                                      \
		}                                                              \
		if (pending > 0)                                               \
			D##_publish(r);                                        \
		while (!D##_drained(r))                                        \
			if (ppause(p))                                         \
				return;                                        \
	}                                                                      \
	static void consume_##D(struct side *c)                                \
	{                                                                      \
		struct D *r = c->ring;                                         \
		int pending = 0;                                               \
		for (;;) {                                                     \
			unsigned char *b = D##_next(r);                        \
			if (b == NULL) {                                       \
				if (pending > 0) {                             \
					D##_release(r);                        \
					pending = 0;                           \
					continue;                              \
				}                                              \
				if (cidle(c))                                  \
					return;                                \
				continue;                                      \
			}                                                      \
			take(c, b);                                            \
			if (++pending == c->batch) {                           \
				D##_release(r);                                \
				pending = 0;                                   \
			}                                                      \
		}                                                              \
	}

LOOPS(owned)
LOOPS(shared)
LOOPS(split)
LOOPS(owned_pow2)

/*
 * minimal: owned-pow2's protocol and memory in loops that keep the
 * position, mask and shift in local variables for the whole repetition,
 * as a hand-written ring would (ringlab/minimal.go). The generic LOOPS go
 * through the ring struct once per event instead.
 */
static void produce_minimal(struct side *p)
{
	struct owned_pow2 *r = p->ring;
	unsigned char *mem = r->mem;
	unsigned mask = r->mask, shift = r->shift, pi = r->pi;
	for (int i = 0; i < p->n; i++) {
		unsigned char *s = mem + ((size_t)(pi & mask) << shift);
		while (atomic_load_explicit(u32(s, 0), memory_order_acquire) != 0)
			if (ppause(p))
				goto out;
		fill(s + 8, p->payload, (uint64_t)i);
		atomic_store_explicit(u32(s, 0), 1, memory_order_release);
		pi++;
		if (burst_end(p, i + 1)) {
			r->pi = pi;
			while (!owned_pow2_drained(r))
				if (ppause(p))
					goto out;
			idle_gap(p);
		}
	}
out:
	r->pi = pi;
	while (!owned_pow2_drained(r))
		if (ppause(p))
			return;
}

static void consume_minimal(struct side *c)
{
	struct owned_pow2 *r = c->ring;
	unsigned char *mem = r->mem;
	unsigned mask = r->mask, shift = r->shift, ci = r->ci;
	int fast = !c->verify && !c->w;
	uint64_t sum = 0;
	long long got = 0;
	for (;;) {
		unsigned char *s = mem + ((size_t)(ci & mask) << shift);
		if (atomic_load_explicit(u32(s, 0), memory_order_acquire) != 1) {
			if (cidle(c))
				break;
			continue;
		}
		if (fast) {
			got++;
			for (int j = 0; j + 8 <= c->payload; j += 8)
				sum += get64(s + 8 + j);
		} else {
			take(c, s + 8);
		}
		atomic_store_explicit(u32(s, 0), 0, memory_order_release);
		ci++;
	}
	r->ci = ci;
	c->sum += sum;
	c->received += got;
}

struct design {
	const char *name;
	void (*produce)(struct side *);
	void (*consume)(struct side *);
};

static const struct design designs[] = {
	{"owned", produce_owned, consume_owned},
	{"shared", produce_shared, consume_shared},
	{"split", produce_split, consume_split},
	{"owned-pow2", produce_owned_pow2, consume_owned_pow2},
	{"minimal", produce_minimal, consume_minimal},
};

/* ------------------------------------------------------------- running */

struct thread_arg {
	struct side *s;
	const struct design *d;
	int cpu, is_producer, pin_err;
	int64_t elapsed;
};

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *thread_main(void *v)
{
	struct thread_arg *a = v;
	struct flags *f = a->s->f;
	if ((a->pin_err = pin(a->cpu)) != 0) {
		atomic_store(&f->stop, 1);
		return NULL;
	}
	if (!a->is_producer) {
		atomic_store(&f->ready, 1);
		a->d->consume(a->s);
		/* measured work: the same loop timed on this CPU, outside the timing */
		if (a->s->measure_work && a->s->w)
			a->s->work_ns = work_measure(a->s->w, work_calls(a->s->w));
		return NULL;
	}
	while (!atomic_load(&f->ready) && !atomic_load(&f->stop))
		sched_yield();
	int64_t t0 = now_ns();
	a->d->produce(a->s);
	a->elapsed = now_ns() - t0 - a->s->idle_ns;
	atomic_store_explicit(&f->done, 1, memory_order_release);
	return NULL;
}

struct opts {
	char designs[256], sizes[256], pattern[16];
	int ring, burst, batch, pcpu, ccpu, events, reps, warmup, net;
	long long idle_ns, work_ns, work_bytes;
};

static void usage(const char *msg)
{
	fprintf(stderr, "ringtwin: %s\n", msg);
	exit(2);
}

static long long num(const char *flag, const char *v)
{
	char *end;
	errno = 0;
	long long x = strtoll(v, &end, 10);
	if (errno || *end || end == v || x < 0) {
		fprintf(stderr, "ringtwin: bad value %s for %s\n", v, flag);
		exit(2);
	}
	return x;
}

static void parse(int argc, char **argv, struct opts *o)
{
	strcpy(o->designs, "owned,shared,split");
	strcpy(o->sizes, "16,40,64");
	strcpy(o->pattern, "stream");
	o->ring = 256;
	o->burst = 32;
	o->batch = 1;
	o->pcpu = 0;
	o->ccpu = 1;
	o->events = 200000;
	o->reps = 6;
	o->warmup = 50000;
	o->idle_ns = 5000;
	o->work_ns = o->work_bytes = 0;
	o->net = 0;
	for (int i = 1; i < argc; i += 2) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			usage("flag without a value");
		if (!strcmp(k, "-designs") && strlen(v) < sizeof o->designs)
			strcpy(o->designs, v);
		else if (!strcmp(k, "-sizes") && strlen(v) < sizeof o->sizes)
			strcpy(o->sizes, v);
		else if (!strcmp(k, "-pattern") && strlen(v) < sizeof o->pattern)
			strcpy(o->pattern, v);
		else if (!strcmp(k, "-ring"))
			o->ring = (int)num(k, v);
		else if (!strcmp(k, "-burst"))
			o->burst = (int)num(k, v);
		else if (!strcmp(k, "-batch"))
			o->batch = (int)num(k, v);
		else if (!strcmp(k, "-pcpu"))
			o->pcpu = (int)num(k, v);
		else if (!strcmp(k, "-ccpu"))
			o->ccpu = (int)num(k, v);
		else if (!strcmp(k, "-events"))
			o->events = (int)num(k, v);
		else if (!strcmp(k, "-reps"))
			o->reps = (int)num(k, v);
		else if (!strcmp(k, "-warmup"))
			o->warmup = (int)num(k, v);
		else if (!strcmp(k, "-idle-ns"))
			o->idle_ns = num(k, v);
		else if (!strcmp(k, "-work-ns"))
			o->work_ns = num(k, v);
		else if (!strcmp(k, "-work-bytes"))
			o->work_bytes = num(k, v);
		else if (!strcmp(k, "-net"))
			o->net = (int)num(k, v);
		else {
			fprintf(stderr, "ringtwin: unknown flag %s\n", k);
			exit(2);
		}
	}
	if (o->ring < 4 || o->batch < 1 || o->batch >= o->ring || o->burst < 1 ||
	    o->events < 1 || o->reps < 1)
		usage("need ring >= 4, 1 <= batch < ring, burst >= 1, events >= 1, reps >= 1");
	if (strcmp(o->pattern, "stream") && strcmp(o->pattern, "lockstep") && strcmp(o->pattern, "burst"))
		usage("pattern must be stream, lockstep or burst");
	if (o->work_ns > WORK_MAX_NS || o->work_bytes > WORK_MAX_BYTES)
		usage("work-ns must be 0..1e9 and work-bytes 0..1 GiB");
	if ((o->ring & (o->ring - 1)) != 0 && (strstr(o->designs, "owned-pow2") || strstr(o->designs, "minimal")))
		usage("owned-pow2 and minimal need a power-of-two ring");
}

/* run_rep runs one repetition; returns 0, or 1 if it did not finish. */
static int run_rep(const struct design *d, void *ring, const struct opts *o, int payload,
		   int batch, int n, uint64_t *seen, struct side *cons_out, int64_t *elapsed,
		   int verify, struct work *w, int measure_work)
{
	struct flags f;
	atomic_init(&f.ready, 0);
	atomic_init(&f.done, 0);
	atomic_init(&f.stop, 0);
	int same = o->pcpu == o->ccpu;
	int burst = !strcmp(o->pattern, "lockstep") ? o->batch : !strcmp(o->pattern, "burst") ? o->burst : 0;
	struct side prod = {.f = &f, .ring = ring, .n = n, .batch = batch, .burst = burst,
			    .yield = same, .payload = payload,
			    .idle = !strcmp(o->pattern, "burst") ? o->idle_ns : 0};
	memset(seen, 0, (size_t)(n + 63) / 64 * 8);
	struct side cons = {.f = &f, .ring = ring, .n = n, .batch = batch, .yield = same,
			    .payload = payload, .seen = seen, .verify = verify, .w = w,
			    .measure_work = measure_work};
	struct thread_arg pa = {.s = &prod, .d = d, .cpu = o->pcpu, .is_producer = 1};
	struct thread_arg ca = {.s = &cons, .d = d, .cpu = o->ccpu, .is_producer = 0};
	pthread_t pt, ct;
	if (pthread_create(&ct, NULL, thread_main, &ca) || pthread_create(&pt, NULL, thread_main, &pa)) {
		fprintf(stderr, "ringtwin: pthread_create failed\n");
		exit(2);
	}
	/* Watchdog: a ring that stops moving must not hang the harness. */
	int64_t limit = (int64_t)20000000000LL + (int64_t)n * 20000;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += limit / 1000000000;
	int late = pthread_timedjoin_np(pt, NULL, &ts) != 0;
	if (late) {
		atomic_store(&f.stop, 1);
		pthread_join(pt, NULL);
	}
	pthread_join(ct, NULL);
	if (pa.pin_err || ca.pin_err) {
		fprintf(stderr, "ringtwin: sched_setaffinity cpu %d: %s\n",
			pa.pin_err ? o->pcpu : o->ccpu, strerror(pa.pin_err ? pa.pin_err : ca.pin_err));
		exit(2);
	}
	*cons_out = cons;
	*elapsed = pa.elapsed;
	return late || atomic_load(&f.stop);
}

static long long lost_of(const uint64_t *seen, int n)
{
	long long got = 0;
	for (int w = 0; w < (n + 63) / 64; w++)
		got += __builtin_popcountll(seen[w]);
	return n - got;
}

int main(int argc, char **argv)
{
	struct opts o;
	parse(argc, argv, &o);
	int maxn = o.events > o.warmup ? o.events : o.warmup;
	uint64_t *seen = xalloc((size_t)(maxn + 63) / 64 * 8);
	struct work wk, *w = NULL;
	if (o.work_ns > 0 || o.work_bytes > 0) {
		if (work_init(&wk, o.work_ns, o.work_bytes, o.work_ns > 0 ? work_calibrate() : 0) != 0)
			usage("work: out of range or out of memory");
		w = &wk;
	}
	int status = 0;
	char dl[256];
	strcpy(dl, o.designs);
	for (char *dn = strtok(dl, ","); dn; dn = strtok(NULL, ",")) {
		const struct design *d = NULL;
		for (size_t i = 0; i < sizeof designs / sizeof designs[0]; i++)
			if (!strcmp(designs[i].name, dn))
				d = &designs[i];
		if (!d) {
			fprintf(stderr, "ringtwin: unknown design %s (owned, shared, split, owned-pow2, minimal)\n", dn);
			return 2;
		}
		char sl[256];
		strcpy(sl, o.sizes);
		char *save;
		for (char *sn = strtok_r(sl, ",", &save); sn; sn = strtok_r(NULL, ",", &save)) {
			int payload = (int)num("-sizes", sn);
			if (payload < 8 || payload % 8) {
				fprintf(stderr, "ringtwin: slot size %d: need a multiple of 8, >= 8\n", payload);
				return 2;
			}
			struct owned ow;
			struct shared sh;
			struct split sp;
			struct owned_pow2 op;
			void *ring;
			unsigned char *mem;
			int batch = o.batch;
			if (!strcmp(dn, "owned")) {
				owned_init(&ow, o.ring, payload);
				ring = &ow, mem = ow.mem;
				batch = 1; /* no shared index to batch */
			} else if (!strcmp(dn, "owned-pow2") || !strcmp(dn, "minimal")) {
				owned_pow2_init(&op, o.ring, payload);
				ring = &op, mem = op.mem;
				batch = 1;
			} else if (!strcmp(dn, "shared")) {
				shared_init(&sh, o.ring, payload);
				ring = &sh, mem = sh.mem;
			} else {
				split_init(&sp, o.ring, payload);
				ring = &sp, mem = sp.mem;
			}
			for (int rep = -1; rep < o.reps && !status; rep++) {
				int n = rep < 0 ? o.warmup : o.events;
				if (n == 0)
					continue;
				for (int verify = 1; verify >= (rep >= 0 && o.net ? 0 : 1); verify--) {
					struct side c;
					int64_t el;
					if (run_rep(d, ring, &o, payload, batch, n, seen, &c, &el, verify, w,
						    rep >= 0 && verify)) {
						fprintf(stderr, "ringtwin: %s slot %d: repetition did not finish\n", dn, payload);
						status = 1;
						break;
					}
					if (rep < 0)
						continue;
					long long lost = verify ? lost_of(seen, n) : 0, corrupt = c.corrupt;
					if (!verify && (c.received != n || c.sum != want_sum(n, payload))) {
						lost = n - c.received; /* count or checksum wrong: report as torn */
						corrupt = 1;
					}
					printf("design=%s slot=%d ring=%d pattern=%s batch=%d pcpu=%d ccpu=%d events=%d "
					       "rep=%d check=%d ns_per_event=%.3f lost=%lld dup=%lld reordered=%lld corrupt=%lld "
					       "work_ns=%lld work_measured_ns=%.3f\n",
					       dn, payload, o.ring, o.pattern, batch, o.pcpu, o.ccpu, n, rep, verify,
					       (double)el / n, lost, c.dup, c.reordered, corrupt, o.work_ns, c.work_ns);
					fflush(stdout);
				}
			}
			free(mem);
		}
	}
	if (w)
		work_free(w);
	free(seen);
	return status;
}
