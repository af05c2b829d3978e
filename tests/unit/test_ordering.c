// SPDX-License-Identifier: MIT
/* Per-agent ordering chains: the first event of an agent goes, later ones
 * wait in order until the one before them is final; agents are independent;
 * draining hands back every waiting node; many agents grow the table. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "ordering.h"

struct item {
	struct order_node node; /* first: the cast below relies on it */
	int id;
	int drained;
};

static int id_of(struct order_node *n)
{
	return n ? ((struct item *)n)->id : -1;
}

static void on_drain(struct order_node *node, void *arg)
{
	int *count = arg;

	((struct item *)node)->drained = 1;
	(*count)++;
}

static void test_chains(void)
{
	struct item it[8];
	struct ordering o;
	int drained = 0;

	for (int i = 0; i < 8; i++)
		it[i] = (struct item){ .id = i };
	ordering_init(&o);
	CHECK(ordering_next(&o, "a") == NULL); /* nothing there yet */
	CHECK(ordering_join(&o, "a", &it[0].node) == 1);
	CHECK(ordering_join(&o, "b", &it[1].node) == 1);
	CHECK(ordering_join(&o, "a", &it[2].node) == 0);
	CHECK(ordering_join(&o, "a", &it[3].node) == 0);
	CHECK(ordering_join(&o, NULL, &it[4].node) == 1);
	CHECK(ordering_join(&o, "", &it[5].node) == 0); /* NULL and "" are one agent */
	CHECK(o.chains == 3 && o.waiting == 3);
	/* a finishes: 2 then 3, in arrival order */
	CHECK(id_of(ordering_next(&o, "a")) == 2);
	CHECK(id_of(ordering_next(&o, "a")) == 3);
	CHECK(ordering_next(&o, "a") == NULL);
	CHECK(o.chains == 2);
	/* the chain is gone: a new event of a goes at once */
	CHECK(ordering_join(&o, "a", &it[6].node) == 1);
	/* b has nothing waiting */
	CHECK(ordering_next(&o, "b") == NULL);
	CHECK(ordering_join(&o, "a", &it[7].node) == 0);
	/* draining hands back the waiting ones only (5 and 7) and drops every chain */
	ordering_drain(&o, on_drain, &drained);
	CHECK(drained == 2 && it[5].drained && it[7].drained && !it[6].drained);
	CHECK(o.chains == 0 && o.waiting == 0);
	CHECK(ordering_next(&o, "a") == NULL);
	ordering_fini(&o);
}

static void test_many_agents(void)
{
	const int n = 5000;
	struct item *items = calloc((size_t)n * 2, sizeof(*items));
	struct ordering o;
	char agent[32];
	int ok = 1;

	CHECK(items != NULL);
	if (!items)
		return;
	ordering_init(&o);
	for (int i = 0; i < n; i++) {
		snprintf(agent, sizeof(agent), "agent-%d", i);
		items[2 * i].id = 2 * i;
		items[2 * i + 1].id = 2 * i + 1;
		ok &= ordering_join(&o, agent, &items[2 * i].node) == 1;
		ok &= ordering_join(&o, agent, &items[2 * i + 1].node) == 0;
	}
	CHECK(ok);
	CHECK(o.chains == (size_t)n && o.bucket_count >= (size_t)n);
	for (int i = n - 1; i >= 0; i--) {
		snprintf(agent, sizeof(agent), "agent-%d", i);
		ok &= id_of(ordering_next(&o, agent)) == 2 * i + 1;
		ok &= ordering_next(&o, agent) == NULL;
	}
	CHECK(ok);
	CHECK(o.chains == 0 && o.waiting == 0);
	ordering_fini(&o);
	free(items);
}

int main(void)
{
	test_chains();
	test_many_agents();
	return check_summary("test_ordering");
}
