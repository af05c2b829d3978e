// SPDX-License-Identifier: MIT
#include "fuzz_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

void fuzz_fail(const char *why, const char *detail)
{
	fprintf(stderr, "fuzz check failed: %s\n", why);
	if (detail)
		fprintf(stderr, "  %.400s\n", detail);
	abort();
}

void fuzz_check_event(const cJSON *event)
{
	static const char *const members[] = { "type", "timestamp", "data", "source" };
	cJSON *reparsed;
	size_t len, i;
	char *body;

	body = cJSON_PrintUnformatted(event);
	if (!body)
		fuzz_fail("the event does not print", NULL);
	len = strlen(body);
	if (!utf8_valid(body, len))
		fuzz_fail("the body is not valid UTF-8", body);
	/* length + 1: cJSON then insists that nothing follows the value */
	reparsed = cJSON_ParseWithLengthOpts(body, len + 1, NULL, 1);
	if (!cJSON_IsObject(reparsed))
		fuzz_fail("the body does not parse back as a JSON object", body);
	for (i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (!cJSON_GetObjectItemCaseSensitive(reparsed, members[i]))
			fuzz_fail("the body lacks a top-level member", members[i]);
	cJSON_Delete(reparsed);
	free(body);
}
