// SPDX-License-Identifier: MIT
#include "deliver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "netguard.h"
#include "retry.h"
#include "sign.h"
#include "timefmt.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

/* One (event, endpoint) pair, from submit to delivered or dead-lettered. */
struct delivery {
	struct endpoint_state *ep;
	struct payload *payload;
	unsigned int attempts;
	long last_status;        /* of the last attempt; 0: no answer */
	uint64_t last_latency_us;
	bool probe;              /* the attempt under way is the breaker's probe */
	struct due_item due;     /* in d->retries while waiting for its next attempt */
	struct order_node order; /* in its agent's chain while waiting for its turn */
	struct delivery *next;   /* in ep's ready list */
};

/*
 * One request in flight: an easy handle and everything curl reads while the
 * request runs.  Attempts are pooled with their handles, so a steady stream
 * of deliveries allocates nothing per request; a handle keeps the options of
 * the endpoint it last served and only the body changes between requests.
 */
struct attempt {
	struct deliver *d;
	struct delivery *dl;
	CURL *easy;
	const struct endpoint_state *setup_for;
	unsigned int setup_generation; /* setup_for's generation when it was set up */
	struct attempt *prev, *next;  /* d->busy, or d->idle (next only) */
	/* webhook-id, webhook-timestamp, webhook-signature, then the endpoint's fixed list */
	struct curl_slist headers[3];
	char id_line[16 + EVENT_ID_LEN];
	char ts_line[48];
	char sig_line[24 + CONFIG_MAX_SECRETS * SIGN_SIGNATURE_LEN];
	size_t response_bytes;
	unsigned int sockets_opened;  /* addresses the guard let through */
	bool prereq_refused;          /* the connection's address was refused */
	char refused[160];            /* why the address guard refused */
	char error[CURL_ERROR_SIZE];
};

struct socket_watch {
	struct loop_watch watch;
	struct deliver *d;
	uint32_t events;  /* registered with epoll: curl often repeats itself */
};

static void dispatch(struct deliver *d, struct endpoint_state *ep);

/* ---- payloads and deliveries ------------------------------------------------------------- */

struct payload *payload_new(const char *id, const char *agent, const char *body, size_t len)
{
	size_t agent_len = agent ? strlen(agent) : 0, len_id;
	struct payload *p = malloc(sizeof(*p) + len + 1 + agent_len + 1);
	char *agent_copy;

	if (!p)
		return NULL;
	p->refs = 1;
	p->spool_seq = 0;
	len_id = strnlen(id, EVENT_ID_LEN - 1);
	memcpy(p->id, id, len_id);
	p->id[len_id] = '\0';
	p->len = len;
	memcpy(p->body, body, len);
	p->body[len] = '\0';
	agent_copy = p->body + len + 1;
	if (agent_len)
		memcpy(agent_copy, agent, agent_len);
	agent_copy[agent_len] = '\0';
	p->agent = agent_copy;
	return p;
}

void payload_put(struct payload *p)
{
	if (p && --p->refs == 0)
		free(p);
}

static void delivery_free(struct delivery *dl)
{
	payload_put(dl->payload);
	free(dl);
}

static void ready_push(struct endpoint_state *ep, struct delivery *dl)
{
	dl->next = NULL;
	if (ep->ready_tail)
		ep->ready_tail->next = dl;
	else
		ep->ready_head = dl;
	ep->ready_tail = dl;
	ep->ready_count++;
}

static struct delivery *ready_pop(struct endpoint_state *ep)
{
	struct delivery *dl = ep->ready_head;

	if (dl) {
		ep->ready_head = dl->next;
		if (!ep->ready_head)
			ep->ready_tail = NULL;
		ep->ready_count--;
	}
	return dl;
}

/* Final outcome reached: on an ordered endpoint the agent's next event may go
 * (the caller dispatches). */
static void retired_reap(struct deliver *d);

static void delivery_finish(struct deliver *d, struct delivery *dl)
{
	struct endpoint_state *ep = dl->ep;

	d->pending--;
	ep->pending--;
	if (ep->cfg->ordered) {
		struct order_node *next = ordering_next(&ep->order, dl->payload->agent);

		if (next)
			ready_push(ep, container_of(next, struct delivery, order));
	}
	delivery_free(dl);
	if (ep->retired && !ep->pending)
		retired_reap(d);
}

/* Tell the owner (the durable store) what became of an attempt or a delivery. */
static void note(struct deliver *d, const struct delivery *dl, enum deliver_outcome outcome,
		 const char *error, uint64_t next_due_ms)
{
	struct deliver_note n = {
		.payload = dl->payload,
		.endpoint_id = dl->ep->cfg->id,
		.attempts = dl->attempts,
		.status = dl->last_status,
		.error = error,
		.latency_us = dl->last_latency_us,
		.outcome = outcome,
		.next_due_ms = next_due_ms,
	};

	if (d->note)
		d->note(d->note_ctx, &n);
}

static void delivered(struct deliver *d, struct delivery *dl, long status)
{
	log_debug("event %s to endpoint %s: delivered (HTTP %ld, attempt %u)", dl->payload->id,
		  dl->ep->cfg->id, status, dl->attempts);
	dl->ep->delivered++;
	d->delivered++;
	note(d, dl, DELIVER_DELIVERED, NULL, 0);
	delivery_finish(d, dl);
}

/*
 * The one place every delivery that will never be delivered goes: attempts
 * used up, a permanent failure, or its endpoint disabled.  It is counted and
 * logged; the dead-letter store keeps it from here.  quiet: one of many
 * (an endpoint disabled), summarised by the caller.
 */
static void deliver_dead_letter(struct deliver *d, struct delivery *dl, const char *why,
				bool quiet)
{
	log_msg(quiet ? LOG_DEBUG : LOG_WARN,
		"event %s to endpoint %s: dead-lettered after %u attempt%s: %s", dl->payload->id,
		dl->ep->cfg->id, dl->attempts, dl->attempts == 1 ? "" : "s", why);
	dl->ep->dead_lettered++;
	d->dead_lettered++;
	note(d, dl, DELIVER_DEAD, why, 0);
	delivery_finish(d, dl);
}

/* ---- curl plumbing ---------------------------------------------------------------------- */

static void attempt_done(struct deliver *d, struct attempt *at, CURLcode result);

static void deliver_reap(struct deliver *d)
{
	struct attempt *at;
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(d->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&at);
		attempt_done(d, at, msg->data.result);
	}
}

/* Let curl act on its timeouts now if it asked for that; every entry point
 * into the delivery code ends here. */
static void deliver_kick(struct deliver *d)
{
	int running;

	while (d->kick) {
		d->kick = false;
		curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
		deliver_reap(d);
	}
}

static void on_socket_ready(struct loop_watch *watch, uint32_t events)
{
	struct socket_watch *sw = (struct socket_watch *)watch;
	struct deliver *d = sw->d;
	int flags = 0, running;

	if (events & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (events & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (events & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	/* sw may be released inside: curl can close the socket during the action */
	curl_multi_socket_action(d->multi, watch->fd, flags, &running);
	deliver_reap(d);
	deliver_kick(d);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct deliver *d = userp;
	struct socket_watch *sw = socketp;
	uint32_t events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sw) {
			curl_multi_assign(d->multi, s, NULL);
			/* the loop forgets its pending events: freeing now is safe */
			loop_del(d->loop, &sw->watch);
			free(sw);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (sw) {
		if (sw->events == events)
			return 0;
		sw->events = events;
		return loop_mod(d->loop, &sw->watch, events) ? -1 : 0;
	}
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return -1;
	sw->watch = (struct loop_watch){ .fd = s, .fn = on_socket_ready, .data = d };
	sw->d = d;
	sw->events = events;
	if (loop_add(d->loop, &sw->watch, events)) {
		free(sw);
		return -1;
	}
	curl_multi_assign(d->multi, s, sw);
	return 0;
}

/*
 * curl moves its timeout on nearly every call, and each request added asks
 * for "now".  "Now" is served by deliver_kick() at the end of whatever
 * called into curl or added a request, without a trip through the timerfd
 * and epoll (three system calls a request, the bulk of the cost at moderate
 * rates).  Later timeouts arm the timerfd, only ever moving it earlier:
 * firing early or for nothing is harmless, curl just names its next timeout
 * again.
 */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct deliver *d = userp;
	uint64_t due;

	(void)multi;
	if (timeout_ms < 0)
		return 0;
	if (timeout_ms == 0) {
		d->kick = true;
		return 0;
	}
	due = now_ms() + (uint64_t)timeout_ms;
	if (d->curl_timer_due_ms && d->curl_timer_due_ms <= due)
		return 0;
	d->curl_timer_due_ms = due;
	return timer_arm(d->curl_timer.fd, timeout_ms) ? -1 : 0;
}

static void on_curl_timeout(struct loop_watch *watch, uint32_t events)
{
	struct deliver *d = watch->data;
	int running;

	(void)events;
	timer_ack(watch->fd);
	d->curl_timer_due_ms = 0;
	curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	deliver_reap(d);
	deliver_kick(d);
}

static size_t discard_response(char *data, size_t size, size_t nmemb, void *userp)
{
	struct attempt *at = userp;

	(void)data;
	at->response_bytes += size * nmemb;
	/* returning short aborts the transfer: a receiver cannot make us read forever */
	return at->response_bytes > DELIVER_RESPONSE_CAP ? 0 : size * nmemb;
}

/*
 * The address guard, on the address curl is about to connect to (after DNS,
 * for every address it tries).  Refusing returns no socket, so nothing is
 * ever sent there.
 */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct attempt *at = clientp;
	int fd;

	(void)purpose;
	if (netguard_check(&addr->addr, addr->addrlen, at->dl->ep->cfg->allow_private_networks,
			   at->refused, sizeof(at->refused)))
		return CURL_SOCKET_BAD;
	fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
	if (fd >= 0)
		at->sockets_opened++;
	return fd < 0 ? CURL_SOCKET_BAD : fd;
}

/*
 * The guard again, on the connection a request is about to go out on, new
 * or reused: curl shares its connection cache across endpoints, and a
 * connection another endpoint opened with allow_private_networks must not
 * carry this one's requests.  Runs before anything is sent.
 */
static int before_request(void *clientp, char *primary_ip, char *local_ip, int primary_port,
			  int local_port)
{
	struct attempt *at = clientp;

	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (netguard_check_text(primary_ip, at->dl->ep->cfg->allow_private_networks, at->refused,
				sizeof(at->refused))) {
		at->prereq_refused = true;
		return CURL_PREREQFUNC_ABORT;
	}
	return CURL_PREREQFUNC_OK;
}

/* ---- one attempt ------------------------------------------------------------------------ */

/* "name" then text: the lines are sized for their longest content.  By hand
 * rather than snprintf: this runs for every request. */
static size_t put(char *line, size_t used, const char *text)
{
	size_t len = strlen(text);

	memcpy(line + used, text, len + 1);
	return used + len;
}

/* Fresh webhook-timestamp and signatures for this attempt; the id stays. */
static int sign_headers(struct attempt *at, const struct delivery *dl)
{
	const struct config_endpoint *cfg = dl->ep->cfg;
	const struct payload *p = dl->payload;
	long long now = (long long)time(NULL);
	char digits[24], *d = digits + sizeof(digits) - 1;
	size_t used;
	int err;

	used = put(at->sig_line, 0, "webhook-signature:");
	for (size_t i = 0; i < cfg->secret_count; i++) {
		char sig[SIGN_SIGNATURE_LEN];

		err = sign_signature(&cfg->secrets[i], p->id, now, p->body, p->len, sig);
		if (err)
			return err;
		used = put(at->sig_line, used, " ");
		used = put(at->sig_line, used, sig);
	}
	put(at->id_line, put(at->id_line, 0, "webhook-id: "), p->id);
	*d = '\0';
	do
		*--d = (char)('0' + now % 10);
	while ((now /= 10) > 0);
	put(at->ts_line, put(at->ts_line, 0, "webhook-timestamp: "), d);
	/* our own list nodes in front of the endpoint's: nothing to allocate */
	at->headers[0] = (struct curl_slist){ .data = at->id_line, .next = &at->headers[1] };
	at->headers[1] = (struct curl_slist){ .data = at->ts_line, .next = &at->headers[2] };
	at->headers[2] = (struct curl_slist){ .data = at->sig_line, .next = dl->ep->fixed_headers };
	return 0;
}

/* Everything but the body, for requests to ep. */
static void setup_handle(struct deliver *d, struct attempt *at, const struct endpoint_state *ep)
{
	const struct config_endpoint *cfg = ep->cfg;
	CURL *easy = at->easy;

	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_CURLU, ep->url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	/* environment proxies would make the guard see the proxy, not the receiver */
	curl_easy_setopt(easy, CURLOPT_PROXY, "");
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
	if (cfg->ca_bundle)
		curl_easy_setopt(easy, CURLOPT_CAINFO, cfg->ca_bundle);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, at->headers);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, d->user_agent);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard_response);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, at);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, at);
	curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, before_request);
	curl_easy_setopt(easy, CURLOPT_PREREQDATA, at);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, at->error);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, at);
	at->setup_for = ep;
	at->setup_generation = ep->generation;
}

static struct attempt *attempt_get(struct deliver *d)
{
	struct attempt *at = d->idle;

	if (at) {
		d->idle = at->next;
		return at;
	}
	at = calloc(1, sizeof(*at));
	if (!at)
		return NULL;
	at->d = d;
	at->easy = curl_easy_init();
	if (!at->easy) {
		free(at);
		return NULL;
	}
	return at;
}

static void attempt_put(struct deliver *d, struct attempt *at)
{
	at->dl = NULL;
	at->prev = NULL;
	at->next = d->idle;
	d->idle = at;
}

static void busy_add(struct deliver *d, struct attempt *at)
{
	at->prev = NULL;
	at->next = d->busy;
	if (d->busy)
		d->busy->prev = at;
	d->busy = at;
}

static void busy_del(struct deliver *d, struct attempt *at)
{
	if (at->prev)
		at->prev->next = at->next;
	else
		d->busy = at->next;
	if (at->next)
		at->next->prev = at->prev;
}

static int attempt_start(struct deliver *d, struct delivery *dl)
{
	struct endpoint_state *ep = dl->ep;
	struct attempt *at;
	int err;

	at = attempt_get(d);
	if (!at)
		return -ENOMEM;
	err = sign_headers(at, dl);
	if (err) {
		attempt_put(d, at);
		return err;
	}
	if (at->setup_for != ep || at->setup_generation != ep->generation)
		setup_handle(d, at, ep);
	curl_easy_setopt(at->easy, CURLOPT_POSTFIELDS, (char *)dl->payload->body);
	curl_easy_setopt(at->easy, CURLOPT_POSTFIELDSIZE, (long)dl->payload->len);
	at->dl = dl;
	at->response_bytes = 0;
	at->sockets_opened = 0;
	at->prereq_refused = false;
	at->refused[0] = '\0';
	at->error[0] = '\0';
	if (curl_multi_add_handle(d->multi, at->easy) != CURLM_OK) {
		attempt_put(d, at);
		return -EIO;
	}
	busy_add(d, at);
	dl->attempts++;
	ep->attempts++;
	ep->in_flight++;
	return 0;
}

/* ---- retries, pauses, the breaker ------------------------------------------------------- */

static uint64_t next_random(struct deliver *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

static void retry_rearm(struct deliver *d)
{
	const struct due_item *top = dueheap_peek(&d->retries);
	uint64_t now = now_ms();

	timer_arm(d->retry_timer.fd, !top ? -1 : top->due_ms > now ? (int64_t)(top->due_ms - now) : 0);
}

static void retry_later(struct deliver *d, struct delivery *dl, uint64_t delay_ms)
{
	dl->due.due_ms = now_ms() + delay_ms;
	if (dueheap_push(&d->retries, &dl->due)) {
		deliver_dead_letter(d, dl, "out of memory for the retry queue", false);
		return;
	}
	if (dueheap_peek(&d->retries) == &dl->due)
		retry_rearm(d);
}

static void on_retry_due(struct loop_watch *watch, uint32_t events)
{
	struct deliver *d = watch->data;
	uint64_t now = now_ms();
	struct due_item *top;

	(void)events;
	timer_ack(watch->fd);
	while ((top = dueheap_peek(&d->retries)) && top->due_ms <= now) {
		struct delivery *dl = container_of(dueheap_pop(&d->retries), struct delivery, due);

		ready_push(dl->ep, dl);
		dispatch(d, dl->ep);
	}
	retry_rearm(d);
	deliver_kick(d);
}

/* Wake the endpoint at `when` (monotonic ms) to dispatch what it held. */
static void wake_at(struct endpoint_state *ep, uint64_t when)
{
	uint64_t now = now_ms();

	if (ep->wake_at_ms == when)
		return;
	ep->wake_at_ms = when;
	timer_arm(ep->wake.fd, when > now ? (int64_t)(when - now) : 0);
}

static void on_wake(struct loop_watch *watch, uint32_t events)
{
	struct endpoint_state *ep = watch->data;

	(void)events;
	timer_ack(watch->fd);
	ep->wake_at_ms = 0;
	dispatch(ep->d, ep);
	deliver_kick(ep->d);
}

static bool due_on_endpoint(const struct due_item *item, void *arg)
{
	return container_of(item, struct delivery, due)->ep == arg;
}

struct collected {
	struct endpoint_state *ep;
	struct delivery *list;
	uint64_t count;
};

static void collect(struct collected *c, struct delivery *dl)
{
	dl->next = c->list;
	c->list = dl;
	c->count++;
}

static void collect_due(struct due_item *item, void *arg)
{
	collect(arg, container_of(item, struct delivery, due));
}

static void collect_waiting(struct order_node *node, void *arg)
{
	collect(arg, container_of(node, struct delivery, order));
}

/*
 * Stop delivering to ep for good (until a restart): everything it holds is
 * dead-lettered, later events are dead-lettered on arrival, requests in
 * flight finish and are judged as usual.
 */
static void endpoint_disable(struct deliver *d, struct endpoint_state *ep, const char *why)
{
	struct collected c = { .ep = ep };
	struct delivery *dl;

	if (ep->disabled)
		return;
	ep->disabled = true;
	dueheap_remove_if(&d->retries, due_on_endpoint, collect_due, &c);
	retry_rearm(d);
	ordering_drain(&ep->order, collect_waiting, &c);
	while ((dl = ready_pop(ep)))
		collect(&c, dl);
	timer_arm(ep->wake.fd, -1);
	ep->wake_at_ms = 0;
	log_warn("endpoint %s disabled: %s; dead-lettering its %llu queued events and every later "
		 "one until a restart", ep->cfg->id, why, (unsigned long long)c.count);
	while ((dl = c.list)) {
		c.list = dl->next;
		deliver_dead_letter(d, dl, "endpoint disabled", true);
	}
}

/* Feed an attempt's outcome to the breaker; log what it does about it. */
static void breaker_note(struct deliver *d, struct endpoint_state *ep, bool ok, bool probe,
			 const char *why)
{
	enum breaker_state before = ep->breaker.state, after;
	uint64_t now = now_ms();
	char text[64];

	after = breaker_record(&ep->breaker, ok, probe, now);
	if (after == BREAKER_OPEN && before == BREAKER_CLOSED) {
		log_warn("endpoint %s: circuit open: %u of the last %u attempts failed; holding its "
			 "events for %u ms", ep->cfg->id, ep->breaker.opened_failures,
			 ep->breaker.opened_count, ep->cfg->breaker.cooldown_ms);
		wake_at(ep, breaker_wake_ms(&ep->breaker));
	} else if (after == BREAKER_OPEN && before == BREAKER_HALF_OPEN) {
		log_warn("endpoint %s: circuit open again: the probe failed (%s); holding its "
			 "events for %u ms", ep->cfg->id, why, ep->cfg->breaker.cooldown_ms);
		wake_at(ep, breaker_wake_ms(&ep->breaker));
	} else if (after == BREAKER_CLOSED && before != BREAKER_CLOSED) {
		log_info("endpoint %s: circuit closed: the probe was delivered", ep->cfg->id);
	}
	if (!ok && breaker_expired(&ep->breaker, now)) {
		snprintf(text, sizeof(text), "no success for %llu ms (disable_after_ms)",
			 (unsigned long long)(now - ep->breaker.failing_since_ms));
		endpoint_disable(d, ep, text);
	}
}

/* A Retry-After on this answer, in ms from now, clamped. */
static bool answer_retry_after(CURL *easy, const struct retry_policy *policy, uint64_t *ms)
{
	struct curl_header *h;

	if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
		return false;
	return retry_after_parse(h->value, time(NULL), policy->retry_after_max_ms, ms) == 0;
}

/* After a failed attempt: try again later, or give up. */
static void retry_or_give_up(struct deliver *d, struct delivery *dl, enum retry_verdict verdict,
			     CURL *easy, const char *why)
{
	struct endpoint_state *ep = dl->ep;
	const struct retry_policy *policy = &ep->cfg->retry;
	uint64_t delay, pause = 0;

	if (ep->disabled || !retry_has_next(policy, dl->attempts)) {
		deliver_dead_letter(d, dl, why, false);
		return;
	}
	delay = retry_delay_ms(policy, dl->attempts + 1, next_random(d));
	/* Retry-After is a floor: never sooner than the receiver asked, never
	 * sooner than the schedule; and it pauses the whole endpoint */
	if (verdict == RETRY_THROTTLED && answer_retry_after(easy, policy, &pause)) {
		/* now_ms() truncates: one more ms keeps "not before" exact */
		pause++;
		if (pause > delay)
			delay = pause;
		if (now_ms() + pause > ep->hold_until_ms)
			ep->hold_until_ms = now_ms() + pause;
	}
	log_info("event %s to endpoint %s: attempt %u failed (%s); will retry in %llu ms",
		 dl->payload->id, ep->cfg->id, dl->attempts, why, (unsigned long long)delay);
	note(d, dl, DELIVER_RETRY, why, now_ms() + delay);
	retry_later(d, dl, delay);
}

static void attempt_done(struct deliver *d, struct attempt *at, CURLcode result)
{
	struct delivery *dl = at->dl;
	struct endpoint_state *ep = dl->ep;
	bool probe = dl->probe;
	enum retry_verdict verdict;
	long status = 0, connects = 0;
	char why[CURL_ERROR_SIZE + 32];

	busy_del(d, at);
	curl_multi_remove_handle(d->multi, at->easy);
	ep->in_flight--;
	dl->probe = false;
	curl_easy_getinfo(at->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(at->easy, CURLINFO_NUM_CONNECTS, &connects);
	{
		curl_off_t total_us = 0;

		curl_easy_getinfo(at->easy, CURLINFO_TOTAL_TIME_T, &total_us);
		dl->last_latency_us = (uint64_t)total_us;
		dl->last_status = status;
	}
	ep->connections += (uint64_t)connects;
	/* a receiver that talks too much was cut off after its status: that stands */
	if (result == CURLE_WRITE_ERROR && at->response_bytes > DELIVER_RESPONSE_CAP)
		result = CURLE_OK;

	/* refused: before the request went out on a connection, or every
	 * address was refused (one refused and another used is a plain failure) */
	if ((result == CURLE_ABORTED_BY_CALLBACK && at->prereq_refused) ||
	    (result == CURLE_COULDNT_CONNECT && at->refused[0] && !at->sockets_opened)) {
		/* nothing was sent: it says nothing about the receiver, and retrying
		 * cannot change where the name points to us */
		if (probe)
			breaker_probe_cancel(&ep->breaker);
		ep->refused++;
		deliver_dead_letter(d, dl, at->refused, false);
		goto out;
	}
	verdict = result == CURLE_OK ? retry_classify(status) : retry_classify(0);
	if (verdict == RETRY_DELIVERED) {
		breaker_note(d, ep, true, probe, NULL);
		delivered(d, dl, status);
		goto out;
	}
	if (result != CURLE_OK)
		snprintf(why, sizeof(why), "%s", at->error[0] ? at->error : curl_easy_strerror(result));
	else
		snprintf(why, sizeof(why), "HTTP %ld", status);
	breaker_note(d, ep, false, probe, why);
	if (verdict == RETRY_GONE) {
		deliver_dead_letter(d, dl, why, false);
		endpoint_disable(d, ep, "the receiver answered 410 Gone");
	} else {
		retry_or_give_up(d, dl, verdict, at->easy, why);
	}
out:
	attempt_put(d, at);
	dispatch(d, ep);
}

/* ---- dispatch ------------------------------------------------------------------------- */

/* Start what ep may start now: within max_in_flight, not while paused, not
 * while its breaker is open (then one probe once it half-opens). */
static void dispatch(struct deliver *d, struct endpoint_state *ep)
{
	struct delivery *dl;
	uint64_t now;
	bool probe;
	int err;

	if (!ep->ready_head)
		return;
	if (ep->disabled) {
		while ((dl = ready_pop(ep)))
			deliver_dead_letter(d, dl, "endpoint disabled", true);
		return;
	}
	now = now_ms();
	if (ep->hold_until_ms > now) {
		wake_at(ep, ep->hold_until_ms);
		return;
	}
	while (ep->ready_head && ep->in_flight < ep->cfg->max_in_flight) {
		if (!breaker_allow(&ep->breaker, now, &probe)) {
			if (ep->breaker.state == BREAKER_OPEN)
				wake_at(ep, breaker_wake_ms(&ep->breaker));
			return;
		}
		if (probe)
			log_info("endpoint %s: circuit half-open: sending one probe request",
				 ep->cfg->id);
		dl = ready_pop(ep);
		dl->probe = probe;
		err = attempt_start(d, dl);
		if (err) {
			if (probe)
				breaker_probe_cancel(&ep->breaker);
			deliver_dead_letter(d, dl, strerror(-err), false);
		}
	}
}

/* ---- public ---------------------------------------------------------------------------- */

int deliver_submit(struct deliver *d, size_t e, struct payload *p)
{
	return deliver_resume(d, e, p, 0, 0);
}

int deliver_resume(struct deliver *d, size_t e, struct payload *p, unsigned int attempts,
		   uint64_t due_in_ms)
{
	struct endpoint_state *ep = d->endpoints[e];
	struct delivery *dl = calloc(1, sizeof(*dl));
	int ret;

	if (!dl)
		return -ENOMEM;
	dl->ep = ep;
	dl->payload = p;
	dl->attempts = attempts;
	p->refs++;
	d->pending++;
	ep->pending++;
	if (ep->disabled) {
		deliver_dead_letter(d, dl, "endpoint disabled", true);
		return 0;
	}
	if (ep->cfg->ordered) {
		ret = ordering_join(&ep->order, p->agent, &dl->order);
		if (ret < 0) {
			d->pending--;
			ep->pending--;
			delivery_free(dl);
			return ret;
		}
		if (ret == 0)
			return 0; /* behind its agent's previous event */
	}
	if (due_in_ms) {
		retry_later(d, dl, due_in_ms);
		return 0;
	}
	ready_push(ep, dl);
	dispatch(d, ep);
	deliver_kick(d);
	return 0;
}

uint64_t deliver_active(const struct deliver *d)
{
	uint64_t active = 0, now = now_ms();

	for (size_t i = 0; i < d->endpoint_count; i++) {
		const struct endpoint_state *ep = d->endpoints[i];

		active += ep->in_flight;
		if (!ep->disabled && ep->hold_until_ms <= now && ep->breaker.state == BREAKER_CLOSED)
			active += ep->ready_count;
	}
	return active;
}

void deliver_report(const struct deliver *d)
{
	for (size_t i = 0; i < d->endpoint_count; i++) {
		const struct endpoint_state *ep = d->endpoints[i];

		log_info("endpoint %s: %llu delivered, %llu dead-lettered (%llu refused by the "
			 "address guard); %llu requests over %llu connections; circuit %s%s",
			 ep->cfg->id, (unsigned long long)ep->delivered,
			 (unsigned long long)ep->dead_lettered, (unsigned long long)ep->refused,
			 (unsigned long long)ep->attempts, (unsigned long long)ep->connections,
			 breaker_state_name(ep->breaker.state), ep->disabled ? "; disabled" : "");
	}
}

static void free_waiting(struct order_node *node, void *arg)
{
	(void)arg;
	delivery_free(container_of(node, struct delivery, order));
}

/* Custom header values are credentials: wipe them before freeing. */
static void free_headers(struct curl_slist *list)
{
	for (struct curl_slist *h = list; h; h = h->next)
		explicit_bzero(h->data, strlen(h->data));
	curl_slist_free_all(list);
}

/* Content-Type, no Expect: 100-continue, then the endpoint's own headers. */
static int fixed_headers(struct endpoint_state *ep)
{
	static const char *const always[] = { "Content-Type: application/json", "Expect:" };
	const struct config_endpoint *cfg = ep->cfg;
	struct curl_slist *next;

	for (size_t i = 0; i < 2 + cfg->header_count; i++) {
		next = curl_slist_append(ep->fixed_headers,
					 i < 2 ? always[i] : cfg->headers[i - 2]);
		if (!next)
			return -ENOMEM;
		ep->fixed_headers = next;
	}
	return 0;
}

/*
 * What an endpoint derives from its config: the parsed URL and the headers.
 * Requests in flight still use the ones they were set up with, so replaced
 * ones are kept until deliver_fini; handles set up for an older generation
 * are set up again before their next use.
 */
static int endpoint_derive(struct endpoint_state *ep, const struct config_endpoint *cfg)
{
	struct stale_setup *stale = NULL;
	CURLU *url = curl_url();
	struct curl_slist *old_headers = ep->fixed_headers;
	int err;

	if (!url)
		return -ENOMEM;
	if (curl_url_set(url, CURLUPART_URL, cfg->url, 0) != CURLUE_OK) {
		curl_url_cleanup(url);
		return -EINVAL;
	}
	ep->fixed_headers = NULL;
	ep->cfg = cfg;
	err = fixed_headers(ep);
	if (err) {
		free_headers(ep->fixed_headers);
		ep->fixed_headers = old_headers;
		curl_url_cleanup(url);
		return err;
	}
	if (ep->url || old_headers) {
		stale = malloc(sizeof(*stale));
		if (!stale) {
			free_headers(ep->fixed_headers);
			ep->fixed_headers = old_headers;
			curl_url_cleanup(url);
			return -ENOMEM;
		}
		*stale = (struct stale_setup){ ep->url, old_headers, ep->d->stale };
		ep->d->stale = stale;
	}
	ep->url = url;
	ep->generation++;
	return 0;
}

static int endpoint_new(struct deliver *d, const struct config_endpoint *cfg,
			struct endpoint_state **out)
{
	struct endpoint_state *ep = calloc(1, sizeof(*ep));
	int err;

	*out = ep;
	if (!ep)
		return -ENOMEM;
	ep->d = d;
	ep->cfg = cfg;
	breaker_init(&ep->breaker, &cfg->breaker);
	ordering_init(&ep->order);
	ep->wake = (struct loop_watch){ .fd = timer_open(), .fn = on_wake, .data = ep };
	if (ep->wake.fd < 0)
		return ep->wake.fd;
	err = endpoint_derive(ep, cfg);
	return err ?: loop_add(d->loop, &ep->wake, EPOLLIN);
}

static void endpoint_free(struct deliver *d, struct endpoint_state *ep)
{
	struct delivery *dl;

	if (!ep)
		return;
	while ((dl = ready_pop(ep)))
		delivery_free(dl);
	ordering_drain(&ep->order, free_waiting, NULL);
	ordering_fini(&ep->order);
	free_headers(ep->fixed_headers);
	curl_url_cleanup(ep->url);
	if (ep->wake.fd >= 0) {
		loop_del(d->loop, &ep->wake);
		close(ep->wake.fd);
	}
	free(ep);
}

static void retired_reap(struct deliver *d)
{
	struct endpoint_state **pos = &d->retired;

	while (*pos) {
		struct endpoint_state *ep = *pos;

		if (ep->pending) {
			pos = &ep->next_retired;
			continue;
		}
		log_info("endpoint %s (removed from the config) has drained", ep->cfg->id);
		*pos = ep->next_retired;
		endpoint_free(d, ep);
	}
}

/* Does a reload change what an endpoint derives from its config? */
static bool setup_changed(const struct config_endpoint *a, const struct config_endpoint *b)
{
	if (strcmp(a->url, b->url) != 0 || a->header_count != b->header_count)
		return true;
	for (size_t i = 0; i < a->header_count; i++)
		if (strcmp(a->headers[i], b->headers[i]) != 0)
			return true;
	return false;
}

/* The state of endpoint id among the current ones; with take, removed from them. */
static struct endpoint_state *find_endpoint(struct deliver *d, const char *id, bool take)
{
	for (size_t i = 0; i < d->endpoint_count; i++) {
		struct endpoint_state *ep = d->endpoints[i];

		if (ep && strcmp(ep->cfg->id, id) == 0) {
			if (take)
				d->endpoints[i] = NULL;
			return ep;
		}
	}
	return NULL;
}

int deliver_reconfigure(struct deliver *d, const struct config *cfg)
{
	struct endpoint_state **next = calloc(cfg->endpoint_count, sizeof(*next));
	size_t i;
	int err = 0;

	if (!next)
		return -ENOMEM;
	/* new endpoints first, so a failure leaves everything as it was */
	for (i = 0; i < cfg->endpoint_count && !err; i++)
		if (!find_endpoint(d, cfg->endpoints[i].id, false))
			err = endpoint_new(d, &cfg->endpoints[i], &next[i]);
	if (err) {
		for (i = 0; i < cfg->endpoint_count; i++)
			endpoint_free(d, next[i]);
		free(next);
		return err;
	}
	for (i = 0; i < cfg->endpoint_count; i++) {
		if (next[i])
			continue;
		next[i] = find_endpoint(d, cfg->endpoints[i].id, true);
		/* a breaker keeps its state unless its settings changed */
		if (memcmp(&next[i]->cfg->breaker, &cfg->endpoints[i].breaker,
			   sizeof(cfg->endpoints[i].breaker)))
			breaker_init(&next[i]->breaker, &cfg->endpoints[i].breaker);
		/* the config was validated: only memory can fail here, and then the
		 * endpoint keeps its previous URL and headers */
		if (setup_changed(next[i]->cfg, &cfg->endpoints[i]) &&
		    endpoint_derive(next[i], &cfg->endpoints[i]))
			log_warn("reload: endpoint %s keeps its previous URL and headers",
				 cfg->endpoints[i].id);
		next[i]->cfg = &cfg->endpoints[i];
		next[i]->generation++; /* timeouts and CA bundles are set per handle too */
	}
	/* what was not taken is gone from the config */
	for (i = 0; i < d->endpoint_count; i++) {
		struct endpoint_state *ep = d->endpoints[i];

		if (!ep)
			continue;
		ep->retired = true;
		ep->next_retired = d->retired;
		d->retired = ep;
	}
	free(d->endpoints);
	d->endpoints = next;
	d->endpoint_count = cfg->endpoint_count;
	retired_reap(d);
	for (i = 0; i < d->endpoint_count; i++)
		dispatch(d, d->endpoints[i]); /* new limits may allow more in flight */
	deliver_kick(d);
	return 0;
}

size_t deliver_retired(const struct deliver *d)
{
	size_t n = 0;

	for (const struct endpoint_state *ep = d->retired; ep; ep = ep->next_retired)
		n++;
	return n;
}

int deliver_init(struct deliver *d, struct loop *loop, const struct config *cfg)
{
	long connections = 0;
	int err = -ENOMEM;

	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->curl_timer.fd = d->retry_timer.fd = -1;
	dueheap_init(&d->retries);
	snprintf(d->user_agent, sizeof(d->user_agent), "probehook/%s", PROBEHOOK_VERSION);
	if (getrandom(&d->rng, sizeof(d->rng), 0) != sizeof(d->rng) || !d->rng)
		d->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	d->endpoints = calloc(cfg->endpoint_count, sizeof(*d->endpoints));
	if (!d->endpoints)
		goto fail;
	d->endpoint_count = cfg->endpoint_count;
	for (size_t i = 0; i < cfg->endpoint_count; i++) {
		err = endpoint_new(d, &cfg->endpoints[i], &d->endpoints[i]);
		if (err)
			goto fail;
		connections += cfg->endpoints[i].max_in_flight;
	}

	err = -ENOMEM;
	d->multi = curl_multi_init();
	if (!d->multi)
		goto fail;
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
	/* concurrency is bounded per endpoint; keep every connection that allows alive */
	curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, connections);

	d->curl_timer = (struct loop_watch){ .fd = timer_open(), .fn = on_curl_timeout, .data = d };
	d->retry_timer = (struct loop_watch){ .fd = timer_open(), .fn = on_retry_due, .data = d };
	if (d->curl_timer.fd < 0 || d->retry_timer.fd < 0) {
		err = d->curl_timer.fd < 0 ? d->curl_timer.fd : d->retry_timer.fd;
		goto fail;
	}
	if ((err = loop_add(loop, &d->curl_timer, EPOLLIN)) ||
	    (err = loop_add(loop, &d->retry_timer, EPOLLIN)))
		goto fail;
	return 0;
fail:
	deliver_fini(d);
	return err;
}

static void free_attempts(struct attempt *at)
{
	while (at) {
		struct attempt *next = at->next;

		curl_easy_cleanup(at->easy);
		free(at);
		at = next;
	}
}

void deliver_fini(struct deliver *d)
{
	struct due_item *item;

	for (struct attempt *at = d->busy; at; at = at->next) {
		curl_multi_remove_handle(d->multi, at->easy);
		delivery_free(at->dl);
	}
	free_attempts(d->busy);
	free_attempts(d->idle);
	curl_multi_cleanup(d->multi);
	while ((item = dueheap_pop(&d->retries)))
		delivery_free(container_of(item, struct delivery, due));
	dueheap_fini(&d->retries);
	for (size_t i = 0; d->endpoints && i < d->endpoint_count; i++)
		endpoint_free(d, d->endpoints[i]);
	while (d->retired) {
		struct endpoint_state *ep = d->retired;

		d->retired = ep->next_retired;
		endpoint_free(d, ep);
	}
	while (d->stale) {
		struct stale_setup *stale = d->stale;

		d->stale = stale->next;
		curl_url_cleanup(stale->url);
		free_headers(stale->headers);
		free(stale);
	}
	if (d->curl_timer.fd >= 0)
		close(d->curl_timer.fd);
	if (d->retry_timer.fd >= 0)
		close(d->retry_timer.fd);
	free(d->endpoints);
	memset(d, 0, sizeof(*d));
	d->curl_timer.fd = d->retry_timer.fd = -1;
}
