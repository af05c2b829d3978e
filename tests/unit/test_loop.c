// SPDX-License-Identifier: MIT
/*
 * The event loop: a callback that removes another watch whose event waits
 * in the same batch must not see that watch called afterwards.  (curl does
 * this when one socket action closes several connections; the collector
 * then freed a watch the loop was about to call: heap use after free, found
 * by tests/e2e/receiver_endless.sh with the response cap removed.)
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "check.h"
#include "loop.h"

struct pair_watch {
	struct loop_watch watch;
	struct loop *loop;
	struct pair_watch *other;
	int calls;
	int removed;
};

/* Whichever runs first removes the other, as curl's REMOVE callback would. */
static void on_ready(struct loop_watch *watch, uint32_t events)
{
	struct pair_watch *self = (struct pair_watch *)watch;

	(void)events;
	self->calls++;
	CHECK(!self->removed);
	if (!self->other->removed) {
		loop_del(self->loop, &self->other->watch);
		self->other->removed = 1;
	}
}

static void test_removed_in_batch(void)
{
	struct pair_watch a = { 0 }, b = { 0 };
	struct loop loop;
	uint64_t one = 1;

	CHECK(loop_init(&loop) == 0);
	a = (struct pair_watch){ .watch = { .fd = eventfd(0, EFD_CLOEXEC), .fn = on_ready },
				 .loop = &loop, .other = &b };
	b = (struct pair_watch){ .watch = { .fd = eventfd(0, EFD_CLOEXEC), .fn = on_ready },
				 .loop = &loop, .other = &a };
	CHECK(write(a.watch.fd, &one, sizeof(one)) == sizeof(one));
	CHECK(write(b.watch.fd, &one, sizeof(one)) == sizeof(one));
	CHECK(loop_add(&loop, &a.watch, EPOLLIN) == 0);
	CHECK(loop_add(&loop, &b.watch, EPOLLIN) == 0);
	/* both are ready: one batch holds both events */
	CHECK(loop_run_once(&loop, 1000) == 2);
	CHECK(a.calls + b.calls == 1);
	close(a.watch.fd);
	close(b.watch.fd);
	loop_fini(&loop);
}

int main(void)
{
	test_removed_in_batch();
	return check_summary("test_loop");
}
