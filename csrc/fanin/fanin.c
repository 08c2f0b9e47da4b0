//go:build ignore

// The constraint above keeps the go tool from treating this file as cgo
// source of package fanin, which only embeds it (see fanin.go).

/*
 * fanin.c: the fan-in loop of workloads/fanin.go in C (see fanin.h).
 *
 *   fanin -mode epoll-lt|epoll-et|epoll-oneshot|aio|uring-oneshot|uring-multishot
 *         [-setup plain|coop] [-sources 64] [-batch 256] [-duration-ns N]
 *         [-warmup-ns N] [-reps R] [-pcpu P] [-ccpu C] [-wait block|spin|hybrid]
 *         [-work-ns N] [-work-bytes N]
 *
 * One line per repetition on stdout (the warm-up is rep=-1), key=value pairs
 * that workloads/fidelity.go parses; policy is the collector's scheduling
 * policy (0, SCHED_OTHER, unless the twin was started at another). Exit status 1 is an error, 3 a mechanism
 * the kernel refuses (its reason on stderr).
 */
#include "fanin.h"
#include "work.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Counters written by the collector each get a cache line of their own
 * (each struct or aligned array starts one and pads to it), away from what
 * the producer reads on every firing: workloads/sources.go pads the same way. */
_Alignas(64) uint64_t ncalls[NCALLS];

/* The producer's wake writes, counted as the Go backends count Wake (in the
 * collector's total: once per repetition). */
static struct {
	_Alignas(64) atomic_ulong n;
} wakes;

void die(const char *what, int err)
{
	fprintf(stderr, "fanin twin: %s: %s\n", what, strerror(err));
	exit(1);
}

void unavailable(const char *what, int err)
{
	fprintf(stderr, "%s: %s\n", what, strerror(err));
	exit(3);
}

int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* As internal/rusage: getrusage for the user/system split and the context
 * switches, the thread clock for the total (getrusage's lags to the next tick). */
struct usage {
	int64_t user_ns, sys_ns, nvcsw, nivcsw, cpu_ns;
};

static struct usage thread_usage(void)
{
	struct rusage ru;
	struct timespec ts;
	getrusage(RUSAGE_THREAD, &ru);
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (struct usage){
		(int64_t)ru.ru_utime.tv_sec * 1000000000 + ru.ru_utime.tv_usec * 1000,
		(int64_t)ru.ru_stime.tv_sec * 1000000000 + ru.ru_stime.tv_usec * 1000,
		ru.ru_nvcsw, ru.ru_nivcsw,
		(int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec,
	};
}

static struct usage usage_sub(struct usage a, struct usage b)
{
	return (struct usage){a.user_ns - b.user_ns, a.sys_ns - b.sys_ns, a.nvcsw - b.nvcsw, a.nivcsw - b.nivcsw,
			      a.cpu_ns - b.cpu_ns};
}

static void pin(int cpu)
{
	if (cpu < 0)
		return;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) != 0) /* 0: the calling thread */
		unavailable("sched_setaffinity", errno);
}

/* ---- sources: the twin of sourceSet (eventfd kind) ---- */

/* One cache line per credit flag, as paddedU32: the flag's traffic is the
 * source's own. */
struct credit {
	_Alignas(64) atomic_uint v;
};

static int S;
static int *fds;
static struct credit *busy;
static int wakefd;
static struct {
	_Alignas(64) uint64_t n;
} reads;

/* take is sourceSet.take: the pending firing's number, 0 if none. */
static inline uint64_t take(int i)
{
	uint64_t v;
	reads.n++;
	if (read(fds[i], &v, sizeof v) != sizeof v)
		return 0;
	return v;
}

void drain_wake(void)
{
	uint64_t v;
	ncalls[CALL_OTHER]++;
	if (read(wakefd, &v, sizeof v) < 0 && errno != EAGAIN)
		die("read wake eventfd", errno);
}

/* ---- the ledger: exactly-once by firing number (account.go) ---- */

static struct {
	uint64_t *seen;
	size_t words;
	uint64_t distinct, dup, spurious;
} led;

static void led_reset(uint64_t expect)
{
	size_t w = expect / 64 + 1;
	if (w > led.words) {
		free(led.seen);
		led.seen = malloc(w * sizeof *led.seen);
		if (!led.seen)
			die("ledger", ENOMEM);
		led.words = w;
	}
	memset(led.seen, 0, led.words * sizeof *led.seen);
	led.distinct = led.dup = led.spurious = 0;
}

static inline void led_mark(uint64_t seq)
{
	if (seq == 0) {
		led.spurious++;
		return;
	}
	size_t w = seq / 64;
	if (w >= led.words) { /* the producer outran the estimate: grow, rarely */
		size_t nw = 2 * (w + 1);
		uint64_t *p = realloc(led.seen, nw * sizeof *p);
		if (!p)
			die("ledger", ENOMEM);
		memset(p + led.words, 0, (nw - led.words) * sizeof *p);
		led.seen = p;
		led.words = nw;
	}
	uint64_t bit = 1ULL << (seq % 64);
	if (led.seen[w] & bit) {
		led.dup++;
		return;
	}
	led.seen[w] |= bit;
	led.distinct++;
}

static void led_settle(uint64_t generated, uint64_t *lost, uint64_t *dup)
{
	uint64_t bogus = 0;
	for (size_t w = generated / 64; w < led.words; w++)
		for (uint64_t word = led.seen[w]; word; word &= word - 1)
			if (w * 64 + (uint64_t)__builtin_ctzll(word) > generated)
				bogus++;
	uint64_t good = led.distinct - bogus;
	*lost = good < generated ? generated - good : 0;
	*dup = led.dup + bogus;
}

/* ---- producer: the twin of faninProducer ---- */

static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t duration; /* > 0: an order is waiting; < 0: exit */
	atomic_int reported;
	uint64_t generated;
	struct usage usage;
} ch = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, {0}};

static int pcpu = -1;

static void *producer(void *arg)
{
	(void)arg;
	pin(pcpu);
	for (;;) {
		pthread_mutex_lock(&ch.mu);
		while (ch.duration == 0)
			pthread_cond_wait(&ch.cv, &ch.mu);
		int64_t d = ch.duration;
		ch.duration = 0;
		pthread_mutex_unlock(&ch.mu);
		if (d < 0)
			return NULL;

		struct usage before = thread_usage();
		uint64_t seq = 0;
		int64_t deadline = now_ns() + d;
		for (;;) {
			int idle = 1;
			for (int i = 0; i < S; i++) {
				/* Pairs with the collector's store of 0 after it has
				 * taken the firing: one firing outstanding per source. */
				if (atomic_load(&busy[i].v) != 0)
					continue;
				atomic_store(&busy[i].v, 1);
				seq++;
				if (write(fds[i], &seq, sizeof seq) != sizeof seq)
					die("fire: eventfd write", errno);
				idle = 0;
			}
			if (now_ns() >= deadline)
				break;
			if (idle) /* every source outstanding: let a same-CPU collector run */
				sched_yield();
		}
		ch.usage = usage_sub(thread_usage(), before);
		ch.generated = seq;
		/* Release: generated and usage are in place before the collector
		 * sees the report; pairs with its acquire load of reported. */
		atomic_store_explicit(&ch.reported, 1, memory_order_release);
		/* The collector may be asleep with everything collected. */
		uint64_t one = 1;
		atomic_fetch_add(&wakes.n, 1);
		if (write(wakefd, &one, sizeof one) < 0 && errno != EAGAIN)
			die("wake: eventfd write", errno);
	}
}

static void order(int64_t d)
{
	pthread_mutex_lock(&ch.mu);
	ch.duration = d;
	pthread_cond_signal(&ch.cv);
	pthread_mutex_unlock(&ch.mu);
}

/* ---- collector: the twin of faninCollector ---- */

static const struct backend *be;
static struct fev *events;
static int batch;

/* The application's work per event (work.h, as internal/work in Go): done
 * after each event is taken and handed back, as faninCollector.collect. */
static struct work wk;
static int working;

enum { WAIT_BLOCK, WAIT_SPIN, WAIT_HYBRID };
static int waitmode = WAIT_BLOCK;

/* collect is faninCollector.collect. */
static inline int collect(long timeout)
{
	int k = be->wait(events, batch, timeout);
	for (int j = 0; j < k; j++) {
		uint64_t t = events[j].token;
		if (t >= (uint64_t)S) {
			led.dup++; /* a token nobody registered */
			continue;
		}
		int i = (int)t;
		led_mark(take(i));
		be->rearm(i);
		/* Pairs with the producer's load: the firing is taken. */
		atomic_store(&busy[i].v, 0);
		if (working)
			work_do(&wk);
	}
	return k;
}

static void rep(int r, int64_t d)
{
	const int64_t grace = 1000000000;
	led_reset((uint64_t)((double)d / 1e9 * 20e6) + 1024);
	reads.n = 0;
	uint64_t sys0[NCALLS];
	memcpy(sys0, ncalls, sizeof sys0);
	uint64_t wakes0 = atomic_load(&wakes.n);
	struct usage cons0 = thread_usage();
	int64_t start = now_ns();
	atomic_store(&ch.reported, 0);
	order(d);

	uint64_t waits = 0, notes = 0;
	int have = 0, spins = 0;
	uint64_t generated = 0;
	int64_t last_progress = now_ns(), last_event = start;
	for (;;) {
		if (!have && atomic_load_explicit(&ch.reported, memory_order_acquire)) {
			have = 1;
			generated = ch.generated;
		}
		if (have && led.distinct >= generated)
			break;
		long timeout = FOREVER;
		if (have)
			timeout = 20000000; /* finishing: a lost event must not hang us */
		else if (waitmode == WAIT_SPIN)
			timeout = 0;
		else if (waitmode == WAIT_HYBRID && spins < 200)
			timeout = 0;
		int k = collect(timeout);
		waits++;
		if (k == 0) {
			spins++;
			if (have && now_ns() - last_progress > grace)
				break;
			continue;
		}
		spins = 0;
		notes += (uint64_t)k;
		last_progress = now_ns();
		last_event = last_progress;
	}
	struct usage cons = usage_sub(thread_usage(), cons0);
	uint64_t lost, dup;
	led_settle(generated, &lost, &dup);
	uint64_t sys = atomic_load(&wakes.n) - wakes0;
	for (int i = 0; i < NCALLS; i++)
		sys += ncalls[i] - sys0[i];
	double ev = led.distinct ? (double)led.distinct : 1;
	double el = (double)(last_event - start) / 1e9;
	printf("rep=%d generated=%llu collected=%llu lost=%llu dup=%llu spurious=%llu "
	       "events_per_s=%.1f events_per_wait=%.4f syscalls_per_event=%.4f "
	       "io_syscalls_per_event=%.4f consumer_cpu_ns=%lld producer_cpu_ns=%lld "
	       "consumer_sys_ns=%lld producer_sys_ns=%lld "
	       "consumer_nvcsw=%lld consumer_nivcsw=%lld producer_nvcsw=%lld producer_nivcsw=%lld "
	       "elapsed_ns=%lld policy=%d\n",
	       r, (unsigned long long)generated, (unsigned long long)led.distinct,
	       (unsigned long long)lost, (unsigned long long)dup, (unsigned long long)led.spurious,
	       el > 0 ? (double)led.distinct / el : 0, (double)notes / (double)(waits ? waits : 1),
	       (double)sys / ev, (double)reads.n / ev,
	       (long long)cons.cpu_ns, (long long)ch.usage.cpu_ns,
	       (long long)cons.sys_ns, (long long)ch.usage.sys_ns,
	       (long long)cons.nvcsw, (long long)cons.nivcsw, (long long)ch.usage.nvcsw, (long long)ch.usage.nivcsw,
	       (long long)(last_event - start), sched_getscheduler(0));
	fflush(stdout);
}

static const struct {
	const char *mode;
	const struct backend *be;
} modes[] = {
	{"epoll-lt", &epoll_lt},
	{"epoll-et", &epoll_et},
	{"epoll-oneshot", &epoll_oneshot},
	{"aio", &aio_ring},
	{"uring-oneshot", &uring_oneshot},
	{"uring-multishot", &uring_multishot},
};

static void usage(void)
{
	fprintf(stderr, "usage: fanin -mode epoll-lt|epoll-et|epoll-oneshot|aio|uring-oneshot|uring-multishot "
			"[-setup plain|coop] [-sources N] [-batch N] [-duration-ns N] [-warmup-ns N] "
			"[-reps N] [-pcpu N] [-ccpu N] [-wait block|spin|hybrid] [-work-ns N] [-work-bytes N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *mode = NULL, *setup = "plain";
	int64_t duration = 100000000, warmup = 50000000;
	int reps = 1, ccpu = -1;
	long long work_ns = 0, work_bytes = 0;
	S = 64;
	batch = 256;
	for (int i = 1; i < argc; i += 2) {
		if (i + 1 >= argc)
			usage();
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "-mode"))
			mode = v;
		else if (!strcmp(k, "-setup"))
			setup = v;
		else if (!strcmp(k, "-sources"))
			S = atoi(v);
		else if (!strcmp(k, "-batch"))
			batch = atoi(v);
		else if (!strcmp(k, "-duration-ns"))
			duration = atoll(v);
		else if (!strcmp(k, "-warmup-ns"))
			warmup = atoll(v);
		else if (!strcmp(k, "-reps"))
			reps = atoi(v);
		else if (!strcmp(k, "-pcpu"))
			pcpu = atoi(v);
		else if (!strcmp(k, "-ccpu"))
			ccpu = atoi(v);
		else if (!strcmp(k, "-work-ns"))
			work_ns = atoll(v);
		else if (!strcmp(k, "-work-bytes"))
			work_bytes = atoll(v);
		else if (!strcmp(k, "-wait"))
			waitmode = !strcmp(v, "spin") ? WAIT_SPIN : !strcmp(v, "hybrid") ? WAIT_HYBRID : WAIT_BLOCK;
		else
			usage();
	}
	for (size_t i = 0; mode && i < sizeof modes / sizeof modes[0]; i++)
		if (!strcmp(mode, modes[i].mode))
			be = modes[i].be;
	if (!be || S < 1 || batch < 1 || duration <= 0 || reps < 1)
		usage();

	/* Like faninConsumer: pin, open the backend on this thread (io_uring's
	 * SINGLE_ISSUER binds the ring to it), register, start the producer. */
	pin(ccpu);
	if (work_ns != 0 || work_bytes != 0) {
		if (work_init(&wk, work_ns, work_bytes, work_ns > 0 ? work_calibrate() : 0) != 0)
			usage();
		working = 1;
	}
	fds = calloc((size_t)S, sizeof *fds);
	busy = aligned_alloc(64, (size_t)S * sizeof *busy);
	events = calloc((size_t)batch, sizeof *events);
	if (!fds || !busy || !events)
		die("alloc", ENOMEM);
	for (int i = 0; i < S; i++) {
		atomic_init(&busy[i].v, 0);
		if ((fds[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
			die("eventfd", errno);
	}
	if ((wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		die("eventfd", errno);
	if (be->open(S, fds, wakefd, setup) != 0)
		die("open backend", errno);

	pthread_t prod;
	int err = pthread_create(&prod, NULL, producer, NULL);
	if (err)
		die("pthread_create", err);
	if (warmup > 0)
		rep(-1, warmup);
	for (int r = 0; r < reps; r++)
		rep(r, duration);
	order(-1);
	pthread_join(prod, NULL);
	be->close();
	return 0;
}
