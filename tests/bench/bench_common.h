/* SPDX-License-Identifier: MIT */
/*
 * Small helpers shared by the benchmark programs: clocks, pacing, sorting
 * and the probe arguments every benchmark fires (one realistic
 * agent.step.completed event).
 */
#ifndef PROBEHOOK_BENCH_COMMON_H
#define PROBEHOOK_BENCH_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NS_PER_SEC 1000000000LL

/* The event every benchmark fires: agent.step.completed with ids shaped like
 * the seed's (a prefix and a UUID) and small JSON arguments. */
#define BENCH_AGENT_ID "agent-7c1d2e44-0b6f-4a4e-9d9b-3f1a2c5e8d71"
#define BENCH_STEP_ID "step-5b0e9a13-8c2d-4f71-a6e4-1d9c7b3a2f60"
#define BENCH_STATUS "completed"
#define BENCH_TOOL_ID "tool-b84e0d55-19c2-4f3e-8a7d-6c5f1e2b9a04"
#define BENCH_USAGE "{\"completion_tokens\":128,\"prompt_tokens\":2048,\"total_tokens\":2176}"
#define BENCH_TOOL_CALLS "[{\"id\":\"call_1\",\"name\":\"web_search\"}]"

/* Compiler barrier: keeps loop bodies (and semaphore loads) inside the loop. */
#define bench_barrier() __asm__ __volatile__("" ::: "memory")

static inline int64_t bench_clock_ns(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * NS_PER_SEC + ts.tv_nsec;
}

static inline int64_t bench_mono_ns(void)
{
	return bench_clock_ns(CLOCK_MONOTONIC);
}

static inline int64_t bench_wall_ns(void)
{
	return bench_clock_ns(CLOCK_REALTIME);
}

static inline void bench_sleep_until(int64_t mono_ns)
{
	struct timespec ts = { .tv_sec = mono_ns / NS_PER_SEC, .tv_nsec = mono_ns % NS_PER_SEC };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static inline void bench_sleep_ns(int64_t ns)
{
	bench_sleep_until(bench_mono_ns() + ns);
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts v in place. */
static inline double bench_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline unsigned long long bench_ull(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "bad %s: '%s'\n", what, s);
		exit(2);
	}
	return v;
}

#endif /* PROBEHOOK_BENCH_COMMON_H */
