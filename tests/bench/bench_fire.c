// SPDX-License-Identifier: MIT
/*
 * bench_fire: fires agent.step.completed --count times from --threads
 * threads at a paced total --rate (events/s; 0 = as fast as possible).
 *
 * Pacing keeps an absolute schedule per thread: each wake-up fires every
 * event that is due, then sleeps at least PACE_QUANTUM_NS (or until the next
 * event when they are further apart), so high rates come in short bursts and
 * low rates one event at a time, on time.
 *
 * Prints one JSON object: sent, wall-clock start and end (ns), elapsed, rate.
 */
#define PROBEHOOK_DEFINE_SEMAPHORES
#include <probehook/probehook.h>

#include <getopt.h>
#include <pthread.h>
#include <string.h>

#include "bench_common.h"

#define PACE_QUANTUM_NS 500000LL
#define MAX_THREADS 16

struct worker {
	pthread_t thread;
	uint64_t count;
	double rate;            /* this thread's events/s, 0 = unpaced */
	pthread_barrier_t *start;
	int64_t t0_wall, t1_wall, t0, t1;
};

static inline void fire(void)
{
	PROBEHOOK_AGENT_STEP_COMPLETED(BENCH_AGENT_ID, BENCH_STEP_ID, BENCH_STATUS, BENCH_USAGE,
				       BENCH_TOOL_CALLS);
	bench_barrier();
}

static void *run(void *arg)
{
	struct worker *w = arg;
	uint64_t fired = 0;

	pthread_barrier_wait(w->start);
	w->t0_wall = bench_wall_ns();
	w->t0 = bench_mono_ns();
	if (w->rate <= 0) {
		for (; fired < w->count; fired++)
			fire();
	} else {
		double interval = 1e9 / w->rate;

		while (fired < w->count) {
			int64_t now = bench_mono_ns(), next;
			uint64_t due = (uint64_t)((double)(now - w->t0) / interval) + 1;

			if (due > w->count)
				due = w->count;
			for (; fired < due; fired++)
				fire();
			if (fired >= w->count)
				break;
			next = w->t0 + (int64_t)((double)fired * interval);
			if (next < now + PACE_QUANTUM_NS && interval < PACE_QUANTUM_NS)
				next = now + PACE_QUANTUM_NS;
			bench_sleep_until(next);
		}
	}
	w->t1 = bench_mono_ns();
	w->t1_wall = bench_wall_ns();
	return NULL;
}

static int wait_enabled(double seconds)
{
	int64_t deadline = bench_mono_ns() + (int64_t)(seconds * 1e9);

	while (!*(volatile unsigned short *)&probehook_agent__step__completed_semaphore) {
		if (bench_mono_ns() >= deadline)
			return -1;
		bench_sleep_ns(10 * 1000 * 1000);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "count", required_argument, NULL, 'n' },  { "rate", required_argument, NULL, 'r' },
		{ "threads", required_argument, NULL, 't' }, { "wait-enabled", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },         { 0 }
	};
	struct worker workers[MAX_THREADS];
	pthread_barrier_t start;
	uint64_t count = 100000, threads = 1;
	double rate = 0, wait_s = 0;
	int64_t t0, t1, w0, w1;
	int opt;

	while ((opt = getopt_long(argc, argv, "n:r:t:w:h", options, NULL)) != -1) {
		switch (opt) {
		case 'n': count = bench_ull(optarg, "--count"); break;
		case 'r': rate = atof(optarg); break;
		case 't': threads = bench_ull(optarg, "--threads"); break;
		case 'w': wait_s = atof(optarg); break;
		case 'h':
			printf("usage: bench_fire [--count N] [--rate EVENTS_PER_S] [--threads T] "
			       "[--wait-enabled SECS]\n");
			return 0;
		default: return 2;
		}
	}
	if (!threads || threads > MAX_THREADS || !count) {
		fprintf(stderr, "bench_fire: need 1..%d threads and count > 0\n", MAX_THREADS);
		return 2;
	}
	if (wait_s > 0 && wait_enabled(wait_s)) {
		fprintf(stderr, "bench_fire: probe not enabled after %.1f s\n", wait_s);
		return 3;
	}
	pthread_barrier_init(&start, NULL, (unsigned int)threads);
	for (uint64_t i = 0; i < threads; i++) {
		workers[i] = (struct worker){ .count = count / threads + (i < count % threads),
					      .rate = rate / (double)threads, .start = &start };
		if (pthread_create(&workers[i].thread, NULL, run, &workers[i])) {
			fprintf(stderr, "bench_fire: cannot start a thread\n");
			return 1;
		}
	}
	for (uint64_t i = 0; i < threads; i++)
		pthread_join(workers[i].thread, NULL);
	t0 = workers[0].t0, t1 = workers[0].t1, w0 = workers[0].t0_wall, w1 = workers[0].t1_wall;
	for (uint64_t i = 1; i < threads; i++) {
		t0 = workers[i].t0 < t0 ? workers[i].t0 : t0;
		t1 = workers[i].t1 > t1 ? workers[i].t1 : t1;
		w0 = workers[i].t0_wall < w0 ? workers[i].t0_wall : w0;
		w1 = workers[i].t1_wall > w1 ? workers[i].t1_wall : w1;
	}
	printf("{\"sent\": %llu, \"threads\": %llu, \"rate_target\": %.0f, \"start_wall_ns\": %lld, "
	       "\"end_wall_ns\": %lld, \"elapsed_s\": %.6f, \"rate\": %.1f}\n",
	       (unsigned long long)count, (unsigned long long)threads, rate, (long long)w0,
	       (long long)w1, (double)(t1 - t0) / 1e9, (double)count * 1e9 / (double)(t1 - t0));
	return 0;
}
