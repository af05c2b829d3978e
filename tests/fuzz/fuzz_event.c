// SPDX-License-Identifier: MIT
/*
 * Well-formed records with arbitrary contents, as the BPF program could
 * build them from a hostile probed process: any probe, any argument bytes,
 * any mix of truncated, NULL and unreadable arguments, any integers, any
 * process name.  The event must be a valid body, and say what happened to
 * each argument.
 *
 * Input layout (missing bytes read as zero):
 *   u8 probe id (mod the catalog size), u8 record flags,
 *   u64 boot_ns, u64 seq, u32 pid, u32 tid, 16 bytes comm,
 *   then per argument: u8 state (mod 4: ok, truncated, NULL, unreadable),
 *   s64 value, u16 length (little endian), length bytes of text.
 */
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "event.h"
#include "fuzz_check.h"
#include "utf8.h"

enum fuzz_arg_state { FUZZ_OK, FUZZ_TRUNCATED, FUZZ_NULL, FUZZ_UNREADABLE };

struct fuzz_input {
	const uint8_t *data;
	size_t left;
};

static void take(struct fuzz_input *in, void *out, size_t n)
{
	size_t have = n < in->left ? n : in->left;

	memset(out, 0, n);
	memcpy(out, in->data, have);
	in->data += have;
	in->left -= have;
}

static uint8_t take_u8(struct fuzz_input *in)
{
	uint8_t v;

	take(in, &v, sizeof(v));
	return v;
}

struct fuzz_arg {
	enum fuzz_arg_state state;
	const uint8_t *text;
	size_t len;
};

/* The record the BPF program would have written; NULL when out of memory. */
static struct ph_record *build(struct fuzz_input *in, struct fuzz_arg args[PROBEHOOK_MAX_ARGS],
			       size_t *size)
{
	const struct catalog_event *def = catalog_by_id(take_u8(in) % PROBEHOOK_EVENT_COUNT);
	struct ph_record hdr = { 0 }, *rec;
	size_t data = 0;
	uint16_t len;

	hdr.version = PH_RECORD_VERSION;
	hdr.probe_id = def->id;
	hdr.nargs = def->nargs;
	hdr.flags = take_u8(in) & PH_F_ARG_COUNT_MISMATCH;
	take(in, &hdr.boot_ns, sizeof(hdr.boot_ns));
	take(in, &hdr.seq, sizeof(hdr.seq));
	hdr.lost_before = hdr.seq ^ hdr.boot_ns; /* some inputs carry a loss report */
	take(in, &hdr.pid, sizeof(hdr.pid));
	take(in, &hdr.tid, sizeof(hdr.tid));
	take(in, hdr.comm, sizeof(hdr.comm));
	for (unsigned int i = 0; i < def->nargs; i++) {
		struct fuzz_arg *arg = &args[i];
		unsigned int bit = 1u << i;

		arg->state = take_u8(in) % 4;
		take(in, &hdr.arg_int[i], sizeof(hdr.arg_int[i]));
		take(in, &len, sizeof(len));
		arg->len = len < in->left ? len : in->left;
		arg->text = in->data;
		in->data += arg->len;
		in->left -= arg->len;
		if (arg->state == FUZZ_UNREADABLE) {
			hdr.fault_mask |= bit;
		} else if (PROBEHOOK_ARG_IS_STRING(def->kind[i]) && arg->state == FUZZ_NULL) {
			hdr.null_mask |= bit;
		} else if (PROBEHOOK_ARG_IS_STRING(def->kind[i])) {
			if (arg->state == FUZZ_TRUNCATED)
				hdr.truncated_mask |= bit;
			hdr.arg_len[i] = (uint32_t)arg->len;
			data += arg->len;
		}
	}
	if (data > UINT16_MAX)
		return NULL;
	hdr.data_len = (uint16_t)data;
	rec = malloc(sizeof(*rec) + data);
	if (!rec)
		return NULL;
	*rec = hdr;
	data = 0;
	for (unsigned int i = 0; i < def->nargs; i++) {
		memcpy(rec->data + data, args[i].text, hdr.arg_len[i]);
		data += hdr.arg_len[i];
	}
	*size = sizeof(*rec) + data;
	return rec;
}

static bool flagged(const cJSON *event, const char *flag, const char *field)
{
	const cJSON *flags = cJSON_GetObjectItemCaseSensitive(event, "flags");
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(flags, flag), *item;

	cJSON_ArrayForEach(item, list)
		if (cJSON_IsString(item) && strcmp(item->valuestring, field) == 0)
			return true;
	return false;
}

/* field appears in some list of "flags" */
static bool flagged_any(const cJSON *event, const char *field)
{
	const cJSON *list;

	cJSON_ArrayForEach(list, cJSON_GetObjectItemCaseSensitive(event, "flags"))
		if (list->string && flagged(event, list->string, field))
			return true;
	return false;
}

/* What the event says about argument i matches what happened to it. */
static void check_arg(const cJSON *event, const struct catalog_event *def, unsigned int i,
		      const struct fuzz_arg *arg)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(event, "data");
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(data, def->field[i]);
	const char *field = def->field[i];
	unsigned char kind = def->kind[i];
	size_t len = arg->len;

	if (!value)
		fuzz_fail("a catalog field is missing", field);
	if (arg->state == FUZZ_UNREADABLE) {
		if (!cJSON_IsNull(value) || !flagged(event, "unreadable", field))
			fuzz_fail("an unreadable argument is not null and flagged", field);
		return;
	}
	if (!PROBEHOOK_ARG_IS_STRING(kind))
		return;
	if (arg->state == FUZZ_NULL) {
		if (!cJSON_IsNull(value) || flagged_any(event, field))
			fuzz_fail("a NULL argument is not a plain null", field);
		return;
	}
	if ((arg->state == FUZZ_TRUNCATED) != flagged(event, "truncated", field))
		fuzz_fail("truncation is not flagged exactly when it happened", field);
	if (kind == PROBEHOOK_ARG_JSON)
		return;
	if (!cJSON_IsString(value))
		fuzz_fail("a text argument is not a string", field);
	/* cut text may end inside a character, which goes with the rest */
	len = arg->state == FUZZ_TRUNCATED ? utf8_complete_len((const char *)arg->text, len) :
					     len;
	if (utf8_valid((const char *)arg->text, len)) {
		if (strlen(value->valuestring) != len || memcmp(value->valuestring, arg->text, len) ||
		    flagged(event, "invalid_utf8", field))
			fuzz_fail("valid UTF-8 text did not arrive unchanged", field);
	} else if (!flagged(event, "invalid_utf8", field)) {
		fuzz_fail("invalid UTF-8 is not flagged", field);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_arg args[PROBEHOOK_MAX_ARGS] = { 0 };
	struct fuzz_input in = { data, size };
	struct decoded_event ev;
	struct ph_record *rec;
	const char *why = NULL;
	cJSON *event;
	size_t rec_size = 0;

	rec = build(&in, args, &rec_size);
	if (!rec)
		return 0;
	if (decode_record(rec, rec_size, &ev, &why))
		fuzz_fail("a well-formed record was rejected", why);
	event = event_build(&ev, FUZZ_BOOT_TO_UNIX_NS);
	if (!event)
		fuzz_fail("event_build failed", NULL);
	fuzz_check_event(event);
	for (unsigned int i = 0; i < ev.def->nargs; i++)
		check_arg(event, ev.def, i, &args[i]);
	cJSON_Delete(event);
	if (rec->lost_before) {
		event = event_build_gap(rec, FUZZ_BOOT_TO_UNIX_NS);
		if (!event)
			fuzz_fail("event_build_gap failed", NULL);
		fuzz_check_event(event);
		cJSON_Delete(event);
	}
	free(rec);
	return 0;
}
