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
	uint64_t recovered_events; /* events replayed from the spool at start */
	uint64_t fitted;           /* their bodies cut to an endpoint's max_payload_bytes */
};

/* Open the spool, the dead letters and the attempt log under cfg->spool_dir
 * and hook into d; nothing is replayed yet. */
int durable_open(struct durable *du, const struct config *cfg, struct deliver *d);
/* Queue what the spool still holds (call once, before reading the ring). */
int durable_recover(struct durable *du);
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
