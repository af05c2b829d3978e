// SPDX-License-Identifier: MIT
#include "decode.h"

#include <errno.h>
#include <string.h>

static int decode_fail(const char **why, const char *reason, int err)
{
	if (why)
		*why = reason;
	return err;
}

static void decode_arg(const struct ph_record *rec, unsigned int i, unsigned char kind,
		       const char **cursor, struct decoded_arg *arg)
{
	unsigned int bit = 1u << i;

	memset(arg, 0, sizeof(*arg));
	if (rec->fault_mask & bit) {
		arg->state = ARG_UNREADABLE;
		return;
	}
	if (!PROBEHOOK_ARG_IS_STRING(kind)) {
		arg->value = rec->arg_int[i];
		return;
	}
	if (rec->null_mask & bit) {
		arg->state = ARG_NULL;
		return;
	}
	arg->state = (rec->truncated_mask & bit) ? ARG_TRUNCATED : ARG_OK;
	arg->text = *cursor;
	arg->len = rec->arg_len[i];
	*cursor += rec->arg_len[i];
}

int decode_record(const void *data, size_t size, struct decoded_event *out, const char **why)
{
	const struct ph_record *rec = data;
	const struct catalog_event *def;
	const char *cursor;
	uint64_t total = 0;
	unsigned int i;

	memset(out, 0, sizeof(*out));
	if (size < sizeof(*rec))
		return decode_fail(why, "record shorter than its header", -EBADMSG);
	if (rec->version != PH_RECORD_VERSION)
		return decode_fail(why, "unknown record version", -EPROTO);
	def = catalog_by_id(rec->probe_id);
	if (!def)
		return decode_fail(why, "unknown probe id", -EPROTO);
	if (rec->nargs != def->nargs)
		return decode_fail(why, "argument count differs from the catalog", -EBADMSG);
	if (rec->data_len != size - sizeof(*rec))
		return decode_fail(why, "data length differs from the record size", -EBADMSG);
	for (i = 0; i < PROBEHOOK_MAX_ARGS; i++) {
		int string_slot = i < def->nargs && PROBEHOOK_ARG_IS_STRING(def->kind[i]) &&
				  !((rec->null_mask | rec->fault_mask) & (1u << i));

		if (!string_slot && rec->arg_len[i])
			return decode_fail(why, "length given for a non-string argument", -EBADMSG);
		total += rec->arg_len[i];
	}
	if (total != rec->data_len)
		return decode_fail(why, "argument lengths do not add up", -EBADMSG);

	out->rec = rec;
	out->def = def;
	cursor = rec->data;
	for (i = 0; i < def->nargs; i++)
		decode_arg(rec, i, def->kind[i], &cursor, &out->args[i]);
	return 0;
}
