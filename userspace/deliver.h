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

#include <stdbool.h>
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
	uint64_t pending;   /* deliveries neither delivered nor given up */
	uint64_t delivered, failed, attempts, queued;
	bool retired;       /* gone from the config: drains, then is freed */
	struct endpoint_state *next_retired;
};

struct deliver {
	struct loop *loop;
	CURLM *multi;
	struct loop_watch curl_timer;
	struct loop_watch retry_timer;
	struct endpoint_state **endpoints; /* in config order; deliveries point at states */
	size_t endpoint_count;
	struct endpoint_state *retired;    /* removed by a reload, still draining */
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
/*
 * Follow a reloaded config: endpoints are matched by id and keep their
 * queues (new URL, secrets and limits apply from the next attempt); new ones
 * start empty; removed ones are retired and keep delivering what they hold
 * under their old config, which must stay valid until deliver_retired()
 * says none is left.
 */
int deliver_reconfigure(struct deliver *d, const struct config *cfg);
/* Retired endpoints still holding deliveries. */
size_t deliver_retired(const struct deliver *d);
void deliver_fini(struct deliver *d);

/* A payload holding a copy of body, with one reference. */
struct payload *payload_new(const char *id, const char *body, size_t len);
void payload_put(struct payload *p);

/* Queue p for endpoint index e (takes its own reference). */
int deliver_submit(struct deliver *d, size_t e, struct payload *p);

/* Deliveries of one endpoint waiting for a free request slot. */
size_t deliver_ready_count(const struct endpoint_state *ep);

/* Deliveries that are in flight or ready to go (not waiting for a retry). */
uint64_t deliver_active(const struct deliver *d);

#endif
