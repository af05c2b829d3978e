/* SPDX-License-Identifier: MIT */
/* The event catalog as data: include/probehook/catalog.h expanded for userspace. */
#ifndef PROBEHOOK_USERSPACE_CATALOG_H
#define PROBEHOOK_USERSPACE_CATALOG_H

#include <probehook/catalog.h>

struct catalog_event {
	unsigned int id;
	const char *type;   /* "agent.step.completed" */
	const char *probe;  /* "agent__step__completed", the USDT name */
	unsigned int nargs;
	unsigned char kind[PROBEHOOK_MAX_ARGS];  /* PROBEHOOK_ARG_* */
	const char *field[PROBEHOOK_MAX_ARGS];   /* payload field names */
};

/* NULL for an id outside the catalog. */
const struct catalog_event *catalog_by_id(unsigned int id);
/* NULL for an unknown type. */
const struct catalog_event *catalog_by_type(const char *type);
/* NULL for an unknown USDT probe name. */
const struct catalog_event *catalog_by_probe(const char *probe);

#endif
