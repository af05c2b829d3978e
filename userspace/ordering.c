// SPDX-License-Identifier: MIT
#include "ordering.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define ORDERING_MIN_BUCKETS 64

struct order_chain {
	struct order_chain *hash_next;
	uint64_t hash;
	struct order_node *wait_head, *wait_tail;
	char agent[];
};

static uint64_t hash_agent(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

void ordering_init(struct ordering *o)
{
	memset(o, 0, sizeof(*o));
}

static void free_chains(struct ordering *o)
{
	for (size_t i = 0; i < o->bucket_count; i++) {
		struct order_chain *c = o->buckets[i];

		while (c) {
			struct order_chain *next = c->hash_next;

			free(c);
			c = next;
		}
		o->buckets[i] = NULL;
	}
	o->chains = 0;
	o->waiting = 0;
}

void ordering_fini(struct ordering *o)
{
	free_chains(o);
	free(o->buckets);
	memset(o, 0, sizeof(*o));
}

static struct order_chain **find(struct ordering *o, const char *agent, uint64_t hash)
{
	struct order_chain **pos = &o->buckets[hash & (o->bucket_count - 1)];

	while (*pos && ((*pos)->hash != hash || strcmp((*pos)->agent, agent) != 0))
		pos = &(*pos)->hash_next;
	return pos;
}

/* Keep chains <= buckets so lookups stay short; failing to grow is harmless. */
static void maybe_grow(struct ordering *o)
{
	size_t count = o->bucket_count ? o->bucket_count * 2 : ORDERING_MIN_BUCKETS;
	struct order_chain **buckets;

	if (o->bucket_count && o->chains < o->bucket_count)
		return;
	buckets = calloc(count, sizeof(*buckets));
	if (!buckets)
		return;
	for (size_t i = 0; i < o->bucket_count; i++) {
		struct order_chain *c = o->buckets[i];

		while (c) {
			struct order_chain *next = c->hash_next;

			c->hash_next = buckets[c->hash & (count - 1)];
			buckets[c->hash & (count - 1)] = c;
			c = next;
		}
	}
	free(o->buckets);
	o->buckets = buckets;
	o->bucket_count = count;
}

int ordering_join(struct ordering *o, const char *agent, struct order_node *node)
{
	struct order_chain **pos, *c;
	uint64_t hash;
	size_t len;

	if (!agent)
		agent = "";
	hash = hash_agent(agent);
	maybe_grow(o);
	if (!o->bucket_count)
		return -ENOMEM;
	pos = find(o, agent, hash);
	node->next = NULL;
	if (*pos) {
		c = *pos;
		if (c->wait_tail)
			c->wait_tail->next = node;
		else
			c->wait_head = node;
		c->wait_tail = node;
		o->waiting++;
		return 0;
	}
	len = strlen(agent);
	c = calloc(1, sizeof(*c) + len + 1);
	if (!c)
		return -ENOMEM;
	c->hash = hash;
	memcpy(c->agent, agent, len + 1);
	*pos = c;
	o->chains++;
	return 1;
}

struct order_node *ordering_next(struct ordering *o, const char *agent)
{
	struct order_chain **pos, *c;
	struct order_node *node;
	uint64_t hash;

	if (!o->bucket_count)
		return NULL;
	if (!agent)
		agent = "";
	hash = hash_agent(agent);
	pos = find(o, agent, hash);
	c = *pos;
	if (!c)
		return NULL;
	node = c->wait_head;
	if (node) {
		c->wait_head = node->next;
		if (!c->wait_head)
			c->wait_tail = NULL;
		node->next = NULL;
		o->waiting--;
		return node;
	}
	*pos = c->hash_next;
	free(c);
	o->chains--;
	return NULL;
}

void ordering_drain(struct ordering *o, void (*fn)(struct order_node *node, void *arg), void *arg)
{
	for (size_t i = 0; i < o->bucket_count; i++) {
		for (struct order_chain *c = o->buckets[i]; c; c = c->hash_next) {
			struct order_node *node = c->wait_head;

			while (node) {
				struct order_node *next = node->next;

				node->next = NULL;
				fn(node, arg);
				node = next;
			}
			c->wait_head = c->wait_tail = NULL;
		}
	}
	free_chains(o);
}
