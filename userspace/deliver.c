// SPDX-License-Identifier: MIT
#include "deliver.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "sign.h"
#include "timefmt.h"

#define RETRY_BASE_MS 1000
#define DELIVER_IDLE_HANDLES 256
#define RETRY_CAP_MS 60000

struct delivery {
	struct deliver *d;
	struct endpoint_state *ep;
	struct payload *payload;
	unsigned int attempts;
	uint64_t due_ms;
	CURL *easy;
	struct curl_slist *headers;
	size_t response_bytes;
	char error[CURL_ERROR_SIZE];
	struct delivery *next;
};

struct socket_watch {
	struct loop_watch watch;
	struct deliver *d;
};

struct payload *payload_new(const char *id, const char *body, size_t len)
{
	struct payload *p = malloc(sizeof(*p) + len + 1);

	if (!p)
		return NULL;
	p->refs = 1;
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->len = len;
	memcpy(p->body, body, len);
	p->body[len] = '\0';
	return p;
}

void payload_put(struct payload *p)
{
	if (p && --p->refs == 0)
		free(p);
}

static void delivery_free(struct delivery *dl)
{
	curl_slist_free_all(dl->headers);
	payload_put(dl->payload);
	free(dl);
}

/* ---- curl plumbing ---------------------------------------------------------------------- */

static void deliver_finish(struct deliver *d, struct delivery *dl, CURLcode result, long status);

static void deliver_reap(struct deliver *d)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(d->multi, &left))) {
		struct delivery *dl;
		long status = 0;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&dl);
		curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
		deliver_finish(d, dl, msg->data.result, status);
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
	/* sw may be freed inside: curl can close the socket during the action */
	curl_multi_socket_action(d->multi, watch->fd, flags, &running);
	deliver_reap(d);
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct deliver *d = userp;
	struct socket_watch *sw = socketp;
	uint32_t events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (sw) {
			loop_del(d->loop, &sw->watch); /* EBADF when curl closed it first: fine */
			curl_multi_assign(d->multi, s, NULL);
			free(sw);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (sw)
		return loop_mod(d->loop, &sw->watch, events) ? -1 : 0;
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return -1;
	sw->watch = (struct loop_watch){ .fd = s, .fn = on_socket_ready, .data = d };
	sw->d = d;
	if (loop_add(d->loop, &sw->watch, events)) {
		free(sw);
		return -1;
	}
	curl_multi_assign(d->multi, s, sw);
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct deliver *d = userp;

	(void)multi;
	return timer_arm(d->curl_timer.fd, timeout_ms) ? -1 : 0;
}

static void on_curl_timeout(struct loop_watch *watch, uint32_t events)
{
	struct deliver *d = watch->data;
	int running;

	(void)events;
	timer_ack(watch->fd);
	curl_multi_socket_action(d->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	deliver_reap(d);
}

static size_t discard_response(char *data, size_t size, size_t nmemb, void *userp)
{
	struct delivery *dl = userp;

	(void)data;
	dl->response_bytes += size * nmemb;
	/* returning short aborts the transfer: a receiver cannot make us read forever */
	return dl->response_bytes > DELIVER_RESPONSE_CAP ? 0 : size * nmemb;
}

/* ---- one attempt ---------------------------------------------------------------------- */

static int build_headers(struct delivery *dl)
{
	const struct config_endpoint *cfg = dl->ep->cfg;
	char line[64 + CONFIG_MAX_SECRETS * SIGN_SIGNATURE_LEN];
	long long now = (long long)time(NULL);
	struct curl_slist *h = NULL, *next;
	size_t used;
	int err;

	used = (size_t)snprintf(line, sizeof(line), "webhook-signature:");
	for (size_t i = 0; i < cfg->secret_count; i++) {
		char sig[SIGN_SIGNATURE_LEN];

		err = sign_signature(&cfg->secrets[i], dl->payload->id, now, dl->payload->body,
				     dl->payload->len, sig);
		if (err)
			return err;
		used += (size_t)snprintf(line + used, sizeof(line) - used, " %s", sig);
	}
	const char *fixed[] = { "Content-Type: application/json", "Expect:", line };
	char id_line[32 + EVENT_ID_LEN], ts_line[48];

	snprintf(id_line, sizeof(id_line), "webhook-id: %s", dl->payload->id);
	snprintf(ts_line, sizeof(ts_line), "webhook-timestamp: %lld", now);
	for (size_t i = 0; i < 3; i++) {
		next = curl_slist_append(h, fixed[i]);
		if (!next)
			goto nomem;
		h = next;
	}
	if (!(next = curl_slist_append(h, id_line)) || !(h = next) ||
	    !(next = curl_slist_append(h, ts_line)) || !(h = next))
		goto nomem;
	curl_slist_free_all(dl->headers);
	dl->headers = h;
	return 0;
nomem:
	curl_slist_free_all(h);
	return -ENOMEM;
}

static CURL *take_handle(struct deliver *d)
{
	if (d->idle_count)
		return d->idle_handles[--d->idle_count];
	return curl_easy_init();
}

static void return_handle(struct deliver *d, CURL *easy)
{
	if (d->idle_count < DELIVER_IDLE_HANDLES) {
		curl_easy_reset(easy);
		d->idle_handles[d->idle_count++] = easy;
	} else {
		curl_easy_cleanup(easy);
	}
}

static int delivery_start(struct deliver *d, struct delivery *dl)
{
	const struct config_endpoint *cfg = dl->ep->cfg;
	CURL *easy;
	int err;

	err = build_headers(dl);
	if (err)
		return err;
	easy = take_handle(d);
	if (!easy)
		return -ENOMEM;
	dl->easy = easy;
	dl->response_bytes = 0;
	dl->error[0] = '\0';
	curl_easy_setopt(easy, CURLOPT_URL, cfg->url);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (char *)dl->payload->body);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)dl->payload->len);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, dl->headers);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, d->user_agent);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)cfg->timeout_ms);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, discard_response);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, dl);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, dl->error);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, dl);
	if (curl_multi_add_handle(d->multi, easy) != CURLM_OK) {
		return_handle(d, easy);
		dl->easy = NULL;
		return -EIO;
	}
	dl->attempts++;
	dl->ep->attempts++;
	dl->ep->in_flight++;
	dl->next = d->in_flight;
	d->in_flight = dl;
	return 0;
}

/* ---- queues and retries ----------------------------------------------------------------- */

static void ready_push(struct endpoint_state *ep, struct delivery *dl)
{
	dl->next = NULL;
	if (ep->ready_tail)
		ep->ready_tail->next = dl;
	else
		ep->ready_head = dl;
	ep->ready_tail = dl;
}

static struct delivery *ready_pop(struct endpoint_state *ep)
{
	struct delivery *dl = ep->ready_head;

	if (dl) {
		ep->ready_head = dl->next;
		if (!ep->ready_head)
			ep->ready_tail = NULL;
	}
	return dl;
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
		free(ep);
	}
}

/* A delivery reached its final outcome. */
static void delivery_done(struct deliver *d, struct delivery *dl)
{
	struct endpoint_state *ep = dl->ep;

	ep->pending--;
	d->pending--;
	delivery_free(dl);
	if (ep->retired && !ep->pending)
		retired_reap(d);
}

static void give_up(struct deliver *d, struct delivery *dl, const char *why)
{
	log_warn("event %s to endpoint %s: giving up after %u attempts: %s", dl->payload->id,
		 dl->ep->cfg->id, dl->attempts, why);
	dl->ep->failed++;
	d->failed++;
	delivery_done(d, dl);
}

static void dispatch(struct deliver *d, struct endpoint_state *ep)
{
	struct delivery *dl;

	while (ep->in_flight < DELIVER_MAX_IN_FLIGHT && (dl = ready_pop(ep))) {
		int err = delivery_start(d, dl);

		if (err)
			give_up(d, dl, strerror(-err));
	}
}

static uint64_t next_random(struct deliver *d)
{
	d->rng ^= d->rng << 13;
	d->rng ^= d->rng >> 7;
	d->rng ^= d->rng << 17;
	return d->rng;
}

/* Exponential backoff with +-20% jitter, so failed endpoints are not hit in lockstep. */
static uint64_t retry_delay_ms(struct deliver *d, unsigned int attempts)
{
	uint64_t delay = RETRY_BASE_MS;

	while (--attempts && delay < RETRY_CAP_MS)
		delay *= 2;
	if (delay > RETRY_CAP_MS)
		delay = RETRY_CAP_MS;
	return delay * 8 / 10 + next_random(d) % (delay * 4 / 10 + 1);
}

static void retry_rearm(struct deliver *d)
{
	uint64_t now = now_ms();

	if (!d->retry_list)
		timer_arm(d->retry_timer.fd, -1);
	else
		timer_arm(d->retry_timer.fd, d->retry_list->due_ms > now ? d->retry_list->due_ms - now : 0);
}

static void retry_later(struct deliver *d, struct delivery *dl)
{
	struct delivery **pos = &d->retry_list;

	dl->due_ms = now_ms() + retry_delay_ms(d, dl->attempts);
	while (*pos && (*pos)->due_ms <= dl->due_ms)
		pos = &(*pos)->next;
	dl->next = *pos;
	*pos = dl;
	if (d->retry_list == dl)
		retry_rearm(d);
}

static void on_retry_due(struct loop_watch *watch, uint32_t events)
{
	struct deliver *d = watch->data;
	uint64_t now = now_ms();
	struct delivery *dl;

	(void)events;
	timer_ack(watch->fd);
	while ((dl = d->retry_list) && dl->due_ms <= now) {
		d->retry_list = dl->next;
		ready_push(dl->ep, dl);
		dispatch(d, dl->ep);
	}
	retry_rearm(d);
}

static void deliver_finish(struct deliver *d, struct delivery *dl, CURLcode result, long status)
{
	struct endpoint_state *ep = dl->ep;
	char why[CURL_ERROR_SIZE + 32];

	struct delivery **pos = &d->in_flight;

	while (*pos != dl)
		pos = &(*pos)->next;
	*pos = dl->next;
	curl_multi_remove_handle(d->multi, dl->easy);
	return_handle(d, dl->easy);
	dl->easy = NULL;
	ep->in_flight--;

	if (result == CURLE_OK && status >= 200 && status < 300) {
		log_debug("event %s to endpoint %s: delivered (HTTP %ld, attempt %u)",
			  dl->payload->id, ep->cfg->id, status, dl->attempts);
		ep->delivered++;
		d->delivered++;
		delivery_done(d, dl);
	} else {
		if (result != CURLE_OK)
			snprintf(why, sizeof(why), "%s", dl->error[0] ? dl->error : curl_easy_strerror(result));
		else
			snprintf(why, sizeof(why), "HTTP %ld", status);
		if (status == 410 || dl->attempts >= ep->cfg->max_attempts) {
			give_up(d, dl, why);
		} else {
			log_info("event %s to endpoint %s: attempt %u failed (%s); will retry",
				 dl->payload->id, ep->cfg->id, dl->attempts, why);
			retry_later(d, dl);
		}
	}
	dispatch(d, ep);
}

/* ---- public ---------------------------------------------------------------------------- */

int deliver_submit(struct deliver *d, size_t e, struct payload *p)
{
	struct endpoint_state *ep = d->endpoints[e];
	struct delivery *dl = calloc(1, sizeof(*dl));

	if (!dl)
		return -ENOMEM;
	dl->d = d;
	dl->ep = ep;
	dl->payload = p;
	p->refs++;
	ep->queued++;
	ep->pending++;
	d->pending++;
	ready_push(ep, dl);
	dispatch(d, ep);
	return 0;
}

/* The state of endpoint id, removed from the current array (NULL: none). */
static struct endpoint_state *take_endpoint(struct deliver *d, const char *id, bool take)
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

	if (!next)
		return -ENOMEM;
	/* allocate first, so a failure leaves everything as it was */
	for (i = 0; i < cfg->endpoint_count; i++) {
		if (take_endpoint(d, cfg->endpoints[i].id, false))
			continue;
		if (!(next[i] = calloc(1, sizeof(*next[i])))) {
			while (i--)
				free(next[i]);
			free(next);
			return -ENOMEM;
		}
	}
	for (i = 0; i < cfg->endpoint_count; i++) {
		if (!next[i])
			next[i] = take_endpoint(d, cfg->endpoints[i].id, true);
		next[i]->cfg = &cfg->endpoints[i];
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
	return 0;
}

size_t deliver_retired(const struct deliver *d)
{
	size_t n = 0;

	for (const struct endpoint_state *ep = d->retired; ep; ep = ep->next_retired)
		n++;
	return n;
}

size_t deliver_ready_count(const struct endpoint_state *ep)
{
	size_t n = 0;

	for (const struct delivery *dl = ep->ready_head; dl; dl = dl->next)
		n++;
	return n;
}

uint64_t deliver_active(const struct deliver *d)
{
	uint64_t waiting = 0;

	for (const struct delivery *dl = d->retry_list; dl; dl = dl->next)
		waiting++;
	return d->pending - waiting;
}

int deliver_init(struct deliver *d, struct loop *loop, const struct config *cfg)
{
	int err = -ENOMEM;

	memset(d, 0, sizeof(*d));
	d->loop = loop;
	d->curl_timer.fd = d->retry_timer.fd = -1;
	snprintf(d->user_agent, sizeof(d->user_agent), "probehook/%s", PROBEHOOK_VERSION);
	if (getrandom(&d->rng, sizeof(d->rng), 0) != sizeof(d->rng) || !d->rng)
		d->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)getpid();
	d->endpoint_count = cfg->endpoint_count;
	d->endpoints = calloc(cfg->endpoint_count, sizeof(*d->endpoints));
	for (size_t i = 0; d->endpoints && i < cfg->endpoint_count; i++)
		if (!(d->endpoints[i] = calloc(1, sizeof(**d->endpoints))))
			goto fail;
	d->idle_handles = calloc(DELIVER_IDLE_HANDLES, sizeof(CURL *));
	if (!d->endpoints || !d->idle_handles)
		goto fail;
	for (size_t i = 0; i < cfg->endpoint_count; i++)
		d->endpoints[i]->cfg = &cfg->endpoints[i];

	d->multi = curl_multi_init();
	if (!d->multi)
		goto fail;
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(d->multi, CURLMOPT_SOCKETDATA, d);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(d->multi, CURLMOPT_TIMERDATA, d);
	curl_multi_setopt(d->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)DELIVER_MAX_IN_FLIGHT);

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

static void free_list(struct delivery *dl)
{
	while (dl) {
		struct delivery *next = dl->next;

		delivery_free(dl);
		dl = next;
	}
}

void deliver_fini(struct deliver *d)
{
	for (struct delivery *dl = d->in_flight; dl; dl = dl->next) {
		curl_multi_remove_handle(d->multi, dl->easy);
		curl_easy_cleanup(dl->easy);
		dl->easy = NULL;
	}
	free_list(d->in_flight);
	curl_multi_cleanup(d->multi);
	for (size_t i = 0; d->endpoints && i < d->endpoint_count; i++) {
		if (d->endpoints[i])
			free_list(d->endpoints[i]->ready_head);
		free(d->endpoints[i]);
	}
	while (d->retired) {
		struct endpoint_state *ep = d->retired;

		d->retired = ep->next_retired;
		free_list(ep->ready_head);
		free(ep);
	}
	free_list(d->retry_list);
	for (size_t i = 0; i < d->idle_count; i++)
		curl_easy_cleanup(d->idle_handles[i]);
	if (d->curl_timer.fd >= 0)
		close(d->curl_timer.fd);
	if (d->retry_timer.fd >= 0)
		close(d->retry_timer.fd);
	free(d->idle_handles);
	free(d->endpoints);
	memset(d, 0, sizeof(*d));
	d->curl_timer.fd = d->retry_timer.fd = -1;
}
