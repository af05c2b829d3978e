// SPDX-License-Identifier: MIT
/*
 * probehook-flood: threads firing one probe as fast as they can, for
 * tests/e2e/flood.sh.  Waits until a collector attached the probe, fires for
 * the given time, then prints how many it fired ("fired N"): with the probe
 * attached throughout, that is the number of hits the BPF side must count.
 *
 * usage: probehook-flood SECONDS [THREADS] [WAIT_SECONDS]
 */
#define PROBEHOOK_DEFINE_SEMAPHORES
#include <probehook/probehook.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS_MAX 16
#define CLOCK_EVERY 1024 /* firings between two looks at the clock */

struct flooder {
	pthread_t thread;
	char agent_id[32];
	uint64_t fired;
};

static atomic_bool stop;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *flood(void *arg)
{
	struct flooder *f = arg;

	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		for (int i = 0; i < CLOCK_EVERY; i++)
			PROBEHOOK_AGENT_TOOL_DETACHED(f->agent_id, "tool-flood");
		f->fired += CLOCK_EVERY;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 10, wait_s = argc > 3 ? atof(argv[3]) : 10;
	int threads = argc > 2 ? atoi(argv[2]) : 2;
	const struct timespec poll = { 0, 10 * 1000 * 1000 }, tick = { 0, 50 * 1000 * 1000 };
	struct flooder flooders[THREADS_MAX] = { 0 };
	uint64_t total = 0;
	double start;

	if (threads < 1 || threads > THREADS_MAX || seconds <= 0) {
		fprintf(stderr, "usage: probehook-flood SECONDS [THREADS 1-%d] [WAIT_SECONDS]\n",
			THREADS_MAX);
		return 2;
	}
	for (start = now_s(); !PROBEHOOK_AGENT_TOOL_DETACHED_ENABLED(); nanosleep(&poll, NULL)) {
		if (now_s() - start > wait_s) {
			fprintf(stderr, "probehook-flood: probe not enabled within %g s\n", wait_s);
			return 3;
		}
	}
	for (int t = 0; t < threads; t++) {
		snprintf(flooders[t].agent_id, sizeof(flooders[t].agent_id), "flood-%d", t);
		if (pthread_create(&flooders[t].thread, NULL, flood, &flooders[t])) {
			perror("pthread_create");
			return 1;
		}
	}
	for (start = now_s(); now_s() - start < seconds;)
		nanosleep(&tick, NULL);
	atomic_store(&stop, true);
	for (int t = 0; t < threads; t++) {
		pthread_join(flooders[t].thread, NULL);
		total += flooders[t].fired;
		printf("thread %d fired %llu\n", t, (unsigned long long)flooders[t].fired);
	}
	printf("fired %llu\n", (unsigned long long)total);
	return 0;
}
