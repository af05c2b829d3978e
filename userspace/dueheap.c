// SPDX-License-Identifier: MIT
#include "dueheap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define DUEHEAP_MIN_CAP 64

void dueheap_init(struct dueheap *h)
{
	memset(h, 0, sizeof(*h));
}

void dueheap_fini(struct dueheap *h)
{
	free(h->items);
	memset(h, 0, sizeof(*h));
}

static void place(struct dueheap *h, size_t pos, struct due_item *item)
{
	h->items[pos] = item;
	item->pos = pos;
}

static void sift_up(struct dueheap *h, size_t pos)
{
	struct due_item *item = h->items[pos];

	while (pos > 0) {
		size_t parent = (pos - 1) / 2;

		if (h->items[parent]->due_ms <= item->due_ms)
			break;
		place(h, pos, h->items[parent]);
		pos = parent;
	}
	place(h, pos, item);
}

static void sift_down(struct dueheap *h, size_t pos)
{
	struct due_item *item = h->items[pos];

	for (;;) {
		size_t child = 2 * pos + 1;

		if (child >= h->count)
			break;
		if (child + 1 < h->count && h->items[child + 1]->due_ms < h->items[child]->due_ms)
			child++;
		if (item->due_ms <= h->items[child]->due_ms)
			break;
		place(h, pos, h->items[child]);
		pos = child;
	}
	place(h, pos, item);
}

int dueheap_push(struct dueheap *h, struct due_item *item)
{
	if (h->count == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : DUEHEAP_MIN_CAP;
		struct due_item **items = realloc(h->items, cap * sizeof(*items));

		if (!items)
			return -ENOMEM;
		h->items = items;
		h->cap = cap;
	}
	h->items[h->count] = item;
	sift_up(h, h->count++);
	return 0;
}

struct due_item *dueheap_peek(const struct dueheap *h)
{
	return h->count ? h->items[0] : NULL;
}

void dueheap_remove(struct dueheap *h, struct due_item *item)
{
	size_t pos = item->pos;
	struct due_item *last = h->items[--h->count];

	if (pos == h->count)
		return;
	/* the last item fills the hole, then moves whichever way it must */
	place(h, pos, last);
	if (pos > 0 && h->items[(pos - 1) / 2]->due_ms > last->due_ms)
		sift_up(h, pos);
	else
		sift_down(h, pos);
}

struct due_item *dueheap_pop(struct dueheap *h)
{
	struct due_item *top = dueheap_peek(h);

	if (top)
		dueheap_remove(h, top);
	return top;
}

void dueheap_remove_if(struct dueheap *h, bool (*match)(const struct due_item *item, void *arg),
		       void (*removed)(struct due_item *item, void *arg), void *arg)
{
	size_t kept = 0;

	for (size_t i = 0; i < h->count; i++) {
		struct due_item *item = h->items[i];

		if (match(item, arg))
			removed(item, arg);
		else
			place(h, kept++, item);
	}
	h->count = kept;
	/* rebuild bottom-up: every parent sifts down below its children */
	for (size_t i = kept / 2; i-- > 0;)
		sift_down(h, i);
}
