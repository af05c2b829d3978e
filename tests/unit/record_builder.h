/* SPDX-License-Identifier: MIT */
/* Builds ring-buffer records the way the BPF program does, for tests. */
#ifndef PROBEHOOK_TEST_RECORD_BUILDER_H
#define PROBEHOOK_TEST_RECORD_BUILDER_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "record.h"

struct test_arg {
	const char *text; /* string kinds; NULL sets the null bit */
	int64_t value;    /* integer kinds */
	int truncated;
	int unreadable;
};

/* A malloc'ed record for event id with the given args; *size gets its size. */
static inline struct ph_record *build_record(unsigned int id, const struct test_arg *args,
					     size_t *size)
{
	const struct catalog_event *def = catalog_by_id(id);
	size_t data = 0, off = 0;
	struct ph_record *rec;

	for (unsigned int i = 0; i < def->nargs; i++)
		if (PROBEHOOK_ARG_IS_STRING(def->kind[i]) && args[i].text && !args[i].unreadable)
			data += strlen(args[i].text);
	rec = calloc(1, sizeof(*rec) + data);
	rec->version = PH_RECORD_VERSION;
	rec->probe_id = id;
	rec->nargs = def->nargs;
	rec->data_len = data;
	rec->pid = 4242;
	rec->tid = 4243;
	rec->boot_ns = 1000000000ull;
	rec->seq = 7;
	memcpy(rec->comm, "agent-server", 13);
	for (unsigned int i = 0; i < def->nargs; i++) {
		if (args[i].unreadable) {
			rec->fault_mask |= 1u << i;
		} else if (!PROBEHOOK_ARG_IS_STRING(def->kind[i])) {
			rec->arg_int[i] = args[i].value;
		} else if (!args[i].text) {
			rec->null_mask |= 1u << i;
		} else {
			size_t len = strlen(args[i].text);

			memcpy(rec->data + off, args[i].text, len);
			rec->arg_len[i] = len;
			off += len;
			if (args[i].truncated)
				rec->truncated_mask |= 1u << i;
		}
	}
	*size = sizeof(*rec) + data;
	return rec;
}

#endif
