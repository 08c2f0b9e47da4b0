//go:build ignore

// The constraint above keeps the go tool from treating this file as cgo
// source of package ringtwin.

/*
 * minimal.c: the control for the ring lab's gap study (kbench issue 12): an
 * ownership-word ring written from its description alone, with none of the
 * lab's harness: 16-byte slots {word, 8-byte payload}, a power-of-two slot
 * count wrapped by mask, a producer that writes the payload and hands the
 * slot over with a release store, a consumer that only sums the payload.
 * Each repetition starts both threads afresh, as ringtwin does, so that
 * the two can be compared repetition for repetition.
 *
 *   cc -std=c11 -O2 -pthread -o minimal minimal.c
 *   minimal -pcpu 0 -ccpu 1 -slots 4096 -events 20000 -reps 41
 * Prints one line per repetition: ns_per_event=... sum_ok=1
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct slot {
	_Atomic uint64_t word; /* 0: producer owns it, 1: consumer */
	uint64_t payload;
};

static struct slot *ring;
static unsigned mask;
static long events;
static int pcpu, ccpu;
static atomic_int ready;
static uint64_t sum;
static int64_t elapsed;

static int64_t now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (pthread_setaffinity_np(pthread_self(), sizeof s, &s)) {
		fprintf(stderr, "minimal: cannot pin to CPU %d\n", cpu);
		exit(2);
	}
}

static void *consumer(void *arg)
{
	(void)arg;
	pin(ccpu);
	uint64_t s = 0;
	unsigned i = 0;
	atomic_store(&ready, 1);
	for (long n = 0; n < events; n++, i++) {
		struct slot *sl = &ring[i & mask];
		while (atomic_load_explicit(&sl->word, memory_order_acquire) != 1)
			;
		s += sl->payload;
		atomic_store_explicit(&sl->word, 0, memory_order_release);
	}
	sum = s;
	return NULL;
}

static void *producer(void *arg)
{
	(void)arg;
	pin(pcpu);
	while (!atomic_load(&ready))
		;
	int64_t t0 = now();
	unsigned i = 0;
	for (long n = 0; n < events; n++, i++) {
		struct slot *sl = &ring[i & mask];
		while (atomic_load_explicit(&sl->word, memory_order_acquire) != 0)
			;
		sl->payload = (uint64_t)n;
		atomic_store_explicit(&sl->word, 1, memory_order_release);
	}
	/* done when the consumer has released the last slot */
	while (atomic_load_explicit(&ring[(i - 1) & mask].word, memory_order_acquire) != 0)
		;
	elapsed = now() - t0;
	return NULL;
}

int main(int argc, char **argv)
{
	long slots = 4096, reps = 41;
	events = 20000;
	pcpu = 0, ccpu = 1;
	for (int i = 1; i + 1 < argc; i += 2) {
		long v = strtol(argv[i + 1], NULL, 10);
		if (!strcmp(argv[i], "-slots"))
			slots = v;
		else if (!strcmp(argv[i], "-events"))
			events = v;
		else if (!strcmp(argv[i], "-reps"))
			reps = v;
		else if (!strcmp(argv[i], "-pcpu"))
			pcpu = (int)v;
		else if (!strcmp(argv[i], "-ccpu"))
			ccpu = (int)v;
		else {
			fprintf(stderr, "minimal: unknown flag %s\n", argv[i]);
			return 2;
		}
	}
	if (slots < 2 || (slots & (slots - 1)) || events < 1 || reps < 1) {
		fprintf(stderr, "minimal: need a power-of-two -slots, -events and -reps >= 1\n");
		return 2;
	}
	mask = (unsigned)slots - 1;
	ring = aligned_alloc(64, (size_t)slots * sizeof *ring);
	if (!ring)
		return 2;
	memset(ring, 0, (size_t)slots * sizeof *ring);
	for (long r = 0; r < reps; r++) {
		pthread_t p, c;
		atomic_store(&ready, 0);
		pthread_create(&c, NULL, consumer, NULL);
		pthread_create(&p, NULL, producer, NULL);
		pthread_join(p, NULL);
		pthread_join(c, NULL);
		uint64_t want = (uint64_t)events * (uint64_t)(events - 1) / 2;
		printf("rep=%ld ns_per_event=%.3f sum_ok=%d\n", r, (double)elapsed / events, sum == want);
	}
	return 0;
}
