/* SPDX-License-Identifier: MIT */
/*
 * Delivery: signed POSTs with libcurl's multi-socket API on the collector's
 * event loop.  Each event's body is built once and shared by every endpoint
 * that gets it; each (event, endpoint) pair is one delivery with its own
 * attempts.  Per endpoint: a FIFO of ready deliveries, a bound on requests
 * in flight, a circuit breaker, an optional pause (Retry-After) and, when
 * the endpoint asks for it, one event at a time per agent.  Deliveries
 * waiting for their next attempt sit in one heap ordered by due time.
 */
#ifndef PROBEHOOK_DELIVER_H
#define PROBEHOOK_DELIVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "breaker.h"
#include "config.h"
#include "dueheap.h"
#include "event.h"
#include "loop.h"
#include "ordering.h"

/* Concurrent requests per endpoint unless its max_in_flight says otherwise. */
#define DELIVER_MAX_IN_FLIGHT CONFIG_MAX_IN_FLIGHT_DEFAULT

/* Response bytes read before the transfer is cut: a receiver cannot make us
 * read (or buffer) forever.  The status line has arrived by then. */
#define DELIVER_RESPONSE_CAP (64 * 1024)

/* One event's body, shared by its deliveries. */
struct payload {
	unsigned int refs;
	uint64_t spool_seq;  /* its name in the spool; 0: not spooled */
	char id[EVENT_ID_LEN];
	const char *agent; /* the event's agent id (ordering key), in this allocation */
	size_t len;
	char body[];
};

struct delivery;
struct attempt;
struct deliver;

struct endpoint_state {
	const struct config_endpoint *cfg;
	struct deliver *d;
	struct delivery *ready_head, *ready_tail;
	uint64_t ready_count;
	unsigned int in_flight;
	struct breaker breaker;
	struct ordering order;      /* cfg->ordered: per-agent chains */
	uint64_t hold_until_ms;     /* a 429/503 Retry-After pauses the endpoint */
	struct loop_watch wake;     /* timerfd: the breaker's cool-down or the pause ends */
	uint64_t wake_at_ms;        /* what wake is armed for; 0 disarmed */
	struct curl_slist *fixed_headers; /* Content-Type, Expect, custom headers */
	CURLU *url;                 /* parsed once, not per request */
	bool disabled;
	unsigned int generation;    /* bumped when a reload changes its settings */
	bool retired;               /* gone from the config: drains, then is freed */
	struct endpoint_state *next_retired;
	uint64_t pending;           /* accepted, neither delivered nor dead-lettered */
	/* counters */
	uint64_t delivered, dead_lettered, attempts, connections, refused;
};

/* A URL and header list a reload replaced, kept for requests set up with them. */
struct stale_setup {
	CURLU *url;
	struct curl_slist *headers;
	struct stale_setup *next;
};

enum deliver_outcome { DELIVER_RETRY, DELIVER_DELIVERED, DELIVER_DEAD };

/* What became of an attempt (RETRY) or of a delivery (DELIVERED, DEAD). */
struct deliver_note {
	const struct payload *payload;
	const char *endpoint_id;
	unsigned int attempts;   /* made so far */
	long status;             /* the last answer's HTTP status; 0: none */
	const char *error;       /* why it failed; NULL when delivered */
	uint64_t latency_us;     /* of the last attempt */
	enum deliver_outcome outcome;
	uint64_t next_due_ms;    /* RETRY: monotonic ms of the next attempt */
};
typedef void (*deliver_note_fn)(void *ctx, const struct deliver_note *note);

struct deliver {
	struct loop *loop;
	CURLM *multi;
	struct loop_watch curl_timer;
	uint64_t curl_timer_due_ms;  /* what curl_timer is armed for; 0 disarmed */
	bool kick;                   /* curl asked to act on its timeouts now */
	struct loop_watch retry_timer;
	struct endpoint_state **endpoints; /* in config order; deliveries point at states */
	size_t endpoint_count;
	struct endpoint_state *retired;    /* removed by a reload, still draining */
	struct stale_setup *stale;
	deliver_note_fn note;        /* may be NULL */
	void *note_ctx;
	struct dueheap retries;      /* deliveries waiting for their next attempt */
	struct attempt *busy;        /* requests in flight */
	struct attempt *idle;        /* finished attempts with their easy handles, reused */
	uint64_t rng;                /* xorshift state for retry jitter */
	uint64_t pending;            /* accepted, neither delivered nor dead-lettered */
	uint64_t delivered, dead_lettered;
	char user_agent[48];
};

int deliver_init(struct deliver *d, struct loop *loop, const struct config *cfg);
/*
 * Follow a reloaded config: endpoints are matched by id and keep their
 * queues and counters (new URL, secrets, headers and limits apply from the
 * next attempt); new ones start empty; removed ones are retired and keep
 * delivering what they hold under their old config, which must stay valid
 * until deliver_retired() says none is left.
 */
int deliver_reconfigure(struct deliver *d, const struct config *cfg);
/* Retired endpoints still holding deliveries. */
size_t deliver_retired(const struct deliver *d);
void deliver_fini(struct deliver *d);

/* A payload holding a copy of body, with one reference; agent may be NULL. */
struct payload *payload_new(const char *id, const char *agent, const char *body, size_t len);
void payload_put(struct payload *p);

/* Queue p for endpoint index e (takes its own reference).  An endpoint that
 * is disabled dead-letters it at once. */
int deliver_submit(struct deliver *d, size_t e, struct payload *p);

/* The same for a delivery recovered after a restart: attempts already made,
 * and the next one due in due_in_ms (0: now). */
int deliver_resume(struct deliver *d, size_t e, struct payload *p, unsigned int attempts,
		   uint64_t due_in_ms);
/* Deliveries in flight or able to start now; what a shutdown waits for
 * (not those waiting for a retry, an open breaker, a pause or their turn). */
uint64_t deliver_active(const struct deliver *d);

/* One log line per endpoint: counters, connections opened, breaker state. */
void deliver_report(const struct deliver *d);

#endif
