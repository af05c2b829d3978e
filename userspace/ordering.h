/* SPDX-License-Identifier: MIT */
/*
 * Ordered delivery per agent: while one event of an agent is unfinished
 * (neither delivered nor dead-lettered), the agent's later events wait behind
 * it in arrival order.  A hash of agent id -> chain; a chain exists exactly
 * while its agent has an unfinished event, so memory follows the backlog,
 * not the number of agents ever seen.  Items are intrusive nodes, owned by
 * the caller.
 */
#ifndef PROBEHOOK_ORDERING_H
#define PROBEHOOK_ORDERING_H

#include <stddef.h>

struct order_node {
	struct order_node *next;
};

struct order_chain;

struct ordering {
	struct order_chain **buckets;
	size_t bucket_count; /* a power of two, or 0 before the first join */
	size_t chains;
	size_t waiting;      /* nodes queued behind a head */
};

void ordering_init(struct ordering *o);
/* Frees the chains; the nodes belong to the caller. */
void ordering_fini(struct ordering *o);

/* node wants to go for agent (NULL is an agent of its own, ""): 1 when it
 * may go now (it heads the chain), 0 when it waits, -ENOMEM. */
int ordering_join(struct ordering *o, const char *agent, struct order_node *node);

/* agent's head reached its final outcome: the next node, which now heads the
 * chain and may go, or NULL (the chain is gone). */
struct order_node *ordering_next(struct ordering *o, const char *agent);

/* Every waiting node, in no particular order, handed to fn; every chain
 * dropped (the heads' later ordering_next finds nothing). */
void ordering_drain(struct ordering *o, void (*fn)(struct order_node *node, void *arg),
		    void *arg);

#endif
