/* SPDX-License-Identifier: MIT */
/*
 * The collector's one event loop: epoll over file descriptors (the ring
 * buffer, curl's sockets, timerfds, a signalfd).  Each watched fd carries
 * its callback; nothing else is shared.
 */
#ifndef PROBEHOOK_LOOP_H
#define PROBEHOOK_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop_watch;
typedef void (*loop_fn)(struct loop_watch *watch, uint32_t events);

struct loop_watch {
	int fd;
	loop_fn fn;               /* NULL once released: its pending events are skipped */
	void *data;
	struct loop_watch *dead_next;
};

struct loop {
	int epfd;
	struct loop_watch *dead;  /* released, freed after the batch being dispatched */
};

int loop_init(struct loop *loop);
void loop_fini(struct loop *loop);
int loop_add(struct loop *loop, struct loop_watch *watch, uint32_t events);
int loop_mod(struct loop *loop, struct loop_watch *watch, uint32_t events);
int loop_del(struct loop *loop, struct loop_watch *watch);
/*
 * Unregister a malloc'd watch (its first member) and free it once the batch
 * of events being dispatched is done: a callback can drop another watch
 * whose event was already read in the same batch, and that event must find
 * it still there (and skip it).
 */
void loop_release(struct loop *loop, struct loop_watch *watch);
/* Wait up to timeout_ms (-1: forever) and dispatch what is ready. */
int loop_run_once(struct loop *loop, int timeout_ms);

/* A non-blocking monotonic timerfd, disarmed. */
int timer_open(void);
/* Fire once after ms milliseconds (0: as soon as possible); -1 disarms. */
int timer_arm(int fd, int64_t ms);
/* Fire every ms milliseconds. */
int timer_arm_periodic(int fd, int64_t ms);
/* Consume a timerfd's expiry count so it stops being readable. */
void timer_ack(int fd);

#endif
