// SPDX-License-Identifier: MIT
/*
 * Arbitrary bytes as one ring-buffer record: decode_record must reject or
 * describe them without reading outside them, and whatever it accepts must
 * become a valid webhook body.
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "event.h"
#include "fuzz_check.h"

/* Accepted string arguments lie inside the record, one after the other. */
static void check_args(const struct decoded_event *ev, const char *start, size_t size)
{
	const char *cursor = ev->rec->data;

	for (unsigned int i = 0; i < ev->def->nargs; i++) {
		const struct decoded_arg *arg = &ev->args[i];

		if (!arg->text)
			continue;
		if (arg->text != cursor || arg->len > size ||
		    arg->text + arg->len > start + size)
			fuzz_fail("a decoded argument lies outside the record", ev->def->field[i]);
		cursor += arg->len;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct decoded_event ev;
	const char *why = NULL;
	cJSON *event;
	char *rec;

	/* Ring records are 8-byte aligned; an exact-size copy keeps ASan's
	 * redzone right behind the last byte. */
	rec = malloc(size ? size : 1);
	if (!rec)
		return 0;
	memcpy(rec, data, size);
	if (decode_record(rec, size, &ev, &why) == 0) {
		check_args(&ev, rec, size);
		event = event_build(&ev, FUZZ_BOOT_TO_UNIX_NS);
		if (!event)
			fuzz_fail("event_build failed on a decoded record", NULL);
		fuzz_check_event(event);
		cJSON_Delete(event);
		if (ev.rec->lost_before) {
			event = event_build_gap(ev.rec, FUZZ_BOOT_TO_UNIX_NS);
			if (!event)
				fuzz_fail("event_build_gap failed on a decoded record", NULL);
			fuzz_check_event(event);
			cJSON_Delete(event);
		}
	} else if (!why) {
		fuzz_fail("a rejected record has no reason", NULL);
	}
	free(rec);
	return 0;
}
