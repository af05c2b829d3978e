// SPDX-License-Identifier: MIT
/* Event JSON: the catalog's fields, the flags, hostile bytes, ids, times. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "check.h"
#include "event.h"
#include "utf8.h"
#include "record_builder.h"
#include "timefmt.h"

/* boot_ns 1 s + this offset = 2026-11-25T15:10:05.123456Z */
#define OFFSET_NS (1795619405123456000LL - 1000000000LL)

static cJSON *build(unsigned int id, const struct test_arg *args)
{
	struct decoded_event ev;
	struct ph_record *rec;
	cJSON *event = NULL;
	size_t size;

	rec = build_record(id, args, &size);
	if (decode_record(rec, size, &ev, NULL) == 0)
		event = event_build(&ev, OFFSET_NS);
	/* the event must not point into the record */
	memset(rec, 0xaa, size);
	free(rec);
	return event;
}

static const char *str_at(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, a);

	if (b)
		item = cJSON_GetObjectItemCaseSensitive(item, b);
	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static char *printed(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, a);

	if (b)
		item = cJSON_GetObjectItemCaseSensitive(item, b);
	return item ? cJSON_PrintUnformatted(item) : NULL;
}

static void check_printed(const cJSON *obj, const char *a, const char *b, const char *want)
{
	char *got = printed(obj, a, b);

	CHECK_STR_EQ(got, want);
	free(got);
}

static void test_step_completed(void)
{
	const struct test_arg args[] = {
		{ .text = "agent-42" }, { .text = "step-1" }, { .text = "completed" },
		{ .text = "{\"total_tokens\":30,\"prompt_tokens\":10}" },
		{ .text = "[{\"id\":\"call_1\",\"type\":\"function\"}]" },
	};
	cJSON *ev = build(0, args);

	CHECK(ev != NULL);
	CHECK_STR_EQ(str_at(ev, "type", NULL), "agent.step.completed");
	CHECK_STR_EQ(str_at(ev, "timestamp", NULL), "2026-11-25T15:10:05.123456Z");
	CHECK_STR_EQ(str_at(ev, "data", "agent_id"), "agent-42");
	CHECK_STR_EQ(str_at(ev, "data", "step_id"), "step-1");
	CHECK_STR_EQ(str_at(ev, "data", "status"), "completed");
	check_printed(ev, "data", "usage", "{\"total_tokens\":30,\"prompt_tokens\":10}");
	check_printed(ev, "data", "tool_calls", "[{\"id\":\"call_1\",\"type\":\"function\"}]");
	check_printed(ev, "source", NULL,
		      "{\"pid\":4242,\"tid\":4243,\"comm\":\"agent-server\",\"seq\":7}");
	CHECK(cJSON_GetObjectItemCaseSensitive(ev, "flags") == NULL);
	cJSON_Delete(ev);
}

static void test_numbers_and_times(void)
{
	const struct test_arg tool[] = {
		{ .text = "a" }, { .text = "web_search" }, { .text = "{\"q\":1}" },
		{ .text = "success" }, { .value = 1234567 },
	};
	const struct test_arg run[] = {
		{ .text = "a" }, { .text = "run-1" }, { .text = "completed" },
		{ .value = 1795619405000000000LL }, { .text = "null" },
	};
	const struct test_arg msg[] = {
		{ .text = "a" }, { .text = NULL }, { .value = INT64_MAX }, { .text = "null" },
	};
	const struct test_arg early_time[] = {
		{ .text = "a" }, { .text = "job-1" }, { .text = "failed" }, { .value = INT64_MIN },
	};
	cJSON *ev;

	ev = build(5, tool);
	check_printed(ev, "data", "execution_time_ms", "1234.567");
	cJSON_Delete(ev);

	ev = build(6, run);
	CHECK_STR_EQ(str_at(ev, "data", "completed_at"), "2026-11-25T15:10:05.000000Z");
	check_printed(ev, "data", "usage", "null");
	cJSON_Delete(ev);

	ev = build(4, msg);
	check_printed(ev, "data", "run_id", "null");
	/* all 64 bits survive: no detour through a double */
	check_printed(ev, "data", "message_count", "9223372036854775807");
	cJSON_Delete(ev);

	/* int64 nanoseconds span 1677..2262: every value has an RFC 3339 form */
	ev = build(7, early_time);
	CHECK_STR_EQ(str_at(ev, "data", "completed_at"), "1677-09-21T00:12:43.145224Z");
	CHECK(cJSON_GetObjectItemCaseSensitive(ev, "flags") == NULL);
	cJSON_Delete(ev);
}

static void test_hostile_strings(void)
{
	const struct test_arg args[] = {
		{ .text = "agent\"\\\n\x01" },                     /* quotes, backslash, controls */
		{ .text = "tool-\xff\xfe" },                          /* invalid UTF-8 */
		{ .text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80" }, /* valid UTF-8 */
	};
	const struct test_arg json[] = {
		{ .text = "a" }, { .text = "s" }, { .text = "done" },
		{ .text = "{\"usage\": tru", .truncated = 1 }, { .unreadable = 1 },
	};
	cJSON *ev, *reparsed;
	char *text;

	ev = build(2, args);
	CHECK_STR_EQ(str_at(ev, "data", "agent_id"), "agent\"\\\n\x01");
	CHECK_STR_EQ(str_at(ev, "data", "tool_id"), "tool-\xef\xbf\xbd\xef\xbf\xbd");
	CHECK_STR_EQ(str_at(ev, "data", "tool_name"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	check_printed(ev, "flags", NULL, "{\"invalid_utf8\":[\"tool_id\"]}");
	text = cJSON_PrintUnformatted(ev);
	reparsed = cJSON_Parse(text); /* the body is valid JSON whatever came in */
	CHECK(reparsed != NULL);
	CHECK(strstr(text, "\\u0001") != NULL);
	free(text);
	cJSON_Delete(reparsed);
	cJSON_Delete(ev);

	ev = build(0, json);
	CHECK_STR_EQ(str_at(ev, "data", "usage"), "{\"usage\": tru");
	check_printed(ev, "data", "tool_calls", "null");
	check_printed(ev, "flags", NULL,
		      "{\"truncated\":[\"usage\"],\"invalid_json\":[\"usage\"],"
		      "\"unreadable\":[\"tool_calls\"]}");
	cJSON_Delete(ev);
}

/* Only a whole JSON text is embedded; one deeper than receivers parse is not. */
static void test_json_arguments(void)
{
	char deep_ok[2 * EVENT_JSON_DEPTH_MAX + 1], deep_bad[2 * EVENT_JSON_DEPTH_MAX + 3];
	struct test_arg args[] = {
		{ .text = "a" }, { .text = "s" }, { .text = "completed" },
		{ .text = "{\"a\":1} trailing" }, { .text = "[1] " },
	};
	cJSON *ev;

	ev = build(0, args);
	CHECK_STR_EQ(str_at(ev, "data", "usage"), "{\"a\":1} trailing");
	check_printed(ev, "data", "tool_calls", "[1]");
	check_printed(ev, "flags", NULL, "{\"invalid_json\":[\"usage\"]}");
	cJSON_Delete(ev);

	memset(deep_ok, '[', EVENT_JSON_DEPTH_MAX);
	memset(deep_ok + EVENT_JSON_DEPTH_MAX, ']', EVENT_JSON_DEPTH_MAX);
	deep_ok[2 * EVENT_JSON_DEPTH_MAX] = '\0';
	memset(deep_bad, '[', EVENT_JSON_DEPTH_MAX + 1);
	memset(deep_bad + EVENT_JSON_DEPTH_MAX + 1, ']', EVENT_JSON_DEPTH_MAX + 1);
	deep_bad[2 * EVENT_JSON_DEPTH_MAX + 2] = '\0';
	args[3].text = deep_ok;
	args[4].text = deep_bad;
	ev = build(0, args);
	check_printed(ev, "data", "usage", deep_ok); /* embedded as JSON, not a string */
	CHECK_STR_EQ(str_at(ev, "data", "tool_calls"), deep_bad);
	check_printed(ev, "flags", NULL, "{\"too_deep\":[\"tool_calls\"]}");
	cJSON_Delete(ev);
}

/* A valid string cut at the cap inside a character loses the character. */
static void test_truncated_utf8(void)
{
	const struct test_arg args[] = {
		{ .text = "caf\xc3", .truncated = 1 },          /* é cut after its lead byte */
		{ .text = "\xf0\x9f\x98", .truncated = 1 },     /* an emoji cut after 3 of 4 */
		{ .text = "bad \xe0\x80", .truncated = 1 },     /* overlong: malformed, not cut */
	};
	cJSON *ev = build(2, args);

	CHECK_STR_EQ(str_at(ev, "data", "agent_id"), "caf");
	CHECK_STR_EQ(str_at(ev, "data", "tool_id"), "");
	CHECK_STR_EQ(str_at(ev, "data", "tool_name"), "bad \xef\xbf\xbd\xef\xbf\xbd");
	check_printed(ev, "flags", NULL,
		      "{\"truncated\":[\"agent_id\",\"tool_id\",\"tool_name\"],"
		      "\"invalid_utf8\":[\"tool_name\"]}");
	cJSON_Delete(ev);
}

static void test_utf8_complete_len(void)
{
	static const struct {
		const char *in;
		size_t want;
	} cases[] = {
		{ "", 0 }, { "abc", 3 }, { "caf\xc3\xa9", 5 }, { "caf\xc3", 3 },
		{ "x\xe2\x82", 1 }, { "x\xe0", 1 }, { "x\xe0\x80", 3 } /* overlong */,
		{ "x\xed\xa0", 3 } /* surrogate */, { "x\xf0\x9f\x98", 1 }, { "x\xf4", 1 },
		{ "x\xf4\x90", 3 } /* past U+10FFFF */, { "x\x80\x80\x80", 4 }, { "x\xff", 2 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t got = utf8_complete_len(cases[i].in, strlen(cases[i].in));

		if (got != cases[i].want)
			fprintf(stderr, "utf8_complete_len case %zu: %zu, want %zu\n", i, got,
				cases[i].want);
		CHECK(got == cases[i].want);
	}
}

/* JSON arguments embed as their own (minified) text, whole documents only,
 * and never with raw control characters. */
static void test_embedded_json(void)
{
	const struct test_arg spaced[] = {
		{ .text = "a" }, { .text = "s" }, { .text = "done" },
		{ .text = " { \"total\" : 12345678901234567890123 ,\n \"t\": \"a b\" } " },
		{ .text = "[ 1, 2.50, -3e2 ]" },
	};
	const struct test_arg bad[] = {
		{ .text = "a" }, { .text = "s" }, { .text = "done" },
		{ .text = "{} trailing" }, { .text = "[\"line\nbreak\"]" },
	};
	cJSON *ev, *reparsed;
	char *text;

	ev = build(0, spaced);
	/* every digit kept, spacing gone, strings untouched */
	check_printed(ev, "data", "usage", "{\"total\":12345678901234567890123,\"t\":\"a b\"}");
	check_printed(ev, "data", "tool_calls", "[1,2.50,-3e2]");
	CHECK(cJSON_GetObjectItemCaseSensitive(ev, "flags") == NULL);
	cJSON_Delete(ev);

	ev = build(0, bad);
	/* a JSON value followed by more is not JSON */
	CHECK_STR_EQ(str_at(ev, "data", "usage"), "{} trailing");
	/* a raw newline inside a string: embedded, but escaped */
	check_printed(ev, "data", "tool_calls", "[\"line\\nbreak\"]");
	check_printed(ev, "flags", NULL, "{\"invalid_json\":[\"usage\"]}");
	text = cJSON_PrintUnformatted(ev);
	reparsed = cJSON_Parse(text);
	CHECK(reparsed != NULL);
	free(text);
	cJSON_Delete(reparsed);
	cJSON_Delete(ev);
}

static void test_utf8_sanitize(void)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
		int replaced;
	} cases[] = {
		{ "plain", 5, "plain", 0 },
		{ "\xc0\xaf", 2, "\xef\xbf\xbd\xef\xbf\xbd", 1 },         /* overlong '/' */
		{ "\xed\xa0\x80", 3, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 1 }, /* surrogate */
		{ "\xf4\x90\x80\x80", 4, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd", 1 },
		{ "a\0b", 3, "a\xef\xbf\xbd" "b", 1 },                     /* embedded NUL */
		{ "\xe2\x82", 2, "\xef\xbf\xbd\xef\xbf\xbd", 1 },          /* cut sequence */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int replaced = -1;
		char *out = utf8_sanitize(cases[i].in, cases[i].len, &replaced);

		CHECK_STR_EQ(out, cases[i].out);
		CHECK(replaced == cases[i].replaced);
		free(out);
	}
}

static void test_event_id(void)
{
	const struct test_arg args[] = { { .text = "a" }, { .text = "t" } };
	char a[EVENT_ID_LEN], b[EVENT_ID_LEN], c[EVENT_ID_LEN];
	struct ph_record *rec;
	size_t size;

	rec = build_record(3, args, &size);
	event_id(rec, "boot-1", a);
	event_id(rec, "boot-1", b);
	CHECK_STR_EQ(a, b); /* stable: receivers deduplicate on it */
	CHECK(strlen(a) == EVENT_ID_LEN - 1 && strncmp(a, "msg_", 4) == 0);
	rec->seq++;
	event_id(rec, "boot-1", c);
	CHECK(strcmp(a, c) != 0);
	rec->seq--;
	event_id(rec, "boot-2", c);
	CHECK(strcmp(a, c) != 0);
	free(rec);
}

/* A loss report: its own type and id, the count, the process it came from. */
static void test_gap_event(void)
{
	const struct test_arg args[] = { { .text = "a" }, { .text = "t" } };
	char record_id[EVENT_ID_LEN], gap_id[EVENT_ID_LEN], again[EVENT_ID_LEN];
	struct ph_record *rec;
	cJSON *ev;
	size_t size;

	rec = build_record(3, args, &size);
	rec->lost_before = 1234;
	ev = event_build_gap(rec, OFFSET_NS);
	CHECK(ev != NULL);
	CHECK_STR_EQ(str_at(ev, "type", NULL), "probehook.gap");
	CHECK_STR_EQ(str_at(ev, "timestamp", NULL), "2026-11-25T15:10:05.123456Z");
	check_printed(ev, "data", NULL, "{\"lost\":1234,\"reason\":\"ring_buffer_full\"}");
	check_printed(ev, "source", NULL,
		      "{\"pid\":4242,\"tid\":4243,\"comm\":\"agent-server\",\"seq\":7}");
	cJSON_Delete(ev);
	event_id(rec, "boot-1", record_id);
	event_gap_id(rec, "boot-1", gap_id);
	event_gap_id(rec, "boot-1", again);
	CHECK(strcmp(record_id, gap_id) != 0); /* both are delivered */
	CHECK_STR_EQ(gap_id, again);           /* read twice, deduplicated */
	free(rec);
}

static void test_agent_id(void)
{
	const struct test_arg ok[] = { { .text = "agent-\xff" }, { .text = "t" } };
	const struct test_arg null[] = { { .text = NULL }, { .text = "t" } };
	struct decoded_event ev;
	struct ph_record *rec;
	char *agent;
	size_t size;

	/* matching sees the same agent id the body will carry */
	rec = build_record(3, ok, &size);
	CHECK(decode_record(rec, size, &ev, NULL) == 0);
	agent = event_agent_id(&ev);
	CHECK_STR_EQ(agent, "agent-\xef\xbf\xbd");
	free(agent);
	free(rec);
	rec = build_record(3, null, &size);
	CHECK(decode_record(rec, size, &ev, NULL) == 0);
	CHECK(event_agent_id(&ev) == NULL);
	free(rec);
}

/* Found by fuzz_decode: a boot time near 2^63 overflowed the wall-clock sum. */
static void test_impossible_boot_time(void)
{
	const struct test_arg args[] = { { .text = "a" }, { .text = "t" } };
	struct decoded_event ev;
	struct ph_record *rec;
	cJSON *event;
	size_t size;

	static const uint64_t impossible[] = { INT64_MAX - 1000, UINT64_MAX - 1000 };

	rec = build_record(3, args, &size);
	for (size_t i = 0; i < sizeof(impossible) / sizeof(impossible[0]); i++) {
		rec->boot_ns = impossible[i];
		CHECK(decode_record(rec, size, &ev, NULL) == 0);
		event = event_build(&ev, OFFSET_NS);
		CHECK(event != NULL);
		CHECK_STR_EQ(str_at(event, "timestamp", NULL), "1970-01-01T00:00:00.000000Z");
		check_printed(event, "flags", NULL, "{\"out_of_range\":[\"timestamp\"]}");
		cJSON_Delete(event);
	}
	free(rec);
}

static void test_rfc3339(void)
{
	char out[RFC3339_LEN];

	CHECK(rfc3339_from_unix_ns(0, out) == 0);
	CHECK_STR_EQ(out, "1970-01-01T00:00:00.000000Z");
	CHECK(rfc3339_from_unix_ns(-1, out) == 0);
	CHECK_STR_EQ(out, "1969-12-31T23:59:59.999999Z");
	CHECK(rfc3339_from_unix_ns(INT64_MAX, out) == 0); /* year 2262 */
	CHECK_STR_EQ(out, "2262-04-11T23:47:16.854775Z");
}

/* An event with data fields of the given sizes: "big" a string of n bytes of
 * fill, "obj" a JSON object of about m bytes, "small" untouched. */
static cJSON *event_with(size_t n, const char *fill, size_t m)
{
	cJSON *event = cJSON_CreateObject(), *data, *obj;
	size_t fill_len = strlen(fill);
	char *big = malloc(n + 1), key[16];

	CHECK(event && big);
	for (size_t i = 0; i + fill_len <= n; i += fill_len)
		memcpy(big + i, fill, fill_len);
	big[n / fill_len * fill_len] = '\0';
	cJSON_AddStringToObject(event, "type", "tool.execution.completed");
	data = cJSON_AddObjectToObject(event, "data");
	cJSON_AddStringToObject(data, "small", "agent-42");
	cJSON_AddStringToObject(data, "big", big);
	obj = cJSON_AddObjectToObject(data, "obj");
	for (size_t i = 0; i * 20 < m; i++) {
		snprintf(key, sizeof(key), "k%zu", i);
		cJSON_AddStringToObject(obj, key, "vvvvvvvvvv");
	}
	cJSON_AddNumberToObject(data, "n", 7);
	free(big);
	return event;
}

static bool listed(const cJSON *event, const char *flag, const char *field)
{
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(event, "flags"), flag);
	const cJSON *item;
	int seen = 0;

	cJSON_ArrayForEach(item, list)
		seen += cJSON_IsString(item) && strcmp(item->valuestring, field) == 0;
	return seen == 1;
}

static void test_fit(void)
{
	cJSON *event, *parsed;
	char *body = NULL, *whole;

	/* fits already: unchanged, no flags */
	event = event_with(100, "x", 100);
	whole = cJSON_PrintUnformatted(event);
	CHECK(event_fit(event, 4096, &body) == 0);
	CHECK_STR_EQ(body, whole);
	CHECK(!cJSON_GetObjectItemCaseSensitive(event, "flags"));
	free(body);
	free(whole);
	cJSON_Delete(event);

	/* two big fields: both cut, flagged, valid JSON, the rest intact */
	event = event_with(6000, "x", 3000);
	CHECK(event_fit(event, 2000, &body) == 0);
	CHECK(body && strlen(body) <= 2000 && strlen(body) > 1500);
	parsed = body ? cJSON_Parse(body) : NULL;
	CHECK(parsed != NULL);
	CHECK_STR_EQ(str_at(parsed, "data", "small"), "agent-42");
	CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(parsed, "data"), "obj")));
	CHECK(strncmp(str_at(parsed, "data", "obj") ?: "", "{\"k0\":\"vvvvvvvvvv\"", 18) == 0);
	CHECK(listed(parsed, "truncated", "big"));
	CHECK(listed(parsed, "truncated", "obj"));
	CHECK(!listed(parsed, "truncated", "small"));
	cJSON_Delete(parsed);
	free(body);
	cJSON_Delete(event);

	/* multi-byte text is cut on a character boundary; escapes still fit */
	event = event_with(9000, "\xc3\xa9\xe2\x82\xac\"", 10);
	CHECK(event_fit(event, 1500, &body) == 0);
	CHECK(body && strlen(body) <= 1500 && utf8_valid(body, strlen(body)));
	parsed = body ? cJSON_Parse(body) : NULL;
	CHECK(parsed && str_at(parsed, "data", "big"));
	if (parsed && str_at(parsed, "data", "big")) {
		const char *big = str_at(parsed, "data", "big");

		CHECK(strlen(big) > 500 && utf8_valid(big, strlen(big)));
	}
	cJSON_Delete(parsed);
	free(body);
	cJSON_Delete(event);

	/* agent_id is never cut, even when it is the largest field */
	event = event_with(300, "x", 10);
	{
		char id[700];

		memset(id, 'a', sizeof(id) - 1);
		id[sizeof(id) - 1] = '\0';
		cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(event, "data"), "agent_id",
					id);
		CHECK(event_fit(event, 900, &body) == 0);
		parsed = body ? cJSON_Parse(body) : NULL;
		CHECK(parsed && strcmp(str_at(parsed, "data", "agent_id") ?: "", id) == 0);
		CHECK(parsed && listed(parsed, "truncated", "big"));
		CHECK(parsed && !listed(parsed, "truncated", "agent_id"));
		cJSON_Delete(parsed);
		free(body);
		/* and when nothing else is left, the body stays over the cap */
		CHECK(event_fit(event, 600, &body) == -E2BIG);
		CHECK(body && strstr(body, id));
		free(body);
	}
	cJSON_Delete(event);

	/* an earlier flag is not listed twice */
	event = event_with(5000, "y", 10);
	cJSON_AddItemToArray(cJSON_AddArrayToObject(cJSON_AddObjectToObject(event, "flags"),
						    "truncated"),
			     cJSON_CreateString("big"));
	CHECK(event_fit(event, 1024, &body) == 0);
	CHECK(listed(event, "truncated", "big"));
	free(body);
	cJSON_Delete(event);

	/* too small to fit at all: the smallest body there is, still JSON */
	event = event_with(5000, "z", 500);
	CHECK(event_fit(event, 20, &body) == -E2BIG);
	parsed = body ? cJSON_Parse(body) : NULL;
	CHECK(parsed != NULL);
	CHECK_STR_EQ(str_at(parsed, "data", "big"), "");
	cJSON_Delete(parsed);
	free(body);
	cJSON_Delete(event);
}

/* A spooled body parsed back prints as it was and is cut as its event would be. */
static void test_parse_back(void)
{
	char usage[2048];
	const struct test_arg msg[] = {
		{ .text = "agent-9" }, { .text = "run-\"1\"\n" }, { .value = INT64_MAX },
		{ .text = usage },
	};
	const struct test_arg tool[] = {
		{ .text = "agent-9" }, { .text = "grep" }, { .text = "[-0.0, 1E+2, -12e-3]" },
		{ .text = "ok" }, { .value = 1500 },
	};
	const char *const junk[] = { "", "[1, 2]", "{\"a\":1} x", "{\"a\":", "\"s\"" };
	cJSON *ev, *back;
	char *whole, *again, *cut, *cut_back;

	/* 64-bit integers, 1e999, 1.500 and spelled-out exponents a double would change */
	snprintf(usage, sizeof(usage),
		 "{\"n\":18446744073709551615,\"big\":1e999,\"x\":1.500,\"s\":\"%0900d\","
		 "\"t\":\"%0900d\"}", 7, 8);
	for (int i = 0; i < 2; i++) {
		ev = i ? build(5, tool) : build(4, msg);
		whole = cJSON_PrintUnformatted(ev);
		CHECK(whole && event_parse(whole, strlen(whole), &back) == 0);
		again = back ? cJSON_PrintUnformatted(back) : NULL;
		CHECK_STR_EQ(again, whole);
		CHECK(event_fit(ev, 600, &cut) == 0);
		CHECK(back && event_fit(back, 600, &cut_back) == 0);
		CHECK_STR_EQ(cut_back, cut);
		free(cut);
		free(cut_back);
		free(again);
		free(whole);
		cJSON_Delete(back);
		cJSON_Delete(ev);
	}
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		CHECK(event_parse(junk[i], strlen(junk[i]), &back) == -EINVAL);
		CHECK(back == NULL);
	}
	/* the length counts, not a NUL: a spooled body has none */
	CHECK(event_parse("{\"a\":12}{", 8, &back) == 0);
	again = back ? cJSON_PrintUnformatted(back) : NULL;
	CHECK_STR_EQ(again, "{\"a\":12}");
	free(again);
	cJSON_Delete(back);
}

int main(void)
{
	test_fit();
	test_parse_back();
	test_step_completed();
	test_numbers_and_times();
	test_hostile_strings();
	test_json_arguments();
	test_truncated_utf8();
	test_utf8_complete_len();
	test_embedded_json();
	test_utf8_sanitize();
	test_event_id();
	test_gap_event();
	test_agent_id();
	test_impossible_boot_time();
	test_rfc3339();
	return check_summary("test_event");
}
