/* SPDX-License-Identifier: MIT */
/*
 * The body an endpoint gets when an event is larger than its
 * max_payload_bytes: the event cut by event_fit(), under the event's own
 * webhook-id.  Live events and events recovered from the spool are cut by
 * the same code, so a receiver cannot tell them apart.
 */
#ifndef PROBEHOOK_FIT_H
#define PROBEHOOK_FIT_H

#include <stdint.h>

#include <cjson/cJSON.h>

#include "deliver.h"

/* One event's cut body, kept while the endpoints it goes to share a cap
 * (they usually do). */
struct fitted {
	unsigned int cap;
	struct payload *p;
};

/*
 * The event cut to cap, as fit->p with id and agent (event itself is not
 * changed; spool_seq is the caller's to set).  The one fit already holds
 * when its cap is the same; else a new one, counted in *cuts.  fit keeps the
 * reference: payload_put(fit->p) when the event is done.  NULL: out of memory.
 */
struct payload *payload_fit(struct fitted *fit, const cJSON *event, const char *id,
			    const char *agent, unsigned int cap, uint64_t *cuts);

#endif
