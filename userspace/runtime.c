// SPDX-License-Identifier: MIT
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"

const char *event_mode_name(enum event_mode mode)
{
	static const char *const names[] = { "auto", "on", "off" };

	return names[mode];
}

void runtime_set_event(struct runtime *rt, unsigned int id, enum event_mode mode, uint64_t for_ms,
		       uint64_t now_ms)
{
	struct event_override *o = &rt->events[id];

	/* a timed change reverts to what was in force before it, not to a
	 * previous timed change's target */
	if (for_ms) {
		if (!o->revert_at_ms)
			o->revert_mode = o->mode;
		o->revert_at_ms = now_ms + for_ms;
	} else {
		o->revert_at_ms = 0;
	}
	o->mode = mode;
}

bool runtime_expire(struct runtime *rt, uint64_t now_ms, uint64_t *next_ms)
{
	bool changed = false;

	*next_ms = 0;
	for (unsigned int id = 0; id < PROBEHOOK_EVENT_COUNT; id++) {
		struct event_override *o = &rt->events[id];

		if (!o->revert_at_ms)
			continue;
		if (o->revert_at_ms <= now_ms) {
			changed |= o->mode != o->revert_mode;
			o->mode = o->revert_mode;
			o->revert_at_ms = 0;
		} else if (!*next_ms || o->revert_at_ms < *next_ms) {
			*next_ms = o->revert_at_ms;
		}
	}
	return changed;
}

bool runtime_event_wanted(const struct runtime *rt, const struct config *cfg, unsigned int id)
{
	switch (rt->events[id].mode) {
	case EVENT_ON:
		return true;
	case EVENT_OFF:
		return false;
	default:
		return match_type_wanted(cfg, catalog_by_id(id)->type);
	}
}

static int copy_patterns(const struct config_patterns *from, struct config_patterns *to)
{
	to->items = calloc(from->count, sizeof(*to->items));
	if (!to->items)
		return -ENOMEM;
	for (to->count = 0; to->count < from->count; to->count++) {
		to->items[to->count] = strdup(from->items[to->count]);
		if (!to->items[to->count])
			return -ENOMEM;
	}
	return 0;
}

static int apply_agent(struct config *cfg, const char *agent_id, bool enabled)
{
	struct config_agent *agents, *agent;

	for (size_t i = 0; i < cfg->agent_count; i++) {
		if (strcmp(cfg->agents[i].agent_id, agent_id) == 0) {
			cfg->agents[i].webhook_enabled = enabled;
			return 0;
		}
	}
	/* not listed: it followed default_agent, whose event filter it keeps */
	agents = realloc(cfg->agents, (cfg->agent_count + 1) * sizeof(*agents));
	if (!agents)
		return -ENOMEM;
	cfg->agents = agents;
	agent = &agents[cfg->agent_count];
	memset(agent, 0, sizeof(*agent));
	cfg->agent_count++;
	agent->webhook_enabled = enabled;
	agent->agent_id = strdup(agent_id);
	if (!agent->agent_id)
		return -ENOMEM;
	return copy_patterns(&cfg->default_agent.events, &agent->events);
}

int runtime_set_agent(struct runtime *rt, struct config *cfg, const char *agent_id, bool enabled)
{
	struct agent_toggle *toggles;
	size_t i;

	for (i = 0; i < rt->agent_count; i++)
		if (strcmp(rt->agents[i].agent_id, agent_id) == 0)
			break;
	if (i == rt->agent_count) {
		toggles = realloc(rt->agents, (rt->agent_count + 1) * sizeof(*toggles));
		if (!toggles)
			return -ENOMEM;
		rt->agents = toggles;
		toggles[i].agent_id = strdup(agent_id);
		if (!toggles[i].agent_id)
			return -ENOMEM;
		rt->agent_count++;
	}
	rt->agents[i].enabled = enabled;
	return apply_agent(cfg, agent_id, enabled);
}

int runtime_apply_agents(const struct runtime *rt, struct config *cfg)
{
	for (size_t i = 0; i < rt->agent_count; i++) {
		int err = apply_agent(cfg, rt->agents[i].agent_id, rt->agents[i].enabled);

		if (err)
			return err;
	}
	return 0;
}

void runtime_free(struct runtime *rt)
{
	for (size_t i = 0; i < rt->agent_count; i++)
		free(rt->agents[i].agent_id);
	free(rt->agents);
	memset(rt, 0, sizeof(*rt));
}
