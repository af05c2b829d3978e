// SPDX-License-Identifier: MIT
/*
 * probe_cost: what one probe hit costs the probed process, in ns.
 *
 * Sites, each a tight loop of --iters hits, timed with CLOCK_MONOTONIC:
 *   empty    the loop alone (a compiler barrier per iteration)
 *   macro    PROBEHOOK_AGENT_STEP_COMPLETED(...) with ready arguments
 *   small    PROBEHOOK_AGENT_TOOL_DETACHED(agent_id, tool_id): two strings
 *   guarded  if (PROBEHOOK_AGENT_STEP_COMPLETED_ENABLED()) { format usage;
 *            PROBEHOOK_AGENT_STEP_COMPLETED(...); } -- the documented idiom
 *   lib      probehook_agent_step_completed() in libprobehook.so (--lib PATH,
 *            dlopen()ed, called through its exported symbol)
 * Every loop body carries the same barrier, so "site - empty" is the probe.
 *
 * Reps interleave the sites so drift on a noisy machine hits all of them.
 * With --batch B the hits come in batches of B with --pause-us between them
 * (only the batches are timed): an attached probe then records into a ring
 * the collector keeps draining, rather than into a full ring (a failed
 * reservation is cheaper than a record and would flatter the figure).
 *
 * Prints one JSON object: per site min and median ns per hit.
 */
#define PROBEHOOK_DEFINE_SEMAPHORES
#include <probehook/probehook.h>
#include <probehook/libprobehook.h>

#include <dlfcn.h>
#include <getopt.h>
#include <string.h>

#include "bench_common.h"

#define MAX_REPS 64

typedef void (*step_fn)(const char *, const char *, const char *, const char *, const char *);
typedef int (*enabled_fn)(int);

static step_fn lib_step;
static enabled_fn lib_enabled;

static __attribute__((noinline)) void site_empty(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		bench_barrier();
}

static __attribute__((noinline)) void site_macro(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		PROBEHOOK_AGENT_STEP_COMPLETED(BENCH_AGENT_ID, BENCH_STEP_ID, BENCH_STATUS,
					       BENCH_USAGE, BENCH_TOOL_CALLS);
		bench_barrier();
	}
}

static __attribute__((noinline)) void site_small(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		PROBEHOOK_AGENT_TOOL_DETACHED(BENCH_AGENT_ID, BENCH_TOOL_ID);
		bench_barrier();
	}
}

static __attribute__((noinline)) void site_guarded(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		if (PROBEHOOK_AGENT_STEP_COMPLETED_ENABLED()) {
			char usage[128];

			snprintf(usage, sizeof(usage),
				 "{\"completion_tokens\":%u,\"prompt_tokens\":2048,\"total_tokens\":%u}",
				 (unsigned int)(i & 1023), (unsigned int)(2048 + (i & 1023)));
			PROBEHOOK_AGENT_STEP_COMPLETED(BENCH_AGENT_ID, BENCH_STEP_ID, BENCH_STATUS,
						       usage, BENCH_TOOL_CALLS);
		}
		bench_barrier();
	}
}

static __attribute__((noinline)) void site_lib(uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		lib_step(BENCH_AGENT_ID, BENCH_STEP_ID, BENCH_STATUS, BENCH_USAGE, BENCH_TOOL_CALLS);
		bench_barrier();
	}
}

enum { SITE_EMPTY, SITE_MACRO, SITE_SMALL, SITE_GUARDED, SITE_LIB };

static const struct site {
	const char *name;
	void (*run)(uint64_t n);
} sites[] = {
	[SITE_EMPTY] = { "empty", site_empty },
	[SITE_MACRO] = { "macro", site_macro },
	[SITE_SMALL] = { "small", site_small },
	[SITE_GUARDED] = { "guarded", site_guarded },
	[SITE_LIB] = { "lib", site_lib },
};
#define NSITES (sizeof(sites) / sizeof(sites[0]))

static int macro_enabled(void)
{
	return *(volatile unsigned short *)&probehook_agent__step__completed_semaphore != 0;
}

static int small_enabled(void)
{
	return *(volatile unsigned short *)&probehook_agent__tool__detached_semaphore != 0;
}

static int wait_enabled(double seconds, int want_lib, int want_macro, int want_small)
{
	int64_t deadline = bench_mono_ns() + (int64_t)(seconds * 1e9);

	for (;;) {
		int ok = (!want_lib || lib_enabled(PROBEHOOK_ID_AGENT_STEP_COMPLETED)) &&
			 (!want_macro || macro_enabled()) && (!want_small || small_enabled());

		if (ok)
			return 0;
		if (bench_mono_ns() >= deadline)
			return -1;
		bench_sleep_ns(10 * 1000 * 1000);
	}
}

/* One rep of one site: ns per hit, timing only the batches. */
static double time_site(const struct site *s, uint64_t iters, uint64_t batch, int64_t pause_ns)
{
	int64_t total = 0;
	uint64_t done = 0;

	if (!batch)
		batch = iters;
	while (done < iters) {
		uint64_t n = iters - done < batch ? iters - done : batch;
		int64_t t0 = bench_mono_ns();

		s->run(n);
		total += bench_mono_ns() - t0;
		done += n;
		if (pause_ns && done < iters)
			bench_sleep_ns(pause_ns);
	}
	return (double)total / (double)iters;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: probe_cost [--sites empty,macro,small,guarded,lib] [--iters N] [--reps R]\n"
		"                  [--batch B --pause-us U] [--lib libprobehook.so] [--wait-enabled SECS]\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "sites", required_argument, NULL, 's' },   { "iters", required_argument, NULL, 'n' },
		{ "reps", required_argument, NULL, 'r' },    { "batch", required_argument, NULL, 'b' },
		{ "pause-us", required_argument, NULL, 'p' }, { "lib", required_argument, NULL, 'l' },
		{ "wait-enabled", required_argument, NULL, 'w' }, { "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	const char *site_list = "empty,macro,guarded", *lib_path = NULL;
	uint64_t iters = 100000000, reps = 5, batch = 0, pause_us = 0;
	double wait_s = 0, results[NSITES][MAX_REPS];
	int use[NSITES] = { 0 }, opt;

	while ((opt = getopt_long(argc, argv, "s:n:r:b:p:l:w:h", options, NULL)) != -1) {
		switch (opt) {
		case 's': site_list = optarg; break;
		case 'n': iters = bench_ull(optarg, "--iters"); break;
		case 'r': reps = bench_ull(optarg, "--reps"); break;
		case 'b': batch = bench_ull(optarg, "--batch"); break;
		case 'p': pause_us = bench_ull(optarg, "--pause-us"); break;
		case 'l': lib_path = optarg; break;
		case 'w': wait_s = atof(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!iters || !reps || reps > MAX_REPS) {
		fprintf(stderr, "probe_cost: need iters > 0 and 1 <= reps <= %d\n", MAX_REPS);
		return 2;
	}
	for (size_t i = 0; i < NSITES; i++) {
		const char *p = strstr(site_list, sites[i].name);
		size_t len = strlen(sites[i].name);

		use[i] = p && (p == site_list || p[-1] == ',') && (p[len] == ',' || !p[len]);
	}
	if (use[SITE_LIB]) {
		void *h;

		if (!lib_path) {
			fprintf(stderr, "probe_cost: the lib site needs --lib PATH\n");
			return 2;
		}
		h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			fprintf(stderr, "probe_cost: %s\n", dlerror());
			return 1;
		}
		lib_step = (step_fn)dlsym(h, "probehook_agent_step_completed");
		lib_enabled = (enabled_fn)dlsym(h, "probehook_enabled");
		if (!lib_step || !lib_enabled) {
			fprintf(stderr, "probe_cost: %s lacks the probehook API\n", lib_path);
			return 1;
		}
	}
	if (wait_s > 0 && wait_enabled(wait_s, use[SITE_LIB], use[SITE_MACRO] || use[SITE_GUARDED], use[SITE_SMALL])) {
		fprintf(stderr, "probe_cost: probes not enabled after %.1f s\n", wait_s);
		return 3;
	}
	/* warm up: page in, train the branch predictor, first uprobe hits */
	for (size_t i = 0; i < NSITES; i++)
		if (use[i])
			time_site(&sites[i], iters / 100 + 1, batch, 0);
	for (uint64_t r = 0; r < reps; r++)
		for (size_t i = 0; i < NSITES; i++)
			if (use[i])
				results[i][r] = time_site(&sites[i], iters, batch, (int64_t)pause_us * 1000);

	printf("{\"iters\": %llu, \"reps\": %llu, \"enabled\": {\"macro\": %d, \"lib\": %d}, \"sites\": {",
	       (unsigned long long)iters, (unsigned long long)reps, macro_enabled(),
	       use[SITE_LIB] ? lib_enabled(PROBEHOOK_ID_AGENT_STEP_COMPLETED) : 0);
	for (size_t i = 0, first = 1; i < NSITES; i++) {
		double min;

		if (!use[i])
			continue;
		min = results[i][0];
		for (uint64_t r = 1; r < reps; r++)
			min = results[i][r] < min ? results[i][r] : min;
		printf("%s\"%s\": {\"min_ns\": %.3f, \"median_ns\": %.3f}", first ? "" : ", ",
		       sites[i].name, min, bench_median(results[i], reps));
		first = 0;
	}
	printf("}}\n");
	return 0;
}
