/* SPDX-License-Identifier: MIT */
/*
 * Delivery: signed POSTs with libcurl's multi-socket API on the collector's
 * event loop.  Each event's body is built once and shared by every endpoint
 * that gets it; each (event, endpoint) pair is one delivery with its own
 * attempts.  Per endpoint: a FIFO of ready deliveries, a bound on requests in
 * flight, and a retry list ordered by due time.
 */
#ifndef PROBEHOOK_DELIVER_H
#define PROBEHOOK_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "config.h"
#include "event.h"
#include "loop.h"

#define DELIVER_MAX_IN_FLIGHT 32
#define DELIVER_RESPONSE_CAP (64 * 1024)

/* One event's signed-once-per-attempt body, shared by its deliveries. */
struct payload {
	unsigned int refs;
	char id[EVENT_ID_LEN];
	size_t len;
	char body[];
};

struct delivery;

struct endpoint_state {
	const struct config_endpoint *cfg;
	struct delivery *ready_head, *ready_tail;
	unsigned int in_flight;
	uint64_t delivered, failed, attempts, queued;
};

struct deliver {
	struct loop *loop;
	CURLM *multi;
	struct loop_watch curl_timer;
	struct loop_watch retry_timer;
	struct endpoint_state *endpoints;
	size_t endpoint_count;
	struct delivery *in_flight;  /* unordered */
	struct delivery *retry_list; /* sorted by due time */
	CURL **idle_handles;         /* reset easy handles, reused */
	size_t idle_count;
	uint64_t rng;                /* xorshift state for retry jitter */
	uint64_t pending;            /* deliveries neither delivered nor given up */
	uint64_t delivered, failed;
	char user_agent[48];
};

int deliver_init(struct deliver *d, struct loop *loop, const struct config *cfg);
void deliver_fini(struct deliver *d);

/* A payload holding a copy of body, with one reference. */
struct payload *payload_new(const char *id, const char *body, size_t len);
void payload_put(struct payload *p);

/* Queue p for endpoint index e (takes its own reference). */
int deliver_submit(struct deliver *d, size_t e, struct payload *p);

/* Deliveries that are in flight or ready to go (not waiting for a retry). */
uint64_t deliver_active(const struct deliver *d);

#endif
