// SPDX-License-Identifier: MIT
#include "fit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "log.h"

struct payload *payload_fit(struct fitted *fit, const cJSON *event, const char *id,
			    const char *agent, unsigned int cap, uint64_t *cuts)
{
	cJSON *copy;
	char *body = NULL;
	int err;

	if (fit->p && fit->cap == cap)
		return fit->p;
	payload_put(fit->p);
	fit->p = NULL;
	/* a copy: the next endpoint may have a larger cap and want more of it */
	copy = cJSON_Duplicate(event, 1);
	if (!copy)
		return NULL;
	err = event_fit(copy, cap, &body);
	cJSON_Delete(copy);
	if (err == -E2BIG)
		log_warn("event %s: still %zu bytes after cutting every field (max_payload_bytes %u)",
			 id, strlen(body), cap);
	else if (err)
		return NULL;
	fit->cap = cap;
	fit->p = payload_new(id, agent, body, strlen(body));
	free(body);
	if (fit->p)
		(*cuts)++;
	return fit->p;
}
