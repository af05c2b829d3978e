// SPDX-License-Identifier: MIT
#include "match.h"

#include <string.h>

bool match_pattern(const char *pattern, const char *name)
{
	size_t len = strlen(pattern);

	if (strcmp(pattern, "*") == 0)
		return true;
	/* "agent.*" matches "agent.step.completed", not "agent" or "agents.x" */
	if (len >= 2 && pattern[len - 2] == '.' && pattern[len - 1] == '*')
		return strncmp(pattern, name, len - 1) == 0 && name[len - 1] != '\0';
	return strcmp(pattern, name) == 0;
}

bool match_any(const struct config_patterns *patterns, const char *name)
{
	for (size_t i = 0; i < patterns->count; i++)
		if (match_pattern(patterns->items[i], name))
			return true;
	return false;
}

const struct config_agent *match_agent(const struct config *cfg, const char *agent_id)
{
	if (agent_id)
		for (size_t i = 0; i < cfg->agent_count; i++)
			if (strcmp(cfg->agents[i].agent_id, agent_id) == 0)
				return &cfg->agents[i];
	return &cfg->default_agent;
}

bool match_endpoint(const struct config *cfg, const struct config_endpoint *e, const char *type,
		    const char *agent_id)
{
	const struct config_agent *agent = match_agent(cfg, agent_id);

	return agent->webhook_enabled && match_any(&agent->events, type) &&
	       match_any(&e->events, type) && match_any(&e->agents, agent_id ? agent_id : "");
}

static bool agent_wants(const struct config_agent *agent, const struct config *cfg,
			const char *type)
{
	if (!agent->webhook_enabled || !match_any(&agent->events, type))
		return false;
	for (size_t i = 0; i < cfg->endpoint_count; i++) {
		const struct config_endpoint *e = &cfg->endpoints[i];

		/* default_agent stands for agents not listed: any name may match */
		if (match_any(&e->events, type) &&
		    (agent->agent_id ? match_any(&e->agents, agent->agent_id) : e->agents.count > 0))
			return true;
	}
	return false;
}

bool match_type_wanted(const struct config *cfg, const char *type)
{
	if (agent_wants(&cfg->default_agent, cfg, type))
		return true;
	for (size_t i = 0; i < cfg->agent_count; i++)
		if (agent_wants(&cfg->agents[i], cfg, type))
			return true;
	return false;
}
