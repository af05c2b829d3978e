/* SPDX-License-Identifier: MIT */
/*
 * Decoding a ring-buffer record.  The bytes come from the kernel, but their
 * content comes from the probed process, so every length is checked before
 * it is trusted.  Decoding copies nothing: the result points into the record.
 */
#ifndef PROBEHOOK_DECODE_H
#define PROBEHOOK_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "record.h"

/* What happened to one argument on its way out of the probed process. */
enum decoded_arg_state {
	ARG_OK,
	ARG_TRUNCATED,  /* cut at max_arg_bytes */
	ARG_NULL,       /* a NULL pointer */
	ARG_UNREADABLE, /* the pointer could not be read, or the probe site lacked it */
};

struct decoded_arg {
	enum decoded_arg_state state;
	const char *text; /* string kinds: not NUL-terminated */
	size_t len;
	int64_t value;    /* integer kinds */
};

struct decoded_event {
	const struct ph_record *rec;
	const struct catalog_event *def;
	struct decoded_arg args[PROBEHOOK_MAX_ARGS];
};

/*
 * Check a record of size bytes and describe it in *out.  Returns 0, or
 * -EBADMSG (malformed: short, lengths that do not add up) or -EPROTO (a
 * version or probe id this collector does not know); *why says which.
 */
int decode_record(const void *data, size_t size, struct decoded_event *out, const char **why);

#endif
