// SPDX-License-Identifier: MIT
#include "event.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "timefmt.h"
#include "utf8.h"

struct event_flags {
	cJSON *obj;
};

/* Each field is listed once per flag. */
static int flag_field(struct event_flags *flags, const char *flag, const char *field)
{
	const cJSON *seen;
	cJSON *list;

	if (!flags->obj && !(flags->obj = cJSON_CreateObject()))
		return -ENOMEM;
	list = cJSON_GetObjectItemCaseSensitive(flags->obj, flag);
	if (!list && !(list = cJSON_AddArrayToObject(flags->obj, flag)))
		return -ENOMEM;
	cJSON_ArrayForEach(seen, list)
		if (cJSON_IsString(seen) && strcmp(seen->valuestring, field) == 0)
			return 0;
	return cJSON_AddItemToArray(list, cJSON_CreateString(field)) ? 0 : -ENOMEM;
}

/* Whether item nests containers more than limit deep (item itself counts). */
static bool json_deeper_than(const cJSON *item, unsigned int limit)
{
	const cJSON *child;

	if (!cJSON_IsArray(item) && !cJSON_IsObject(item))
		return false;
	if (limit == 0)
		return true;
	cJSON_ArrayForEach(child, item)
		if (json_deeper_than(child, limit - 1))
			return true;
	return false;
}

/*
 * A JSON argument embedded as JSON, or NULL (then it goes in as a string,
 * flagged).  Only the whole text counts: cJSON would otherwise take
 * "{} junk" as {}.  Text that parses embeds as itself, minified: no tree to
 * print again, which at full rate was a tenth of the collector's time (cJSON
 * prints each number with sprintf and reads it back with sscanf), and
 * numbers keep every digit.  cJSON accepts raw control characters inside
 * strings, which strict parsers reject: such text goes out re-printed from
 * the tree, escaped.
 */
static cJSON *embedded_json(char *text, const char *field, struct event_flags *flags)
{
	cJSON *tree = cJSON_ParseWithOpts(text, NULL, 1);

	if (!tree) {
		flag_field(flags, "invalid_json", field);
		return NULL;
	}
	if (json_deeper_than(tree, EVENT_JSON_DEPTH_MAX)) {
		cJSON_Delete(tree);
		flag_field(flags, "too_deep", field);
		return NULL;
	}
	cJSON_Minify(text);
	for (const char *p = text; *p; p++)
		if ((unsigned char)*p < 0x20)
			return tree;
	cJSON_Delete(tree);
	return cJSON_CreateRaw(text);
}

static cJSON *text_value(const struct decoded_arg *arg, const char *field, unsigned char kind,
			 struct event_flags *flags)
{
	cJSON *value = NULL;
	size_t len = arg->len;
	int replaced;
	char *text;

	/* a character cut by the cap is lost with the rest, not malformed */
	if (arg->state == ARG_TRUNCATED)
		len = utf8_complete_len(arg->text, len);
	text = utf8_sanitize(arg->text, len, &replaced);
	if (!text)
		return NULL;
	if (replaced)
		flag_field(flags, "invalid_utf8", field);
	if (kind == PROBEHOOK_ARG_JSON)
		value = embedded_json(text, field, flags);
	if (!value)
		value = cJSON_CreateString(text);
	free(text);
	return value;
}

static cJSON *int_value(int64_t v)
{
	char buf[24];

	/* Raw keeps all 64 bits; a cJSON number is a double. */
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return cJSON_CreateRaw(buf);
}

static cJSON *duration_value(int64_t us)
{
	char buf[32];
	uint64_t mag = us < 0 ? (uint64_t)0 - (uint64_t)us : (uint64_t)us;

	snprintf(buf, sizeof(buf), "%s%" PRIu64 ".%03" PRIu64, us < 0 ? "-" : "", mag / 1000,
		 mag % 1000);
	return cJSON_CreateRaw(buf);
}

static cJSON *arg_value(const struct decoded_arg *arg, const char *field, unsigned char kind,
			struct event_flags *flags)
{
	char stamp[RFC3339_LEN];

	if (arg->state == ARG_UNREADABLE) {
		flag_field(flags, "unreadable", field);
		return cJSON_CreateNull();
	}
	if (arg->state == ARG_NULL)
		return cJSON_CreateNull();
	if (arg->state == ARG_TRUNCATED)
		flag_field(flags, "truncated", field);
	switch (kind) {
	case PROBEHOOK_ARG_TEXT:
	case PROBEHOOK_ARG_TEXT_NULL:
	case PROBEHOOK_ARG_JSON:
		return text_value(arg, field, kind, flags);
	case PROBEHOOK_ARG_TIME_NS:
		if (rfc3339_from_unix_ns(arg->value, stamp)) {
			flag_field(flags, "out_of_range", field);
			return cJSON_CreateNull();
		}
		return cJSON_CreateString(stamp);
	case PROBEHOOK_ARG_DURATION_US:
		return duration_value(arg->value);
	default:
		return int_value(arg->value);
	}
}

static cJSON *source_object(const struct ph_record *rec)
{
	char comm[PH_COMM_LEN + 1];
	cJSON *source = cJSON_CreateObject();
	char *safe_comm;
	int replaced;

	if (!source)
		return NULL;
	memcpy(comm, rec->comm, PH_COMM_LEN);
	comm[PH_COMM_LEN] = '\0';
	safe_comm = utf8_sanitize(comm, strlen(comm), &replaced);
	if (!cJSON_AddItemToObject(source, "pid", int_value(rec->pid)) ||
	    !cJSON_AddItemToObject(source, "tid", int_value(rec->tid)) ||
	    !safe_comm || !cJSON_AddStringToObject(source, "comm", safe_comm) ||
	    !cJSON_AddItemToObject(source, "seq", int_value((int64_t)rec->seq))) {
		cJSON_Delete(source);
		source = NULL;
	}
	free(safe_comm);
	return source;
}

cJSON *event_build(const struct decoded_event *ev, int64_t boot_to_unix_ns)
{
	const struct catalog_event *def = ev->def;
	struct event_flags flags = { NULL };
	char stamp[RFC3339_LEN];
	cJSON *event, *data;
	int64_t unix_ns;
	unsigned int i;

	event = cJSON_CreateObject();
	if (!event)
		return NULL;
	/* The kernel's boot clock cannot be near 2^63, but a record's bytes are
	 * checked, not trusted: an impossible time is flagged, never overflowed. */
	if (ev->rec->boot_ns > INT64_MAX ||
	    __builtin_add_overflow((int64_t)ev->rec->boot_ns, boot_to_unix_ns, &unix_ns)) {
		unix_ns = 0;
		flag_field(&flags, "out_of_range", "timestamp");
	}
	rfc3339_from_unix_ns(unix_ns, stamp);
	if (!cJSON_AddStringToObject(event, "type", def->type) ||
	    !cJSON_AddStringToObject(event, "timestamp", stamp) ||
	    !(data = cJSON_AddObjectToObject(event, "data")))
		goto fail;
	for (i = 0; i < def->nargs; i++) {
		cJSON *value = arg_value(&ev->args[i], def->field[i], def->kind[i], &flags);

		if (!value || !cJSON_AddItemToObject(data, def->field[i], value)) {
			cJSON_Delete(value);
			goto fail;
		}
	}
	if (!cJSON_AddItemToObject(event, "source", source_object(ev->rec)))
		goto fail;
	if (ev->rec->flags & PH_F_ARG_COUNT_MISMATCH) {
		if (!flags.obj && !(flags.obj = cJSON_CreateObject()))
			goto fail;
		cJSON_AddTrueToObject(flags.obj, "arg_count_mismatch");
	}
	if (flags.obj && !cJSON_AddItemToObject(event, "flags", flags.obj))
		goto fail;
	return event;
fail:
	cJSON_Delete(flags.obj);
	cJSON_Delete(event);
	return NULL;
}

#define FIT_ROUNDS 32   /* each round cuts the largest field; a handful suffice */
#define FIT_SLACK 16    /* bytes cut beyond the excess, for escapes that grow */

/* A field's text as it would be cut: a string's value, or JSON printed. */
static char *field_text(const cJSON *value)
{
	if (cJSON_IsString(value))
		return strdup(value->valuestring);
	return cJSON_PrintUnformatted(value);
}

/* The data field whose printed form is largest, and that size.  agent_id is
 * never cut: receivers route and deduplicate by it. */
static cJSON *largest_field(cJSON *data, size_t *size)
{
	cJSON *item, *best = NULL;

	*size = 0;
	cJSON_ArrayForEach(item, data) {
		char *text;
		size_t len;

		if (strcmp(item->string, "agent_id") == 0)
			continue;
		text = cJSON_PrintUnformatted(item);
		len = text ? strlen(text) : 0;

		free(text);
		if (len > *size) {
			*size = len;
			best = item;
		}
	}
	return best;
}

/* Keep about keep of text's len bytes, backing off to a UTF-8 boundary. */
static void cut_utf8(char *text, size_t keep)
{
	size_t len = strlen(text);

	if (keep >= len)
		return;
	/* continuation bytes are 10xxxxxx: never stop before one */
	while (keep > 0 && ((unsigned char)text[keep] & 0xc0) == 0x80)
		keep--;
	text[keep] = '\0';
}

/* Shrink data's largest field so the body loses about excess bytes. */
static int cut_largest(cJSON *data, size_t excess, struct event_flags *flags)
{
	size_t printed, len, keep;
	cJSON *field, *cut;
	char *text;
	int err;

	field = largest_field(data, &printed);
	/* a field printed as "" is 2 bytes: nothing left to take */
	if (!field || printed <= 2)
		return -E2BIG;
	text = field_text(field);
	if (!text)
		return -ENOMEM;
	/* escapes make printed > len: scale the cut to the raw text */
	len = strlen(text);
	keep = printed > excess + FIT_SLACK ? len * (printed - excess - FIT_SLACK) / printed : 0;
	if (keep >= len && len)
		keep = len - 1;
	cut_utf8(text, keep);
	cut = cJSON_CreateString(text);
	free(text);
	if (!cut)
		return -ENOMEM;
	err = flag_field(flags, "truncated", field->string);
	/* by name: replacing via pointer would leave the new item without its key */
	if (!err && !cJSON_ReplaceItemInObjectCaseSensitive(data, field->string, cut))
		err = -ENOMEM;
	if (err)
		cJSON_Delete(cut);
	return err;
}

int event_fit(cJSON *event, size_t max_bytes, char **out)
{
	cJSON *data = cJSON_GetObjectItemCaseSensitive(event, "data");
	struct event_flags flags = { cJSON_GetObjectItemCaseSensitive(event, "flags") };
	bool had_flags = flags.obj != NULL;
	char *body;
	int err = 0;

	*out = NULL;
	for (int round = 0;; round++) {
		body = cJSON_PrintUnformatted(event);
		if (!body)
			return -ENOMEM;
		if (strlen(body) <= max_bytes)
			break;
		if (round == FIT_ROUNDS) {
			err = -E2BIG;
			break;
		}
		err = cut_largest(data, strlen(body) - max_bytes, &flags);
		/* a new flags object belongs in the event from now on */
		if (!had_flags && flags.obj) {
			had_flags = true;
			if (!cJSON_AddItemToObject(event, "flags", flags.obj)) {
				cJSON_Delete(flags.obj);
				err = -ENOMEM;
			}
		}
		if (err == -E2BIG)
			break; /* body is the smallest there is */
		if (err) {
			free(body);
			return err;
		}
		free(body);
	}
	*out = body;
	return err;
}

static bool number_char(char c)
{
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/*
 * The next number literal in valid JSON text from *pos (outside strings, a
 * number is the only token that starts with '-' or a digit), or NULL.
 * *pos moves past it.
 */
static const char *next_number(const char **pos, const char *end, size_t *len)
{
	bool in_string = false;

	for (const char *p = *pos; p < end; p++) {
		if (in_string) {
			if (*p == '\\')
				p++;
			else if (*p == '"')
				in_string = false;
		} else if (*p == '"') {
			in_string = true;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			const char *start = p;

			while (p < end && number_char(*p))
				p++;
			*len = (size_t)(p - start);
			*pos = p;
			return start;
		}
	}
	return NULL;
}

/* cJSON keeps members in document order, the order of the literals in text. */
static int keep_literals(cJSON *item, const char **pos, const char *end)
{
	for (; item; item = item->next) {
		const char *literal;
		char *copy;
		size_t len;
		int err;

		if (item->child && (err = keep_literals(item->child, pos, end)))
			return err;
		if (!cJSON_IsNumber(item))
			continue;
		literal = next_number(pos, end, &len);
		if (!literal)
			return -EINVAL;
		/* cJSON_Delete frees valuestring with cJSON's allocator */
		copy = cJSON_malloc(len + 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, literal, len);
		copy[len] = '\0';
		item->type = (item->type & ~0xff) | cJSON_Raw;
		item->valuestring = copy;
	}
	return 0;
}

int event_parse(const char *body, size_t len, cJSON **out)
{
	const char *end = NULL, *pos = body;
	cJSON *event = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	int err = 0;

	*out = NULL;
	if (!cJSON_IsObject(event))
		err = -EINVAL;
	/* only the whole text counts: cJSON would take "{} junk" as {} */
	for (; !err && end < body + len; end++)
		if (*end != ' ' && *end != '\t' && *end != '\n' && *end != '\r')
			err = -EINVAL;
	if (!err)
		err = keep_literals(event, &pos, body + len);
	if (err) {
		cJSON_Delete(event);
		return err;
	}
	*out = event;
	return 0;
}

char *event_agent_id(const struct decoded_event *ev)
{
	const struct decoded_arg *arg = &ev->args[0];
	int replaced;

	if (arg->state != ARG_OK && arg->state != ARG_TRUNCATED)
		return NULL;
	return utf8_sanitize(arg->text, arg->len, &replaced);
}

/* "msg_" and the first 16 bytes of SHA-256(identity), in hex. */
static void id_from(const char *identity, size_t len, char out[EVENT_ID_LEN])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int digest_len = 0, i;

	EVP_Digest(identity, len, digest, &digest_len, EVP_sha256(), NULL);
	memcpy(out, "msg_", 4);
	/* by hand: 16 snprintf calls per event showed in the profile */
	for (i = 0; i < 16; i++) {
		out[4 + 2 * i] = hex[digest[i] >> 4];
		out[5 + 2 * i] = hex[digest[i] & 15];
	}
	out[36] = '\0';
}

void event_id(const struct ph_record *rec, const char *boot_id, char out[EVENT_ID_LEN])
{
	char identity[160];
	int n = snprintf(identity, sizeof(identity), "%s/%u/%" PRIu64 "/%" PRIu64 "/%u", boot_id,
			 rec->pid, (uint64_t)rec->seq, (uint64_t)rec->boot_ns, rec->probe_id);

	id_from(identity, (size_t)n, out);
}

void event_gap_id(const struct ph_record *rec, const char *boot_id, char out[EVENT_ID_LEN])
{
	char identity[160];
	int n = snprintf(identity, sizeof(identity), "%s/%u/%" PRIu64 "/%" PRIu64 "/gap", boot_id,
			 rec->pid, (uint64_t)rec->seq, (uint64_t)rec->boot_ns);

	id_from(identity, (size_t)n, out);
}

cJSON *event_build_gap(const struct ph_record *rec, int64_t boot_to_unix_ns)
{
	char stamp[RFC3339_LEN];
	cJSON *event = cJSON_CreateObject(), *data;
	int64_t unix_ns = 0;

	if (!event)
		return NULL;
	if (rec->boot_ns <= INT64_MAX)
		__builtin_add_overflow((int64_t)rec->boot_ns, boot_to_unix_ns, &unix_ns);
	rfc3339_from_unix_ns(unix_ns, stamp);
	if (!cJSON_AddStringToObject(event, "type", EVENT_TYPE_GAP) ||
	    !cJSON_AddStringToObject(event, "timestamp", stamp) ||
	    !(data = cJSON_AddObjectToObject(event, "data")) ||
	    !cJSON_AddItemToObject(data, "lost", int_value((int64_t)rec->lost_before)) ||
	    !cJSON_AddStringToObject(data, "reason", "ring_buffer_full") ||
	    !cJSON_AddItemToObject(event, "source", source_object(rec))) {
		cJSON_Delete(event);
		return NULL;
	}
	return event;
}
