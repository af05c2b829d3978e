// SPDX-License-Identifier: MIT
/* The attempt log: lines that are JSON, queries by event, endpoint and
 * outcome (newest first, with a limit), rotation, a torn last line. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "attemptlog.h"
#include "check.h"
#include "tmpdir.h"

static char dir[PATH_MAX];

static struct attemptlog *open_log(uint64_t max_bytes)
{
	struct attemptlog_options o = { .dir = dir, .max_bytes = max_bytes };
	struct attemptlog *al = NULL;

	CHECK(attemptlog_open(&al, &o) == 0);
	return al;
}

/* Attempt i of event "msg_<ev>" to endpoint ep. */
static int log_attempt(struct attemptlog *al, unsigned int ev, const char *ep, unsigned int i,
		       enum attempt_outcome outcome)
{
	char id[32];
	struct attempt a;

	snprintf(id, sizeof(id), "msg_%u", ev);
	a = (struct attempt){ .webhook_id = id, .endpoint_id = ep,
			      .time_ms = 1795619405000ull + ev * 1000 + i, .attempt = i,
			      .status = outcome == ATTEMPT_DELIVERED ? 200 : 503,
			      .error = outcome == ATTEMPT_DELIVERED ? NULL : "Service Unavailable",
			      .latency_us = 1000 + i, .outcome = outcome };
	return attemptlog_append(al, &a);
}

struct found {
	char ids[64][32];
	unsigned int attempts[64];
	enum attempt_outcome outcomes[64];
	uint64_t times[64];
	size_t count;
};

static int on_attempt(void *ctx, const struct attempt *a)
{
	struct found *f = ctx;

	if (f->count == 64)
		return -E2BIG;
	snprintf(f->ids[f->count], 32, "%s", a->webhook_id);
	f->attempts[f->count] = a->attempt;
	f->outcomes[f->count] = a->outcome;
	f->times[f->count] = a->time_ms;
	f->count++;
	return 0;
}

static struct found query(struct attemptlog *al, const char *id, const char *ep,
			  enum attempt_outcome outcome, size_t limit)
{
	struct attemptlog_query q = { .webhook_id = id, .endpoint_id = ep, .outcome = outcome,
				      .limit = limit };
	struct found f = { .count = 0 };

	CHECK(attemptlog_query(al, &q, on_attempt, &f) == 0);
	return f;
}

static void test_query(void)
{
	struct attemptlog *al;
	struct found f;
	unsigned int ev;
	int ok = 1;

	al = open_log(0);
	/* events 1..10: two failed attempts to ops, then delivered; one to audit */
	for (ev = 1; ev <= 10; ev++) {
		ok &= log_attempt(al, ev, "ops", 1, ATTEMPT_RETRY) == 0;
		ok &= log_attempt(al, ev, "ops", 2, ATTEMPT_RETRY) == 0;
		ok &= log_attempt(al, ev, "ops", 3,
				  ev == 7 ? ATTEMPT_DEAD : ATTEMPT_DELIVERED) == 0;
		ok &= log_attempt(al, ev, "audit", 1, ATTEMPT_DELIVERED) == 0;
	}
	CHECK(ok);

	f = query(al, "msg_3", NULL, ATTEMPT_ANY, 0);
	CHECK(f.count == 4 && f.attempts[0] == 1 && f.attempts[1] == 3 && f.attempts[3] == 1);
	/* newest first */
	CHECK(f.count == 4 && f.times[1] > f.times[2] && f.times[2] > f.times[3]);
	/* "msg_1" must not match msg_10 */
	f = query(al, "msg_1", "ops", ATTEMPT_ANY, 0);
	CHECK(f.count == 3);
	f = query(al, NULL, "audit", ATTEMPT_ANY, 0);
	CHECK(f.count == 10 && strcmp(f.ids[0], "msg_10") == 0);
	f = query(al, NULL, NULL, ATTEMPT_DEAD, 0);
	CHECK(f.count == 1 && strcmp(f.ids[0], "msg_7") == 0 && f.outcomes[0] == ATTEMPT_DEAD);
	f = query(al, NULL, "ops", ATTEMPT_RETRY, 3);
	CHECK(f.count == 3 && strcmp(f.ids[0], "msg_10") == 0 && f.attempts[0] == 2);
	f = query(al, "msg_99", NULL, ATTEMPT_ANY, 0);
	CHECK(f.count == 0);
	attemptlog_close(al);

	/* a reopen keeps them */
	al = open_log(0);
	CHECK(query(al, NULL, NULL, ATTEMPT_ANY, 0).count == 40);
	attemptlog_close(al);
	tmpdir_empty(dir);
}

/* Every line is a JSON object with the documented fields; errors are
 * bounded and made valid UTF-8. */
static void test_lines(void)
{
	char error[1000], path[PATH_MAX], line[4096];
	struct attemptlog *al;
	struct attempt a;
	cJSON *o;
	FILE *f;
	int lines = 0;

	memset(error, 'e', sizeof(error) - 1);
	error[sizeof(error) - 1] = '\0';
	error[5] = (char)0xff; /* not UTF-8 */
	al = open_log(0);
	a = (struct attempt){ .webhook_id = "msg_\"quoted\"", .endpoint_id = "ops",
			      .time_ms = 1795619405123ull, .attempt = 1, .status = 0,
			      .error = error, .latency_us = 15000000, .outcome = ATTEMPT_RETRY };
	CHECK(attemptlog_append(al, &a) == 0);
	a.status = 410;
	a.error = NULL;
	a.outcome = ATTEMPT_DEAD;
	CHECK(attemptlog_append(al, &a) == 0);
	a.outcome = ATTEMPT_ANY;
	CHECK(attemptlog_append(al, &a) == -EINVAL);
	a.outcome = ATTEMPT_DELIVERED;
	a.endpoint_id = "";
	CHECK(attemptlog_append(al, &a) == -EINVAL);
	attemptlog_close(al);

	CHECK(tmpdir_path(path, dir, ATTEMPTLOG_FILE) == 0);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		const cJSON *err;

		o = cJSON_Parse(line);
		CHECK(o != NULL);
		CHECK_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(o, "time")),
			     "2026-11-25T15:10:05.123000Z");
		CHECK_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(o, "webhook_id")),
			     "msg_\"quoted\"");
		CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "latency_us")) == 15000000);
		err = cJSON_GetObjectItem(o, "error");
		if (lines == 0) {
			CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "status")));
			CHECK_STR_EQ(cJSON_GetStringValue(cJSON_GetObjectItem(o, "outcome")),
				     "retry");
			/* 256 bytes kept, the bad byte replaced */
			CHECK(cJSON_IsString(err) && strlen(err->valuestring) == 255 + 3 &&
			      strstr(err->valuestring, "\xef\xbf\xbd") != NULL);
		} else {
			CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(o, "status")) == 410);
			CHECK(err == NULL);
		}
		cJSON_Delete(o);
		lines++;
	}
	if (f)
		fclose(f);
	CHECK(lines == 2);
	tmpdir_empty(dir);
}

/* Past half the bound the log moves to attempts.log.1; queries read both;
 * older lines go at the next rotation. */
static void test_rotation(void)
{
	const uint64_t max = ATTEMPTLOG_MAX_BYTES_MIN;
	struct attemptlog_stats st;
	struct attemptlog *al;
	struct found f;
	unsigned int ev;
	int ok = 1;

	al = open_log(max);
	for (ev = 1; ev <= 1000; ev++)
		ok &= log_attempt(al, ev, "ops", 1, ATTEMPT_DELIVERED) == 0;
	CHECK(ok);
	attemptlog_stats(al, &st);
	CHECK(st.rotations >= 3 && st.appended == 1000 && st.write_errors == 0);
	CHECK(tmpdir_file_size(dir, ATTEMPTLOG_FILE) <= (long long)max / 2);
	CHECK(tmpdir_file_size(dir, ATTEMPTLOG_OLD_FILE) <= (long long)max / 2);
	CHECK(tmpdir_file_size(dir, ATTEMPTLOG_FILE) + tmpdir_file_size(dir, ATTEMPTLOG_OLD_FILE) >
	      (long long)max / 2);

	f = query(al, "msg_1000", NULL, ATTEMPT_ANY, 0);
	CHECK(f.count == 1);
	f = query(al, "msg_1", NULL, ATTEMPT_ANY, 0);
	CHECK(f.count == 0); /* rotated away */
	/* newest first, across the two files: a limit larger than the current
	 * file reaches into the old one, in order */
	f = query(al, NULL, "ops", ATTEMPT_ANY, 64);
	CHECK(f.count == 64 && strcmp(f.ids[0], "msg_1000") == 0);
	for (ev = 1; ev < f.count; ev++)
		ok &= f.times[ev] < f.times[ev - 1];
	CHECK(ok);
	attemptlog_close(al);
	tmpdir_empty(dir);
}

/* A crash mid-line: the fragment is closed off and skipped. */
static void test_torn_line(void)
{
	char path[PATH_MAX];
	struct attemptlog *al;
	int fd;

	al = open_log(0);
	CHECK(log_attempt(al, 1, "ops", 1, ATTEMPT_DELIVERED) == 0);
	attemptlog_close(al);
	CHECK(tmpdir_path(path, dir, ATTEMPTLOG_FILE) == 0);
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "{\"time\":\"20", 11) == 11);
	close(fd);

	al = open_log(0);
	CHECK(log_attempt(al, 2, "ops", 1, ATTEMPT_DELIVERED) == 0);
	CHECK(query(al, NULL, "ops", ATTEMPT_ANY, 0).count == 2);
	CHECK(query(al, "msg_2", NULL, ATTEMPT_ANY, 0).count == 1);
	attemptlog_close(al);
	tmpdir_empty(dir);
}

static void test_names(void)
{
	CHECK_STR_EQ(attempt_outcome_name(ATTEMPT_DEAD), "dead");
	CHECK(attempt_outcome_parse("retry") == ATTEMPT_RETRY);
	CHECK(attempt_outcome_parse("bogus") == ATTEMPT_ANY);
	CHECK(attempt_outcome_parse(NULL) == ATTEMPT_ANY);
}

int main(void)
{
	CHECK(tmpdir_make(dir, "test_attemptlog") != NULL);
	test_query();
	test_lines();
	test_rotation();
	test_torn_line();
	test_names();
	tmpdir_remove(dir);
	return check_summary("test_attemptlog");
}
