/* SPDX-License-Identifier: MIT */
/*
 * Subscriptions: which endpoints get an event of type T from agent A.
 * E gets it when A's webhooks are enabled (A's own entry, else
 * default_agent), T matches A's webhook_events and E's events, and A matches
 * E's agents.  Patterns are "*", "prefix.*" or an exact name.
 */
#ifndef PROBEHOOK_MATCH_H
#define PROBEHOOK_MATCH_H

#include <stdbool.h>

#include "config.h"

bool match_pattern(const char *pattern, const char *name);
bool match_any(const struct config_patterns *patterns, const char *name);

/* The agent's policy: its own entry, else default_agent. */
const struct config_agent *match_agent(const struct config *cfg, const char *agent_id);

/* Does endpoint e want type from agent_id?  agent_id may be NULL (unknown). */
bool match_endpoint(const struct config *cfg, const struct config_endpoint *e, const char *type,
		    const char *agent_id);

/* Could any agent's event of this type reach any endpoint?  A probe nobody
 * wants is not attached, so its semaphore stays 0. */
bool match_type_wanted(const struct config *cfg, const char *type);

#endif
