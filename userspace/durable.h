/* SPDX-License-Identifier: MIT */
/*
 * The collector's durable side: every event is accepted into the spool
 * before it is queued for delivery, each attempt's outcome is written back
 * (retry state, delivered, dead), dead letters keep what will never be
 * delivered, and the attempt log keeps every attempt.  On start, what the
 * spool still holds is delivered again with its original webhook-id and
 * retry state.
 */
#ifndef PROBEHOOK_DURABLE_H
#define PROBEHOOK_DURABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attemptlog.h"
#include "config.h"
#include "deadletter.h"
#include "deliver.h"
#include "spool.h"

struct durable {
	struct spool *spool;
	struct deadletter *dead;
	struct attemptlog *attempts;
	struct deliver *deliver;
	const struct config *cfg;
	uint64_t not_spooled;      /* accepted in memory only: the spool could not write */
	uint64_t refused;          /* not accepted: the spool was full (refuse_newest) */
	uint64_t recovered_events; /* events pending in the spool at start */
	uint64_t fitted;           /* read back and cut to an endpoint's max_payload_bytes */
	/*
	 * The backlog: events that wait in the spool only, because the delivery
	 * queue (queue_max) was full when they came, or at start.  They are read
	 * back in order as the queue drains, and until they all are, new events
	 * join them there.
	 */
	bool backlog;
	uint64_t backlog_from;     /* spool seq it starts at; 0: the next one spilled */
	uint64_t spilled;          /* events accepted into the backlog */
	uint64_t read_back;        /* events read back into the queue (recovered ones too) */
};

/* Open the spool, the dead letters and the attempt log under cfg->spool_dir
 * and hook into d; nothing is replayed yet. */
int durable_open(struct durable *du, const struct config *cfg, struct deliver *d);
/* Queue what the spool still holds, as much as queue_max allows; the rest
 * is the backlog (call once, before reading the ring). */
int durable_recover(struct durable *du);
/* Whether a new event is to wait in the spool only: the queue is full (the
 * backlog starts) or a backlog waits. */
bool durable_backlogged(struct durable *du);
/* After durable_accept() of p while backlogged: 0 it waits in the spool;
 * -ENOBUFS the spool could not keep it (dropped: the queue is full). */
int durable_spill(struct durable *du, const struct payload *p);
/* Read the backlog back into the queue as far as queue_max allows (on a timer). */
int durable_refill(struct durable *du);
/*
 * Accept p for the endpoints (by index) that want it.  0: spooled, or kept in
 * memory only when the disk failed (counted); -ENOSPC: refused because the
 * spool is full under refuse_newest (counted, not to be delivered).
 */
int durable_accept(struct durable *du, struct payload *p, const size_t *endpoints, size_t n);
/* Queue a body for one endpoint (by id) outside the ring's path: a dead
 * letter replayed, a test webhook.  It is spooled like any event.
 * -ENOENT: no such endpoint. */
int durable_requeue(struct durable *du, const char *webhook_id, const char *endpoint_id,
		    const char *body, size_t len);

/* After a reload: the config the notes and recovery look endpoints up in. */
void durable_follow(struct durable *du, const struct config *cfg);
int durable_sync(struct durable *du);
void durable_close(struct durable *du);

#endif
