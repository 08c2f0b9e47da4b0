//go:build ignore

// The constraint above keeps the go tool from treating this file as cgo
// source of package fanin, which only embeds it (see fanin.go).

/*
 * epoll.c: the twin of impls/epoll. Registration data is index+1 (0 is the
 * wake eventfd), Readable is EPOLLIN|EPOLLRDHUP, and Wait loops over
 * epoll_wait until it has an event, a wake, or its timeout, as Go's does.
 */
#include "fanin.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

static int epfd, nsrc;
static const int *srcfds;
static uint32_t mode; /* 0, EPOLLET or EPOLLONESHOT */
static struct epoll_event *kbuf;
static int kcap;

static int ctl(int op, int fd, uint32_t events, uint64_t key)
{
	struct epoll_event ev = {.events = events, .data.u64 = key};
	ncalls[CALL_CTL]++;
	return epoll_ctl(epfd, op, fd, &ev);
}

static int open_mode(int S, const int *fds, int wakefd)
{
	nsrc = S;
	srcfds = fds;
	if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	if (ctl(EPOLL_CTL_ADD, wakefd, EPOLLIN, 0) != 0)
		return -1;
	for (int i = 0; i < S; i++)
		if (ctl(EPOLL_CTL_ADD, fds[i], EPOLLIN | EPOLLRDHUP | mode, (uint64_t)i + 1) != 0)
			return -1;
	return 0;
}

static int open_lt(int S, const int *fds, int wakefd, const char *setup)
{
	(void)setup;
	mode = 0;
	return open_mode(S, fds, wakefd);
}

static int open_et(int S, const int *fds, int wakefd, const char *setup)
{
	(void)setup;
	mode = EPOLLET;
	return open_mode(S, fds, wakefd);
}

static int open_oneshot(int S, const int *fds, int wakefd, const char *setup)
{
	(void)setup;
	mode = EPOLLONESHOT;
	return open_mode(S, fds, wakefd);
}

static int ep_wait(struct fev *out, int max, long timeout_ns)
{
	if (kcap < max) {
		free(kbuf);
		if (!(kbuf = malloc((size_t)max * sizeof *kbuf)))
			die("epoll buffer", ENOMEM);
		kcap = max;
	}
	int64_t deadline = timeout_ns > 0 ? now_ns() + timeout_ns : 0;
	int got = 0;
	for (;;) {
		/* Whole milliseconds, rounded up, as Go's epollWait does for the
		 * timeouts this loop uses (forever, 0, 20ms). */
		int ms = -1;
		if (timeout_ns == 0)
			ms = 0;
		else if (timeout_ns > 0) {
			int64_t left = deadline - now_ns();
			ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
		}
		ncalls[CALL_WAIT]++;
		int k = epoll_wait(epfd, kbuf, max - got, ms);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			die("epoll_wait", errno);
		}
		int woke = 0;
		for (int i = 0; i < k; i++) {
			uint64_t key = kbuf[i].data.u64;
			if (key == 0) {
				woke = 1;
				drain_wake();
				continue;
			}
			out[got++].token = key - 1;
		}
		if (got >= 1 || woke || ms == 0 || got == max)
			return got;
		if (timeout_ns > 0 && now_ns() >= deadline)
			return got;
	}
}

static void rearm_none(int i)
{
	(void)i;
}

static void rearm_oneshot(int i)
{
	if (ctl(EPOLL_CTL_MOD, srcfds[i], EPOLLIN | EPOLLRDHUP | EPOLLONESHOT, (uint64_t)i + 1) != 0)
		die("epoll_ctl mod", errno);
}

static void ep_close(void)
{
	close(epfd);
}

const struct backend epoll_lt = {"epoll-lt", open_lt, ep_wait, rearm_none, ep_close};
const struct backend epoll_et = {"epoll-et", open_et, ep_wait, rearm_none, ep_close};
const struct backend epoll_oneshot = {"epoll-oneshot", open_oneshot, ep_wait, rearm_oneshot, ep_close};
