// SPDX-License-Identifier: MIT
#include "catalog.h"

#include <string.h>

#define NARGS_(k0, k1, k2, k3, k4, k5)                                                     \
	((PROBEHOOK_ARG_##k0 != 0) + (PROBEHOOK_ARG_##k1 != 0) + (PROBEHOOK_ARG_##k2 != 0) + \
	 (PROBEHOOK_ARG_##k3 != 0) + (PROBEHOOK_ARG_##k4 != 0) + (PROBEHOOK_ARG_##k5 != 0))

#define CATALOG_ROW_(ID, NAME, TYPE, PROBE, k0, f0, k1, f1, k2, f2, k3, f3, k4, f4, k5, f5) \
	[ID] = { .id = ID,                                                                  \
		 .type = TYPE,                                                              \
		 .probe = #PROBE,                                                           \
		 .nargs = NARGS_(k0, k1, k2, k3, k4, k5),                                   \
		 .kind = { PROBEHOOK_ARG_##k0, PROBEHOOK_ARG_##k1, PROBEHOOK_ARG_##k2,      \
			   PROBEHOOK_ARG_##k3, PROBEHOOK_ARG_##k4, PROBEHOOK_ARG_##k5 },    \
		 .field = { f0, f1, f2, f3, f4, f5 } },

static const struct catalog_event catalog[PROBEHOOK_EVENT_COUNT] = {
	PROBEHOOK_EVENTS(CATALOG_ROW_)
};

const struct catalog_event *catalog_by_id(unsigned int id)
{
	return id < PROBEHOOK_EVENT_COUNT ? &catalog[id] : NULL;
}

const struct catalog_event *catalog_by_type(const char *type)
{
	for (unsigned int i = 0; i < PROBEHOOK_EVENT_COUNT; i++)
		if (strcmp(catalog[i].type, type) == 0)
			return &catalog[i];
	return NULL;
}

const struct catalog_event *catalog_by_probe(const char *probe)
{
	for (unsigned int i = 0; i < PROBEHOOK_EVENT_COUNT; i++)
		if (strcmp(catalog[i].probe, probe) == 0)
			return &catalog[i];
	return NULL;
}
