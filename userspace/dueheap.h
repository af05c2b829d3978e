/* SPDX-License-Identifier: MIT */
/*
 * A binary min-heap of items by due time: deliveries waiting for their next
 * attempt.  Push, pop and remove are O(log n), so a backlog of a hundred
 * thousand retries costs no more per event than a handful.  Items are
 * intrusive and remember their position, so any one can be removed.
 */
#ifndef PROBEHOOK_DUEHEAP_H
#define PROBEHOOK_DUEHEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct due_item {
	uint64_t due_ms;
	size_t pos;  /* index in the heap while queued */
};

struct dueheap {
	struct due_item **items;
	size_t count, cap;
};

void dueheap_init(struct dueheap *h);
/* Frees the array; the items belong to the caller. */
void dueheap_fini(struct dueheap *h);
/* 0 or -ENOMEM. */
int dueheap_push(struct dueheap *h, struct due_item *item);
/* The earliest item, or NULL. */
struct due_item *dueheap_peek(const struct dueheap *h);
struct due_item *dueheap_pop(struct dueheap *h);
/* item must be in h. */
void dueheap_remove(struct dueheap *h, struct due_item *item);
/* Remove every item match() picks, handing each to removed() (which must not
 * touch h); O(n), for the rare bulk case (an endpoint disabled). */
void dueheap_remove_if(struct dueheap *h, bool (*match)(const struct due_item *item, void *arg),
		       void (*removed)(struct due_item *item, void *arg), void *arg);

#endif
