// SPDX-License-Identifier: MIT
#include "timefmt.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NS_PER_SEC 1000000000LL
/* 0001-01-01 and 10000-01-01 as Unix seconds */
#define UNIX_MIN_SEC (-62135596800LL)
#define UNIX_MAX_SEC 253402300800LL

int rfc3339_from_unix_ns(int64_t unix_ns, char out[RFC3339_LEN])
{
	int64_t sec = unix_ns / NS_PER_SEC, ns = unix_ns % NS_PER_SEC;
	struct tm tm;
	time_t t;

	if (ns < 0) {
		ns += NS_PER_SEC;
		sec--;
	}
	t = (time_t)sec;
	if (sec < UNIX_MIN_SEC || sec >= UNIX_MAX_SEC || !gmtime_r(&t, &tm)) {
		strcpy(out, "1970-01-01T00:00:00Z");
		return -ERANGE;
	}
	/* The range check above bounds every field; the wide buffer only
	 * convinces the compiler. */
	char buf[96];

	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ns / 1000));
	snprintf(out, RFC3339_LEN, "%.*s", RFC3339_LEN - 1, buf);
	return 0;
}

static int64_t clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

int64_t boot_to_unix_offset_ns(void)
{
	/* Bracket the wall clock read with two boot clock reads to halve the error. */
	int64_t before = clock_ns(CLOCK_BOOTTIME);
	int64_t wall = clock_ns(CLOCK_REALTIME);
	int64_t after = clock_ns(CLOCK_BOOTTIME);

	return wall - (before + (after - before) / 2);
}

uint64_t now_ms(void)
{
	return (uint64_t)clock_ns(CLOCK_MONOTONIC) / 1000000;
}
