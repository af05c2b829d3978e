// SPDX-License-Identifier: MIT
#include "durable.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "event.h"
#include "fit.h"
#include "log.h"
#include "timefmt.h"

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static enum attempt_outcome attempt_outcome_of(enum deliver_outcome o)
{
	return o == DELIVER_DELIVERED ? ATTEMPT_DELIVERED :
	       o == DELIVER_RETRY     ? ATTEMPT_RETRY :
					ATTEMPT_DEAD;
}

/* deliver.c says what became of an attempt: write it down. */
static void on_note(void *ctx, const struct deliver_note *n)
{
	struct durable *du = ctx;
	const struct payload *p = n->payload;
	uint64_t now = unix_ms();
	struct attempt a = {
		.webhook_id = p->id,
		.endpoint_id = n->endpoint_id,
		.time_ms = now - n->latency_us / 1000,
		.attempt = n->attempts,
		.status = (int)n->status,
		.error = n->error,
		.latency_us = n->latency_us,
		.outcome = attempt_outcome_of(n->outcome),
	};

	if (n->attempts)
		attemptlog_append(du->attempts, &a);
	if (n->outcome == DELIVER_DEAD) {
		/* kept before the spool lets go of it: a crash between the two
		 * leaves a duplicate, never a loss */
		struct deadletter_entry e = {
			.time_ms = now, .attempts = n->attempts, .webhook_id = p->id,
			.endpoint_id = n->endpoint_id, .reason = n->error ? n->error : "dead",
			.body = p->body, .len = p->len,
		};

		deadletter_append(du->dead, &e, NULL);
	}
	if (!p->spool_seq)
		return;
	if (n->outcome == DELIVER_RETRY)
		spool_note_attempt(du->spool, p->spool_seq, n->endpoint_id, n->attempts,
				   now + (n->next_due_ms > now_ms() ? n->next_due_ms - now_ms() : 0));
	else
		spool_resolve(du->spool, p->spool_seq, n->endpoint_id,
			      n->outcome == DELIVER_DELIVERED ? SPOOL_DELIVERED : SPOOL_DEAD);
}

static void on_evict(void *ctx, uint64_t seq, const char *endpoint_id)
{
	(void)ctx;
	/* the delivery itself stays queued in memory: only its durability went */
	log_debug("spool full: event %llu to %s evicted from disk", (unsigned long long)seq,
		  endpoint_id);
}

int durable_open(struct durable *du, const struct config *cfg, struct deliver *d)
{
	struct spool_options so = {
		.dir = cfg->spool_dir, .max_bytes = cfg->spool_max_bytes,
		.fsync = cfg->spool_fsync, .full_policy = cfg->spool_full_policy,
		.on_evict = on_evict, .evict_ctx = du,
	};
	struct deadletter_options dopt = { .dir = cfg->spool_dir,
					   .max_bytes = cfg->dead_letter_max_bytes };
	struct attemptlog_options aopt = { .dir = cfg->spool_dir,
					   .max_bytes = cfg->attempt_log_max_bytes };
	struct spool_recovery rec = { 0 };
	int err;

	memset(du, 0, sizeof(*du));
	du->cfg = cfg;
	du->deliver = d;
	err = spool_open(&du->spool, &so, &rec);
	if (err) {
		log_error("spool %s: %s", cfg->spool_dir,
			  err == -EBUSY ? "another probehookd uses it" : strerror(-err));
		return err;
	}
	if (rec.torn_regions)
		log_warn("spool %s: set aside %llu torn or corrupt regions (%llu bytes)",
			 cfg->spool_dir, (unsigned long long)rec.torn_regions,
			 (unsigned long long)rec.torn_bytes);
	if ((err = deadletter_open(&du->dead, &dopt)) ||
	    (err = attemptlog_open(&du->attempts, &aopt))) {
		log_error("spool %s: dead letters or attempt log: %s", cfg->spool_dir,
			  strerror(-err));
		durable_close(du);
		return err;
	}
	d->note = on_note;
	d->note_ctx = du;
	return 0;
}

static long find_endpoint(const struct config *cfg, const char *id)
{
	for (size_t e = 0; e < cfg->endpoint_count; e++)
		if (strcmp(cfg->endpoints[e].id, id) == 0)
			return (long)e;
	return -1;
}

/* The agent id of an event, for ordered endpoints; NULL when it has none. */
static const char *event_agent(const cJSON *event)
{
	const cJSON *agent = cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(event, "data"), "agent_id");

	return cJSON_IsString(agent) ? agent->valuestring : NULL;
}

/* The agent id of a spooled body, malloc'd. */
static char *body_agent(const char *body, size_t len)
{
	cJSON *event = cJSON_ParseWithLength(body, len);
	const char *agent = event_agent(event);
	char *copy = agent ? strdup(agent) : NULL;

	cJSON_Delete(event);
	return copy;
}

/* One event read back from the spool, resumed for each endpoint it awaits. */
struct recovered {
	const struct spool_pending *sp;
	cJSON *event;          /* parsed; NULL when the body is not a JSON event */
	struct payload *whole; /* the body as spooled */
	struct fitted fit;     /* cut for the endpoints whose cap it exceeds */
};

/*
 * What endpoint ep gets: the body as spooled, or cut as a live event is to
 * its max_payload_bytes (which the spool does not know, and a new config
 * may have lowered).  NULL: out of memory.
 */
static struct payload *recovered_payload(struct durable *du, struct recovered *r,
					 const struct config_endpoint *ep)
{
	struct payload *p;

	if (r->whole->len <= ep->max_payload_bytes)
		return r->whole;
	if (!r->event) {
		log_warn("spool: event %s is not a JSON event: sent to %s whole, over its "
			 "max_payload_bytes", r->whole->id, ep->id);
		return r->whole;
	}
	p = payload_fit(&r->fit, r->event, r->whole->id, r->whole->agent, ep->max_payload_bytes,
			&du->fitted);
	if (p)
		p->spool_seq = r->whole->spool_seq; /* one event in the spool */
	return p;
}

static int resume_target(struct durable *du, struct recovered *r, const struct spool_target *t)
{
	long e = find_endpoint(du->cfg, t->endpoint_id);
	uint64_t now = unix_ms();
	struct payload *p;

	if (e < 0) {
		/* its endpoint left the config while we were down */
		struct deadletter_entry dle = {
			.time_ms = now, .attempts = t->attempts, .webhook_id = r->sp->webhook_id,
			.endpoint_id = t->endpoint_id, .reason = "endpoint no longer configured",
			.body = r->sp->body, .len = r->sp->len,
		};

		deadletter_append(du->dead, &dle, NULL);
		spool_resolve(du->spool, r->sp->seq, t->endpoint_id, SPOOL_DEAD);
		return 0;
	}
	p = recovered_payload(du, r, &du->cfg->endpoints[e]);
	if (!p)
		return -ENOMEM;
	deliver_resume(du->deliver, (size_t)e, p, t->attempts,
		       t->next_due_ms > now ? t->next_due_ms - now : 0);
	return 0;
}

static int recover_one(void *ctx, const struct spool_pending *sp)
{
	struct durable *du = ctx;
	struct recovered r = { .sp = sp };
	int err = event_parse(sp->body, sp->len, &r.event);

	if (err == -ENOMEM)
		return err;
	r.whole = payload_new(sp->webhook_id, event_agent(r.event), sp->body, sp->len);
	err = r.whole ? 0 : -ENOMEM;
	if (r.whole)
		r.whole->spool_seq = sp->seq;
	for (size_t i = 0; i < sp->target_count && !err; i++)
		err = resume_target(du, &r, &sp->targets[i]);
	if (!err)
		du->read_back++;
	payload_put(r.fit.p);
	payload_put(r.whole);
	cJSON_Delete(r.event);
	return err;
}

int durable_refill(struct durable *du)
{
	uint64_t queued = du->deliver->pending, max = du->cfg->queue_max, next;
	int err;

	if (!du->backlog || queued >= max)
		return 0;
	if (!du->backlog_from) {
		du->backlog = false; /* nothing was spilled: the queue simply has room again */
		return 0;
	}
	err = spool_replay_from(du->spool, du->backlog_from, max - queued, recover_one, du, &next);
	if (err)
		log_error("spool %s: reading back: %s", du->cfg->spool_dir, strerror(-err));
	if (next) {
		du->backlog_from = next;
		return err;
	}
	du->backlog = false;
	du->backlog_from = 0;
	if (du->spilled || du->read_back > du->cfg->queue_max) /* not a start's one batch */
		log_info("spool %s: the backlog is read back (%llu events read back since start): "
			 "new events are queued directly again", du->cfg->spool_dir,
			 (unsigned long long)du->read_back);
	return err;
}

bool durable_backlogged(struct durable *du)
{
	if (!du->backlog && du->deliver->pending >= du->cfg->queue_max) {
		du->backlog = true;
		du->backlog_from = 0;
		log_warn("delivery queue full (queue_max %u): new events wait in the spool and are "
			 "read back as it drains", du->cfg->queue_max);
	}
	return du->backlog;
}

int durable_spill(struct durable *du, const struct payload *p)
{
	if (!p->spool_seq) {
		/* not on disk, and memory is full: the caller counts it dropped, not
		 * durable_accept() as kept in memory */
		du->not_spooled--;
		return -ENOBUFS;
	}
	if (!du->backlog_from)
		du->backlog_from = p->spool_seq;
	du->spilled++;
	return 0;
}

int durable_recover(struct durable *du)
{
	struct spool_stats st;
	char cut[80] = "", rest[96] = "";
	int err;

	spool_stats(du->spool, &st);
	if (!st.live_events)
		return 0;
	/* all of it is a backlog, read back as far as the queue allows */
	du->recovered_events = st.live_events;
	du->backlog = true;
	du->backlog_from = 1;
	err = durable_refill(du);
	if (du->fitted)
		snprintf(cut, sizeof(cut), " (%llu bodies cut to an endpoint's max_payload_bytes)",
			 (unsigned long long)du->fitted);
	if (du->backlog)
		snprintf(rest, sizeof(rest), "; %llu now, the rest as the queue drains (queue_max %u)",
			 (unsigned long long)du->read_back, du->cfg->queue_max);
	log_info("spool %s: resuming %llu events not delivered before the last stop%s%s",
		 du->cfg->spool_dir, (unsigned long long)du->recovered_events, cut, rest);
	return err == -EIO ? 0 : err; /* an unreadable event is logged; the rest go */
}

int durable_accept(struct durable *du, struct payload *p, const size_t *endpoints, size_t n)
{
	const char **ids = calloc(n ? n : 1, sizeof(*ids));
	struct spool_stats st;
	int err;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		ids[i] = du->cfg->endpoints[endpoints[i]].id;
	err = spool_append_event(du->spool, p->id, p->body, p->len, ids, n, &p->spool_seq);
	free(ids);
	if (!err)
		return 0;
	p->spool_seq = 0;
	/* full under refuse_newest, as opposed to a write that failed */
	spool_stats(du->spool, &st);
	if (err == -ENOSPC && !st.failing) {
		du->refused++;
		return -ENOSPC;
	}
	/* a disk that fails must not stop delivery: memory still has it */
	du->not_spooled++;
	return 0;
}

/* A replayed dead letter is cut to its endpoint's current cap, like any event. */
static int submit_fitted(struct durable *du, size_t index, struct payload *p)
{
	const struct config_endpoint *ep = &du->cfg->endpoints[index];
	struct fitted fit = { 0 };
	struct payload *send = p;
	cJSON *event = NULL;
	int err;

	if (p->len > ep->max_payload_bytes && event_parse(p->body, p->len, &event) == 0) {
		send = payload_fit(&fit, event, p->id, p->agent, ep->max_payload_bytes,
				   &du->fitted);
		if (send)
			send->spool_seq = p->spool_seq;
	}
	err = send ? deliver_submit(du->deliver, index, send) : -ENOMEM;
	payload_put(fit.p);
	cJSON_Delete(event);
	return err;
}

int durable_requeue(struct durable *du, const char *webhook_id, const char *endpoint_id,
		    const char *body, size_t len)
{
	long e = find_endpoint(du->cfg, endpoint_id);
	struct payload *p;
	size_t index;
	char *agent;
	int err;

	if (e < 0)
		return -ENOENT;
	index = (size_t)e;
	agent = body_agent(body, len);
	p = payload_new(webhook_id, agent, body, len);
	free(agent);
	if (!p)
		return -ENOMEM;
	err = durable_accept(du, p, &index, 1);
	if (!err)
		err = submit_fitted(du, index, p);
	payload_put(p);
	return err;
}

void durable_follow(struct durable *du, const struct config *cfg)
{
	du->cfg = cfg;
}

int durable_sync(struct durable *du)
{
	return spool_sync(du->spool);
}

void durable_close(struct durable *du)
{
	if (du->deliver && du->deliver->note == on_note)
		du->deliver->note = NULL;
	spool_close(du->spool);
	deadletter_close(du->dead);
	attemptlog_close(du->attempts);
	memset(du, 0, sizeof(*du));
}
