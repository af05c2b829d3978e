// SPDX-License-Identifier: MIT
#include "loop.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LOOP_BATCH 64

int loop_init(struct loop *loop)
{
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	return loop->epfd < 0 ? -errno : 0;
}

static void free_dead(struct loop *loop)
{
	while (loop->dead) {
		struct loop_watch *next = loop->dead->dead_next;

		free(loop->dead);
		loop->dead = next;
	}
}

void loop_fini(struct loop *loop)
{
	free_dead(loop);
	if (loop->epfd >= 0)
		close(loop->epfd);
	loop->epfd = -1;
}

static int loop_ctl(struct loop *loop, int op, struct loop_watch *watch, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = watch };

	return epoll_ctl(loop->epfd, op, watch->fd, &ev) ? -errno : 0;
}

int loop_add(struct loop *loop, struct loop_watch *watch, uint32_t events)
{
	return loop_ctl(loop, EPOLL_CTL_ADD, watch, events);
}

int loop_mod(struct loop *loop, struct loop_watch *watch, uint32_t events)
{
	return loop_ctl(loop, EPOLL_CTL_MOD, watch, events);
}

int loop_del(struct loop *loop, struct loop_watch *watch)
{
	return loop_ctl(loop, EPOLL_CTL_DEL, watch, 0);
}

void loop_release(struct loop *loop, struct loop_watch *watch)
{
	loop_del(loop, watch); /* EBADF when the fd was closed first: fine */
	watch->fn = NULL;
	watch->dead_next = loop->dead;
	loop->dead = watch;
}

int loop_run_once(struct loop *loop, int timeout_ms)
{
	struct epoll_event ready[LOOP_BATCH];
	int n, i;

	n = epoll_wait(loop->epfd, ready, LOOP_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct loop_watch *watch = ready[i].data.ptr;

		if (watch->fn)
			watch->fn(watch, ready[i].events);
	}
	free_dead(loop);
	return n;
}

int timer_open(void)
{
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int timer_set(int fd, int64_t first_ms, int64_t interval_ms)
{
	struct itimerspec spec = { 0 };

	if (first_ms >= 0) {
		/* an all-zero it_value disarms, so "now" is one nanosecond */
		spec.it_value.tv_sec = first_ms / 1000;
		spec.it_value.tv_nsec = (first_ms % 1000) * 1000000 + (first_ms ? 0 : 1);
		spec.it_interval.tv_sec = interval_ms / 1000;
		spec.it_interval.tv_nsec = (interval_ms % 1000) * 1000000;
	}
	return timerfd_settime(fd, 0, &spec, NULL) ? -errno : 0;
}

int timer_arm(int fd, int64_t ms)
{
	return timer_set(fd, ms, 0);
}

int timer_arm_periodic(int fd, int64_t ms)
{
	return timer_set(fd, ms, ms);
}

void timer_ack(int fd)
{
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0) {
		/* EAGAIN: already consumed; nothing else can fail on a timerfd */
	}
}
