// SPDX-License-Identifier: MIT
/*
 * probehook-hostile: fires probes with the worst arguments a probed process
 * can pass (for tests/e2e/hostile_args.sh): bytes that are not UTF-8, JSON
 * metacharacters, control characters, strings of 1 MiB, NULL pointers,
 * pointers to nothing, extreme integers and broken JSON.  Each firing
 * carries a case name in a plain field; stdout gets one line per firing,
 * "TYPE CASE", so the test knows what was sent.
 *
 * usage: probehook-hostile [WAIT_SECONDS]  (waits until a collector attached
 * every probe it fires; exit 3 when none did in time)
 */
#define _GNU_SOURCE
#define PROBEHOOK_DEFINE_SEMAPHORES
#include <probehook/probehook.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define HUGE_LEN (1024 * 1024)
#define DEEP_LEN 10000
#define TOO_DEEP 999 /* valid JSON, but a body nested past cJSON's 1000 levels */
#define PAGE_END_LEN 100

static bool all_enabled(void)
{
	return PROBEHOOK_AGENT_STEP_FAILED_ENABLED() && PROBEHOOK_AGENT_MESSAGE_SENT_ENABLED() &&
	       PROBEHOOK_TOOL_EXECUTION_COMPLETED_ENABLED() &&
	       PROBEHOOK_AGENT_JOB_COMPLETED_ENABLED();
}

static bool wait_enabled(double seconds)
{
	const struct timespec poll = { 0, 10 * 1000 * 1000 };

	for (double waited = 0; !all_enabled(); waited += 0.01) {
		if (waited >= seconds)
			return false;
		nanosleep(&poll, NULL);
	}
	return true;
}

/* n copies of unit, NUL-terminated. */
static char *repeat(const char *unit, size_t n)
{
	size_t len = strlen(unit);
	char *s = malloc(n * len + 1);

	if (!s) {
		perror("malloc");
		exit(1);
	}
	for (size_t i = 0; i < n; i++)
		memcpy(s + i * len, unit, len);
	s[n * len] = '\0';
	return s;
}

/* n opening brackets, then n closing ones: valid JSON n levels deep. */
static char *nested(size_t n)
{
	char *s = repeat("[", 2 * n);

	memset(s + n, ']', n);
	return s;
}

/* {"k":"vvv..."}, len bytes in all. */
static char *long_json(size_t len)
{
	char *s = repeat("v", len);

	memcpy(s, "{\"k\":\"", 6);
	memcpy(s + len - 2, "\"}", 2);
	return s;
}

/* Pointers into memory the collector cannot read. */
struct bad_memory {
	const char *unmapped;  /* a page that was munmap()ed */
	const char *prot_none; /* a mapped page nobody may read */
	const char *page_end;  /* text with no NUL before an unmapped page */
};

static void bad_memory_map(struct bad_memory *m)
{
	long page = sysconf(_SC_PAGESIZE);
	char *p = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	memset(p, 'A', page);
	if (munmap(p + page, page) || mprotect(p + 2 * page, page, PROT_NONE)) {
		perror("munmap/mprotect");
		exit(1);
	}
	m->page_end = p + page - PAGE_END_LEN;
	m->unmapped = p + page;
	m->prot_none = p + 2 * page;
}

static void fired(const char *type, const char *name)
{
	printf("%s %s\n", type, name);
}

static void step_failed(const char *name, const char *error, const char *error_type)
{
	PROBEHOOK_AGENT_STEP_FAILED("hostile", name, error, error_type);
	fired("agent.step.failed", name);
}

static void message_sent(const char *name, const char *run_id, int64_t count, const char *usage)
{
	PROBEHOOK_AGENT_MESSAGE_SENT(name, run_id, count, usage);
	fired("agent.message.sent", name);
}

int main(int argc, char **argv)
{
	double wait_s = argc > 1 ? atof(argv[1]) : 10;
	char *huge_ascii = repeat("x", HUGE_LEN), *huge_utf8 = repeat("\xc3\xa9", HUGE_LEN / 2);
	char *deep = repeat("[", DEEP_LEN);
	char *too_deep = nested(TOO_DEEP), *json_4k = long_json(4096);
	const char *volatile null_text = NULL;
	struct bad_memory bad;

	/* the process name travels in every record, too */
	prctl(PR_SET_NAME, "hos\"t\\\xff", 0, 0, 0);
	bad_memory_map(&bad);
	if (!wait_enabled(wait_s)) {
		fprintf(stderr, "probehook-hostile: probes not enabled within %g s\n", wait_s);
		return 3;
	}

	step_failed("quotes", "say \"hi\" \\ back\\slash / {\"not\": json}",
		    "ctl:\t\n\r\x01\x1f\x7f:end");
	step_failed("invalid-utf8", "bad:\xff\xfe:\xc0\xaf:\xed\xa0\x80:\xf4\x90\x80\x80:end",
		    "ok:caf\xc3\xa9:\xf0\x9f\x98\x80");
	step_failed("huge", huge_ascii, huge_utf8);
	step_failed("null-and-empty", null_text, "");
	step_failed("unmapped", (const char *)1, bad.unmapped);
	step_failed("unreadable", bad.prot_none, bad.page_end);

	message_sent("int-max", NULL, INT64_MAX, "{}");
	message_sent("int-min", "run-1", INT64_MIN, "null");
	message_sent("json-invalid", "run-1", 0, "{\"a\": }");
	message_sent("json-truncated", "run-1", 1, json_4k);
	message_sent("json-deep", "run-1", 2, deep);
	message_sent("json-too-deep", "run-1", 3, too_deep);
	message_sent("json-empty", "run-1", 4, "");
	message_sent("json-trailing", "run-1", 5, "{\"a\":1} trailing");
	message_sent("json-escapes", "run-1", 6,
		     "{\"q\":\"say \\\"hi\\\"\\n\",\"ctl\":\"\\u0001\",\"emoji\":\"\\ud83d\\ude00\","
		     "\"n\":1.5,\"i\":-42,\"list\":[true,false,null]}");

	PROBEHOOK_TOOL_EXECUTION_COMPLETED("duration-max", "t", "{}", "success", INT64_MAX);
	fired("tool.execution.completed", "duration-max");
	PROBEHOOK_TOOL_EXECUTION_COMPLETED("duration-min", "t", "{}", "error", INT64_MIN);
	fired("tool.execution.completed", "duration-min");
	PROBEHOOK_AGENT_JOB_COMPLETED("time-max", "job-1", "completed", INT64_MAX);
	fired("agent.job.completed", "time-max");
	PROBEHOOK_AGENT_JOB_COMPLETED("time-min", "job-1", "failed", INT64_MIN);
	fired("agent.job.completed", "time-min");
	free(huge_ascii);
	free(huge_utf8);
	free(deep);
	free(too_deep);
	free(json_4k);
	return 0;
}
