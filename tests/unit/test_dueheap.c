// SPDX-License-Identifier: MIT
/* The due-time heap: pops in due order under random pushes and removals
 * from anywhere, with positions kept right. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "dueheap.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next_random(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int positions_ok(const struct dueheap *h)
{
	for (size_t i = 0; i < h->count; i++) {
		if (h->items[i]->pos != i)
			return 0;
		if (i && h->items[(i - 1) / 2]->due_ms > h->items[i]->due_ms)
			return 0;
	}
	return 1;
}

static void test_order(void)
{
	const size_t n = 3000;
	struct due_item *items = calloc(n, sizeof(*items));
	char *removed = calloc(n, 1);
	struct dueheap h;
	uint64_t last = 0;
	size_t popped = 0, gone = 0;
	int ok = 1;

	CHECK(items && removed);
	if (!items || !removed)
		goto out;
	dueheap_init(&h);
	CHECK(dueheap_peek(&h) == NULL && dueheap_pop(&h) == NULL);
	for (size_t i = 0; i < n; i++) {
		items[i].due_ms = next_random() % 1000; /* many equal keys */
		ok &= dueheap_push(&h, &items[i]) == 0;
	}
	CHECK(ok && h.count == n && positions_ok(&h));
	/* remove a third, from anywhere */
	for (size_t i = 0; i < n; i += 3) {
		dueheap_remove(&h, &items[i]);
		removed[i] = 1;
		gone++;
	}
	CHECK(h.count == n - gone && positions_ok(&h));
	while (h.count) {
		struct due_item *it = dueheap_pop(&h);

		ok &= it->due_ms >= last && !removed[it - items];
		last = it->due_ms;
		popped++;
	}
	CHECK(ok);
	CHECK(popped == n - gone);
	dueheap_fini(&h);
out:
	free(items);
	free(removed);
}

static bool is_odd(const struct due_item *item, void *arg)
{
	(void)arg;
	return item->due_ms % 2;
}

static void count_removed(struct due_item *item, void *arg)
{
	(void)item;
	(*(size_t *)arg)++;
}

static void test_remove_if(void)
{
	struct due_item items[500];
	struct dueheap h;
	size_t removed = 0, odd = 0;
	uint64_t last = 0;
	int ok = 1;

	dueheap_init(&h);
	for (size_t i = 0; i < 500; i++) {
		items[i].due_ms = next_random() % 10000;
		odd += items[i].due_ms % 2;
		ok &= dueheap_push(&h, &items[i]) == 0;
	}
	dueheap_remove_if(&h, is_odd, count_removed, &removed);
	CHECK(ok && removed == odd && h.count == 500 - odd && positions_ok(&h));
	while (h.count) {
		struct due_item *it = dueheap_pop(&h);

		ok &= it->due_ms >= last && it->due_ms % 2 == 0;
		last = it->due_ms;
	}
	CHECK(ok);
	dueheap_fini(&h);
}

int main(void)
{
	test_order();
	test_remove_if();
	return check_summary("test_dueheap");
}
