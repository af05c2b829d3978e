// SPDX-License-Identifier: MIT
/*
 * What the control socket's requests mean.  Each request is a JSON object
 * with "cmd"; each reply has "ok" and either the result or "error".
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "catalog.h"
#include "collector.h"
#include "log.h"
#include "procscan.h"
#include "timefmt.h"

#define DISCOVERY_MAX_PIDS 64

static const char *str_arg(const cJSON *request, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(request, name);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static cJSON *ok_reply(void)
{
	cJSON *reply = cJSON_CreateObject();

	cJSON_AddTrueToObject(reply, "ok");
	return reply;
}

/* Scheme, host and path only: a query string may carry a token. */
static void add_safe_url(cJSON *obj, const char *url)
{
	size_t len = strcspn(url, "?#");
	char *safe = strndup(url, len);

	cJSON_AddStringToObject(obj, "url", safe ? safe : "");
	free(safe);
}

static cJSON *status_probes(struct collector *c, uint64_t now)
{
	struct ph_probe_stats stats[PROBEHOOK_EVENT_COUNT] = { 0 };
	cJSON *probes = cJSON_CreateArray();

	attach_read_stats(&c->bpf, stats);
	for (unsigned int id = 0; id < PROBEHOOK_EVENT_COUNT; id++) {
		const struct event_override *o = &c->runtime.events[id];
		cJSON *p = cJSON_CreateObject();

		cJSON_AddStringToObject(p, "event", catalog_by_id(id)->type);
		cJSON_AddStringToObject(p, "mode", event_mode_name(o->mode));
		cJSON_AddBoolToObject(p, "attached", attach_is_attached(&c->bpf, id));
		cJSON_AddNumberToObject(p, "hits", (double)stats[id].hits);
		cJSON_AddNumberToObject(p, "drops", (double)stats[id].drops);
		if (o->revert_at_ms) {
			cJSON_AddStringToObject(p, "reverts_to", event_mode_name(o->revert_mode));
			cJSON_AddNumberToObject(p, "reverts_in_ms",
						(double)(o->revert_at_ms > now ? o->revert_at_ms - now : 0));
		}
		cJSON_AddItemToArray(probes, p);
	}
	return probes;
}

static cJSON *status_targets(struct collector *c)
{
	cJSON *targets = cJSON_CreateArray();

	for (size_t t = 0; t < c->cfg.target_count; t++) {
		const struct config_target *target = &c->cfg.targets[t];
		pid_t pids[DISCOVERY_MAX_PIDS];
		cJSON *obj = cJSON_CreateObject(), *list = cJSON_CreateArray();
		unsigned int attached = 0;
		int found;

		for (unsigned int id = 0; id < PROBEHOOK_EVENT_COUNT; id++)
			attached += attach_target_has(&c->bpf, t, id);
		cJSON_AddStringToObject(obj, "path", target->path);
		if (target->pid > 0)
			cJSON_AddNumberToObject(obj, "pid", target->pid);
		cJSON_AddNumberToObject(obj, "probes_attached", attached);
		/* the processes this target reaches right now */
		found = procscan_mapping(target->path, pids, DISCOVERY_MAX_PIDS);
		for (int i = 0; i < found && i < DISCOVERY_MAX_PIDS; i++)
			if (target->pid <= 0 || pids[i] == target->pid)
				cJSON_AddItemToArray(list, cJSON_CreateNumber(pids[i]));
		cJSON_AddItemToObject(obj, "processes", list);
		cJSON_AddItemToArray(targets, obj);
	}
	return targets;
}

static cJSON *status_endpoints(struct collector *c)
{
	cJSON *endpoints = cJSON_CreateArray();

	for (size_t e = 0; e < c->deliver.endpoint_count; e++) {
		const struct endpoint_state *ep = c->deliver.endpoints[e];
		cJSON *obj = cJSON_CreateObject();
		cJSON_AddStringToObject(obj, "id", ep->cfg->id);
		add_safe_url(obj, ep->cfg->url);
		cJSON_AddStringToObject(obj, "state", ep->disabled ? "disabled" :
						      breaker_state_name(ep->breaker.state));
		cJSON_AddNumberToObject(obj, "queued", (double)ep->ready_count);
		cJSON_AddNumberToObject(obj, "pending", (double)ep->pending);
		cJSON_AddNumberToObject(obj, "in_flight", ep->in_flight);
		cJSON_AddNumberToObject(obj, "attempts", (double)ep->attempts);
		cJSON_AddNumberToObject(obj, "delivered", (double)ep->delivered);
		cJSON_AddNumberToObject(obj, "dead_lettered", (double)ep->dead_lettered);
		cJSON_AddNumberToObject(obj, "refused", (double)ep->refused);
		cJSON_AddItemToArray(endpoints, obj);
	}
	return endpoints;
}

static cJSON *status_counters(struct collector *c)
{
	cJSON *n = cJSON_CreateObject();

	cJSON_AddNumberToObject(n, "records", (double)c->n.records);
	cJSON_AddNumberToObject(n, "malformed", (double)c->n.malformed);
	cJSON_AddNumberToObject(n, "matched", (double)c->n.matched);
	cJSON_AddNumberToObject(n, "unmatched", (double)c->n.unmatched);
	cJSON_AddNumberToObject(n, "queue_full", (double)c->n.queue_full);
	cJSON_AddNumberToObject(n, "gaps", (double)c->n.gaps);
	cJSON_AddNumberToObject(n, "gap_records", (double)c->n.gap_records);
	cJSON_AddNumberToObject(n, "pending_deliveries", (double)c->deliver.pending);
	cJSON_AddNumberToObject(n, "delivered", (double)c->deliver.delivered);
	cJSON_AddNumberToObject(n, "dead_lettered", (double)c->deliver.dead_lettered);
	cJSON_AddNumberToObject(n, "cut_to_fit", (double)c->n.fitted);
	cJSON_AddNumberToObject(n, "control_refused", (double)c->control.refused);
	return n;
}

static cJSON *status_spool(struct collector *c)
{
	cJSON *obj = cJSON_CreateObject();
	struct spool_stats st;

	if (!c->durable.spool)
		return obj;
	spool_stats(c->durable.spool, &st);
	cJSON_AddStringToObject(obj, "dir", c->cfg.spool_dir);
	cJSON_AddNumberToObject(obj, "bytes", (double)st.bytes);
	cJSON_AddNumberToObject(obj, "max_bytes", (double)st.max_bytes);
	cJSON_AddNumberToObject(obj, "segments", (double)st.segments);
	cJSON_AddNumberToObject(obj, "live_events", (double)st.live_events);
	cJSON_AddNumberToObject(obj, "pending", (double)st.pending);
	cJSON_AddNumberToObject(obj, "appended", (double)st.appended);
	cJSON_AddNumberToObject(obj, "write_errors", (double)st.write_errors);
	cJSON_AddNumberToObject(obj, "refused", (double)c->durable.refused);
	cJSON_AddNumberToObject(obj, "evicted", (double)st.evicted);
	cJSON_AddNumberToObject(obj, "in_memory_only", (double)c->durable.not_spooled);
	cJSON_AddNumberToObject(obj, "recovered_events", (double)c->durable.recovered_events);
	cJSON_AddBoolToObject(obj, "backlog", c->durable.backlog);
	cJSON_AddNumberToObject(obj, "spilled", (double)c->durable.spilled);
	cJSON_AddNumberToObject(obj, "read_back", (double)c->durable.read_back);
	cJSON_AddNumberToObject(obj, "recovered_cut_to_fit", (double)c->durable.fitted);
	return obj;
}

static cJSON *status_agents(struct collector *c)
{
	cJSON *agents = cJSON_CreateObject();

	for (size_t i = 0; i < c->runtime.agent_count; i++)
		cJSON_AddBoolToObject(agents, c->runtime.agents[i].agent_id,
				      c->runtime.agents[i].enabled);
	return agents;
}

static void cmd_status(struct collector *c, struct control_client *cl)
{
	uint64_t now = now_ms();
	cJSON *reply = ok_reply();

	cJSON_AddStringToObject(reply, "version", PROBEHOOK_VERSION);
	cJSON_AddNumberToObject(reply, "pid", getpid());
	cJSON_AddNumberToObject(reply, "uptime_ms", (double)(now - c->started_ms));
	cJSON_AddStringToObject(reply, "config", c->config_path ? c->config_path : "(built-in)");
	/* pinned: the probes' counters span collectors, and they record while none runs */
	if (pin_enabled(&c->bpf.pin))
		cJSON_AddStringToObject(reply, "pin_dir", c->bpf.pin.dir);
	else
		cJSON_AddNullToObject(reply, "pin_dir");
	cJSON_AddItemToObject(reply, "probes", status_probes(c, now));
	cJSON_AddItemToObject(reply, "targets", status_targets(c));
	cJSON_AddItemToObject(reply, "endpoints", status_endpoints(c));
	cJSON_AddItemToObject(reply, "agent_overrides", status_agents(c));
	cJSON_AddItemToObject(reply, "counters", status_counters(c));
	cJSON_AddItemToObject(reply, "spool", status_spool(c));
	control_reply(cl, reply);
}

static void cmd_event_mode(struct collector *c, struct control_client *cl, const cJSON *request,
			   enum event_mode mode)
{
	const char *type = str_arg(request, "event");
	const cJSON *for_ms = cJSON_GetObjectItemCaseSensitive(request, "for_ms");
	const struct catalog_event *ev = type ? catalog_by_type(type) : NULL;
	uint64_t duration = 0;
	cJSON *reply;
	int err;

	if (!ev) {
		control_error(cl, "unknown event type \"%s\"", type ? type : "");
		return;
	}
	if (for_ms) {
		if (!cJSON_IsNumber(for_ms) || for_ms->valuedouble < 1 ||
		    for_ms->valuedouble > 30.0 * 86400 * 1000) {
			control_error(cl, "for_ms: must be a number of milliseconds, up to 30 days");
			return;
		}
		duration = (uint64_t)for_ms->valuedouble;
	}
	runtime_set_event(&c->runtime, ev->id, mode, duration, now_ms());
	err = collector_sync_probes(c, false);
	collector_arm_revert(c);
	if (err) {
		control_error(cl, "%s: %s", ev->type, strerror(-err));
		return;
	}
	log_info("control: %s %s%s", ev->type, event_mode_name(mode), duration ? " (timed)" : "");
	reply = ok_reply();
	cJSON_AddStringToObject(reply, "event", ev->type);
	cJSON_AddStringToObject(reply, "mode", event_mode_name(mode));
	cJSON_AddBoolToObject(reply, "attached", attach_is_attached(&c->bpf, ev->id));
	control_reply(cl, reply);
}

static void cmd_agent(struct collector *c, struct control_client *cl, const cJSON *request)
{
	const char *agent = str_arg(request, "agent");
	const cJSON *enabled = cJSON_GetObjectItemCaseSensitive(request, "enabled");
	cJSON *reply;
	int err;

	if (!agent || !*agent || !cJSON_IsBool(enabled)) {
		control_error(cl, "agent: needs \"agent\" (a string) and \"enabled\" (a boolean)");
		return;
	}
	err = runtime_set_agent(&c->runtime, &c->cfg, agent, cJSON_IsTrue(enabled));
	if (!err)
		err = collector_sync_probes(c, false);
	if (err) {
		control_error(cl, "agent %s: %s", agent, strerror(-err));
		return;
	}
	log_info("control: agent %s webhooks %s", agent, cJSON_IsTrue(enabled) ? "on" : "off");
	reply = ok_reply();
	cJSON_AddStringToObject(reply, "agent", agent);
	cJSON_AddBoolToObject(reply, "enabled", cJSON_IsTrue(enabled));
	control_reply(cl, reply);
}

static void cmd_reload(struct collector *c, struct control_client *cl)
{
	char err[512];

	if (collector_reload(c, err, sizeof(err)))
		control_error(cl, "reload: %s", err);
	else
		control_reply(cl, ok_reply());
}

static double num_arg(const cJSON *request, const char *name, double fallback)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(request, name);

	return cJSON_IsNumber(item) && item->valuedouble >= 0 ? item->valuedouble : fallback;
}

static int add_attempt(void *ctx, const struct attempt *a)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddStringToObject(obj, "webhook_id", a->webhook_id);
	cJSON_AddStringToObject(obj, "endpoint", a->endpoint_id);
	cJSON_AddNumberToObject(obj, "time_ms", (double)a->time_ms);
	cJSON_AddNumberToObject(obj, "attempt", a->attempt);
	cJSON_AddNumberToObject(obj, "status", a->status);
	if (a->error)
		cJSON_AddStringToObject(obj, "error", a->error);
	cJSON_AddNumberToObject(obj, "latency_us", (double)a->latency_us);
	cJSON_AddStringToObject(obj, "outcome", attempt_outcome_name(a->outcome));
	cJSON_AddItemToArray(ctx, obj);
	return 0;
}

/* The attempt log, newest first: by event, endpoint and outcome. */
static void cmd_deliveries(struct collector *c, struct control_client *cl, const cJSON *request)
{
	const char *outcome = str_arg(request, "outcome");
	struct attemptlog_query q = {
		.webhook_id = str_arg(request, "event"),
		.endpoint_id = str_arg(request, "endpoint"),
		.outcome = outcome ? attempt_outcome_parse(outcome) : ATTEMPT_ANY,
		.limit = (size_t)num_arg(request, "limit", 50),
	};
	cJSON *reply = ok_reply(), *list = cJSON_AddArrayToObject(reply, "attempts");
	int err;

	if (outcome && q.outcome == ATTEMPT_ANY) {
		cJSON_Delete(reply);
		control_error(cl, "outcome: one of delivered, retry, dead");
		return;
	}
	err = attemptlog_query(c->durable.attempts, &q, add_attempt, list);
	if (err) {
		cJSON_Delete(reply);
		control_error(cl, "attempt log: %s", strerror(-err));
		return;
	}
	control_reply(cl, reply);
}

static int add_dead(void *ctx, const struct deadletter_entry *e)
{
	cJSON *obj = cJSON_CreateObject();

	cJSON_AddNumberToObject(obj, "id", (double)e->id);
	cJSON_AddNumberToObject(obj, "time_ms", (double)e->time_ms);
	cJSON_AddStringToObject(obj, "webhook_id", e->webhook_id);
	cJSON_AddStringToObject(obj, "endpoint", e->endpoint_id);
	cJSON_AddNumberToObject(obj, "attempts", e->attempts);
	cJSON_AddStringToObject(obj, "reason", e->reason);
	cJSON_AddNumberToObject(obj, "bytes", (double)e->len);
	cJSON_AddItemToArray(ctx, obj);
	return 0;
}

static struct deadletter_filter dead_filter(const cJSON *request)
{
	return (struct deadletter_filter){
		.endpoint_id = str_arg(request, "endpoint"),
		.since_ms = (uint64_t)num_arg(request, "since_ms", 0),
		.limit = (size_t)num_arg(request, "limit", 0),
	};
}

static void cmd_dead(struct collector *c, struct control_client *cl, const cJSON *request)
{
	struct deadletter_filter f = dead_filter(request);
	cJSON *reply = ok_reply(), *list = cJSON_AddArrayToObject(reply, "dead");
	int err = deadletter_list(c->durable.dead, &f, add_dead, list);

	if (err) {
		cJSON_Delete(reply);
		control_error(cl, "dead letters: %s", strerror(-err));
		return;
	}
	control_reply(cl, reply);
}

/* Re-queue one taken dead letter, same webhook-id. */
static int requeue_dead(void *ctx, const struct deadletter_entry *e)
{
	struct collector *c = ctx;

	return durable_requeue(&c->durable, e->webhook_id, e->endpoint_id, e->body, e->len);
}

static int collect_id(void *ctx, const struct deadletter_entry *e)
{
	cJSON_AddItemToArray(ctx, cJSON_CreateNumber((double)e->id));
	return 0;
}

/* Dead letters back into delivery: one by id, or all of an endpoint since a time. */
static void cmd_replay(struct collector *c, struct control_client *cl, const cJSON *request)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(request, "id");
	struct deadletter_filter f = dead_filter(request);
	cJSON *ids = cJSON_CreateArray(), *item, *reply;
	unsigned int replayed = 0;
	int err = 0;

	if (cJSON_IsNumber(id))
		cJSON_AddItemToArray(ids, cJSON_CreateNumber(id->valuedouble));
	else if (f.endpoint_id)
		err = deadletter_list(c->durable.dead, &f, collect_id, ids);
	else
		err = -EINVAL;
	cJSON_ArrayForEach(item, ids) {
		if (err)
			break;
		err = deadletter_take(c->durable.dead, (uint64_t)item->valuedouble, requeue_dead, c);
		replayed += !err;
	}
	cJSON_Delete(ids);
	if (err) {
		control_error(cl, "replay: %s (%u replayed)",
			      err == -EINVAL ? "needs an id, or an endpoint" :
			      err == -ENOENT ? "no such dead letter, or its endpoint is gone" :
					       strerror(-err), replayed);
		return;
	}
	log_info("control: %u dead letters replayed", replayed);
	reply = ok_reply();
	cJSON_AddNumberToObject(reply, "replayed", replayed);
	control_reply(cl, reply);
}

/* A signed probehook.test event to one endpoint; its outcome shows in deliveries. */
static void cmd_test(struct collector *c, struct control_client *cl, const cJSON *request)
{
	const char *endpoint = str_arg(request, "endpoint");
	char id[EVENT_ID_LEN], stamp[RFC3339_LEN], *body;
	struct timespec now;
	cJSON *event, *reply;
	int err;

	clock_gettime(CLOCK_REALTIME, &now);
	rfc3339_from_unix_ns((int64_t)now.tv_sec * 1000000000 + now.tv_nsec, stamp);
	snprintf(id, sizeof(id), "msg_test%024llx",
		 (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec);
	event = cJSON_CreateObject();
	cJSON_AddStringToObject(event, "type", "probehook.test");
	cJSON_AddStringToObject(event, "timestamp", stamp);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(event, "data"), "message",
				"a test webhook sent by probehookctl");
	body = cJSON_PrintUnformatted(event);
	cJSON_Delete(event);
	err = !endpoint ? -EINVAL :
	      body      ? durable_requeue(&c->durable, id, endpoint, body, strlen(body)) : -ENOMEM;
	free(body);
	if (err) {
		control_error(cl, "test: %s", err == -ENOENT ? "no such endpoint" :
					      err == -EINVAL ? "needs an endpoint id" : strerror(-err));
		return;
	}
	reply = ok_reply();
	cJSON_AddStringToObject(reply, "webhook_id", id);
	cJSON_AddStringToObject(reply, "endpoint", endpoint);
	control_reply(cl, reply);
}

void commands_handle(void *ctx, struct control_client *cl, const cJSON *request)
{
	struct collector *c = ctx;
	const char *cmd = str_arg(request, "cmd");

	if (!cmd)
		control_error(cl, "missing \"cmd\"");
	else if (strcmp(cmd, "status") == 0)
		cmd_status(c, cl);
	else if (strcmp(cmd, "enable") == 0)
		cmd_event_mode(c, cl, request, EVENT_ON);
	else if (strcmp(cmd, "disable") == 0)
		cmd_event_mode(c, cl, request, EVENT_OFF);
	else if (strcmp(cmd, "auto") == 0)
		cmd_event_mode(c, cl, request, EVENT_AUTO);
	else if (strcmp(cmd, "agent") == 0)
		cmd_agent(c, cl, request);
	else if (strcmp(cmd, "reload") == 0)
		cmd_reload(c, cl);
	else if (strcmp(cmd, "deliveries") == 0)
		cmd_deliveries(c, cl, request);
	else if (strcmp(cmd, "dead") == 0)
		cmd_dead(c, cl, request);
	else if (strcmp(cmd, "replay") == 0)
		cmd_replay(c, cl, request);
	else if (strcmp(cmd, "test") == 0)
		cmd_test(c, cl, request);
	else if (strcmp(cmd, "tail") == 0) {
		control_reply(cl, ok_reply());
		control_start_tail(cl);
	} else
		control_error(cl, "unknown command \"%s\"", cmd);
}
