/* SPDX-License-Identifier: MIT */
/*
 * Runtime overrides an operator sets through probehookctl: an event forced on
 * or off (optionally for a while), an agent's webhooks switched on or off.
 * They sit on top of the config and survive a reload.
 */
#ifndef PROBEHOOK_RUNTIME_H
#define PROBEHOOK_RUNTIME_H

#include <stdbool.h>
#include <stdint.h>

#include "catalog.h"
#include "config.h"

enum event_mode {
	EVENT_AUTO, /* attached when some subscription wants it */
	EVENT_ON,   /* attached regardless (events still go only where subscribed) */
	EVENT_OFF,  /* detached regardless */
};

struct event_override {
	enum event_mode mode;
	enum event_mode revert_mode; /* what mode becomes at revert_at_ms */
	uint64_t revert_at_ms;       /* 0: never */
};

struct agent_toggle {
	char *agent_id;
	bool enabled;
};

struct runtime {
	struct event_override events[PROBEHOOK_EVENT_COUNT];
	struct agent_toggle *agents;
	size_t agent_count;
};

const char *event_mode_name(enum event_mode mode);

/* Set an event's mode; for_ms > 0 reverts to the current mode after that long. */
void runtime_set_event(struct runtime *rt, unsigned int id, enum event_mode mode, uint64_t for_ms,
		       uint64_t now_ms);
/* Revert what is due; true when anything changed.  *next_ms: the next due time (0: none). */
bool runtime_expire(struct runtime *rt, uint64_t now_ms, uint64_t *next_ms);
/* Should the event's probe be attached? */
bool runtime_event_wanted(const struct runtime *rt, const struct config *cfg, unsigned int id);

/* Switch an agent's webhooks and apply it to cfg at once. */
int runtime_set_agent(struct runtime *rt, struct config *cfg, const char *agent_id, bool enabled);
/* Re-apply every agent toggle to a freshly loaded config. */
int runtime_apply_agents(const struct runtime *rt, struct config *cfg);
void runtime_free(struct runtime *rt);

#endif
