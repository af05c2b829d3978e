// SPDX-License-Identifier: MIT
/*
 * probehookd: the collector.  probe -> BPF -> ring buffer -> decode -> match
 * -> deliver, on one epoll loop.  All state lives in struct collector.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "caps.h"
#include "collector.h"
#include "decode.h"
#include "durable.h"
#include "event.h"
#include "fit.h"
#include "log.h"
#include "match.h"
#include "timefmt.h"

#define TICK_MS 100             /* safety-net ring poll, clock re-sync */
#define LINGER_MS 1             /* re-read the ring this soon after a read that found records */
#define SHUTDOWN_GRACE_MS 5000  /* time to finish in-flight deliveries on exit */
#define RING_BATCH_MAX 1024     /* records per ring read before the loop gets a turn */

static void free_old_configs(struct collector *c);

/* ---- the ring buffer: one record in, deliveries out ------------------------------------- */

static bool any_endpoint_wants(const struct collector *c, const char *type, const char *agent)
{
	for (size_t e = 0; e < c->cfg.endpoint_count; e++)
		if (match_endpoint(&c->cfg, &c->cfg.endpoints[e], type, agent))
			return true;
	return false;
}

/* Cut by fit.c, the same code that cuts events recovered from the spool. */
static struct payload *fit_payload(struct collector *c, const cJSON *event, const char *id,
				   const char *agent, unsigned int cap, struct fitted *fit)
{
	return payload_fit(fit, event, id, agent, cap, &c->n.fitted);
}

/*
 * Accept the payload into the spool for every endpoint that wants it, then
 * queue it for each, cut to fit where one asks.  A collector event (no
 * agent) goes to every endpoint whose events patterns name its type.
 */
static int submit_matching(struct collector *c, const cJSON *event, const char *type,
			   const char *agent, bool from_collector, struct payload *p)
{
	size_t *wants = calloc(c->cfg.endpoint_count, sizeof(*wants)), n = 0;
	struct fitted fit = { 0 };
	bool backlogged;
	int err;

	if (!wants)
		return -ENOMEM;
	for (size_t e = 0; e < c->cfg.endpoint_count; e++)
		if (from_collector ? match_any(&c->cfg.endpoints[e].events, type) :
				     match_endpoint(&c->cfg, &c->cfg.endpoints[e], type, agent))
			wants[n++] = e;
	/* a full queue: the event waits in the spool, read back as the queue drains */
	backlogged = n && durable_backlogged(&c->durable);
	err = durable_accept(&c->durable, p, wants, n);
	if (!err && backlogged) {
		err = durable_spill(&c->durable, p);
		n = 0;
	}
	for (size_t i = 0; i < n && !err; i++) {
		const struct config_endpoint *ep = &c->cfg.endpoints[wants[i]];
		struct payload *send = p;

		if (p->len > ep->max_payload_bytes) {
			send = fit_payload(c, event, p->id, agent, ep->max_payload_bytes, &fit);
			if (send)
				send->spool_seq = p->spool_seq; /* one event in the spool */
		}
		err = send ? deliver_submit(&c->deliver, wants[i], send) : -ENOMEM;
	}
	payload_put(fit.p);
	free(wants);
	return err;
}

/* Memory is full and the spool could not keep the event either: counted. */
static void count_queue_full(struct collector *c, int err)
{
	if (err == -ENOBUFS && c->n.queue_full++ == 0)
		log_warn("delivery queue full (queue_max %u) and the spool cannot keep events: "
			 "dropping them until one of the two has room", c->cfg.queue_max);
}

/*
 * Match first, on the agent id alone: an event nobody wants (and nobody
 * tails) is counted and dropped without building any JSON.
 */
static int route_event(struct collector *c, const struct decoded_event *ev)
{
	const char *type = ev->def->type;
	char *agent = event_agent_id(ev), *body = NULL;
	const char *text = NULL;
	bool wanted = any_endpoint_wants(c, type, agent);
	struct payload *p = NULL;
	char id[EVENT_ID_LEN];
	cJSON *event = NULL;
	int err = 0;

	if (!wanted) {
		c->n.unmatched++;
		if (!c->control.tailing)
			goto out;
	}
	event = event_build(ev, c->boot_to_unix_ns);
	/* most bodies fit the preallocated buffer: no malloc and realloc chain */
	if (event && cJSON_PrintPreallocated(event, c->print_buf, sizeof(c->print_buf), 0))
		text = c->print_buf;
	else if (event)
		text = body = cJSON_PrintUnformatted(event);
	if (!text) {
		c->n.build_failures++;
		err = -ENOMEM;
		goto out;
	}
	/* the live view shows every event, wanted by an endpoint or not */
	if (c->control.tailing)
		control_tail_line(&c->control, text, strlen(text));
	if (!wanted)
		goto out;
	event_id(ev->rec, c->boot_id, id);
	p = payload_new(id, agent, text, strlen(text));
	err = p ? submit_matching(c, event, type, agent, false, p) : -ENOMEM;
	count_queue_full(c, err);
	c->n.matched++;
out:
	payload_put(p);
	free(body);
	cJSON_Delete(event);
	free(agent);
	return err;
}

static bool any_endpoint_takes(const struct collector *c, const char *type)
{
	for (size_t e = 0; e < c->cfg.endpoint_count; e++)
		if (match_any(&c->cfg.endpoints[e].events, type))
			return true;
	return false;
}

/*
 * The kernel counted records this process lost to a full ring and reports
 * them with its next record: say so in the log, the counters and, for the
 * endpoints that take it, a probehook.gap event.  Spooled like any event,
 * before the record that carried it is consumed.
 */
static int route_gap(struct collector *c, const struct ph_record *rec)
{
	struct payload *p = NULL;
	char id[EVENT_ID_LEN];
	cJSON *event = NULL;
	char *body = NULL;
	int err = 0;

	c->n.gaps++;
	c->n.gap_records += rec->lost_before;
	log_warn("pid %u (%.*s): %llu records lost to a full ring buffer before seq %llu",
		 rec->pid, PH_COMM_LEN, rec->comm, (unsigned long long)rec->lost_before,
		 (unsigned long long)rec->seq);
	if (!any_endpoint_takes(c, EVENT_TYPE_GAP))
		return 0;
	event = event_build_gap(rec, c->boot_to_unix_ns);
	body = event ? cJSON_PrintUnformatted(event) : NULL;
	event_gap_id(rec, c->boot_id, id);
	p = body ? payload_new(id, NULL, body, strlen(body)) : NULL;
	err = p ? submit_matching(c, event, EVENT_TYPE_GAP, NULL, true, p) : -ENOMEM;
	count_queue_full(c, err);
	payload_put(p);
	free(body);
	cJSON_Delete(event);
	return err;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct collector *c = ctx;
	struct decoded_event ev;
	const char *why = NULL;

	c->n.records++;
	if (decode_record(data, size, &ev, &why)) {
		c->n.malformed++;
		log_warn("dropping a malformed record (%zu bytes): %s", size, why);
	} else {
		if (ev.rec->lost_before)
			route_gap(c, ev.rec);
		route_event(c, &ev);
	}
	/*
	 * A flood refills the ring as fast as it drains, and a read that goes on
	 * until the ring is empty would starve deliveries, timers and the control
	 * socket.  Stopping after this record (libbpf has already consumed it,
	 * and it was handled) hands the loop back; the ring is read again at once.
	 */
	return ++c->ring_batch >= RING_BATCH_MAX ? -EAGAIN : 0;
}

/*
 * The BPF side rate-limits wake-ups (one per wakeup_gap_ns), so a record
 * that fired just after one may get none: while records keep coming, read
 * the ring again LINGER_MS after each read that found some.
 */
static void consume_ring(struct collector *c)
{
	int n;

	/* a pinned ring is left to the next collector from the moment we stop */
	if (c->stopping && pin_enabled(&c->bpf.pin))
		return;
	c->ring_batch = 0;
	n = ring_buffer__consume(c->ring);
	if (n == -EAGAIN)
		timer_arm(c->linger_watch.fd, 0); /* more waiting: after what else is ready */
	else if (n > 0)
		timer_arm(c->linger_watch.fd, LINGER_MS);
}

static void on_ring_ready(struct loop_watch *watch, uint32_t events)
{
	(void)events;
	consume_ring(watch->data);
}

static void on_linger(struct loop_watch *watch, uint32_t events)
{
	(void)events;
	timer_ack(watch->fd);
	consume_ring(watch->data);
}

/* ---- probes on and off ------------------------------------------------------------------ */

int collector_sync_probes(struct collector *c, bool strict)
{
	bool wanted[PROBEHOOK_EVENT_COUNT];
	unsigned int changed;
	int err;

	if (c->stopping)
		return 0; /* everything stays detached while shutting down */
	for (unsigned int id = 0; id < PROBEHOOK_EVENT_COUNT; id++)
		wanted[id] = runtime_event_wanted(&c->runtime, &c->cfg, id);
	caps_for_attach(1);
	err = attach_sync(&c->bpf, &c->cfg, wanted, strict, &changed);
	caps_for_attach(0);
	return err;
}

void collector_arm_revert(struct collector *c)
{
	uint64_t now = now_ms(), next;

	runtime_expire(&c->runtime, 0, &next); /* only asks for the next due time */
	timer_arm(c->revert_watch.fd, next ? (int64_t)(next > now ? next - now : 0) : -1);
}

static void on_revert(struct loop_watch *watch, uint32_t events)
{
	struct collector *c = watch->data;
	uint64_t next;

	(void)events;
	timer_ack(watch->fd);
	if (runtime_expire(&c->runtime, now_ms(), &next)) {
		log_info("control: a timed enable/disable ran out; probes follow the config again");
		collector_sync_probes(c, false);
	}
	collector_arm_revert(c);
}

/* ---- signals, ticks, shutdown ---------------------------------------------------------- */

static void begin_shutdown(struct collector *c, const char *why)
{
	if (c->stopping) {
		log_warn("%s again: stopping now", why);
		c->stopping = 2;
		return;
	}
	c->stopping = 1;
	c->stop_deadline_ms = now_ms() + SHUTDOWN_GRACE_MS;
	/* our links go; pinned ones stay attached and record on for the next start */
	attach_detach_all(&c->bpf);
	if (pin_enabled(&c->bpf.pin)) {
		log_info("%s: finishing deliveries (up to %d ms); the pinned probes record on into "
			 "the pinned ring for the next start", why, SHUTDOWN_GRACE_MS);
		return;
	}
	log_info("%s: detaching probes, finishing deliveries (up to %d ms)", why,
		 SHUTDOWN_GRACE_MS);
	ring_buffer__consume(c->ring); /* what fired before the detach */
}

static void on_signal(struct loop_watch *watch, uint32_t events)
{
	struct collector *c = watch->data;
	struct signalfd_siginfo info;

	(void)events;
	while (read(watch->fd, &info, sizeof(info)) == sizeof(info)) {
		char err[512];

		if (info.ssi_signo != SIGHUP)
			begin_shutdown(c, strsignal((int)info.ssi_signo));
		else if (collector_reload(c, err, sizeof(err)))
			log_error("reload (SIGHUP): %s; still running the previous config", err);
	}
}

static void on_tick(struct loop_watch *watch, uint32_t events)
{
	struct collector *c = watch->data;

	(void)events;
	timer_ack(watch->fd);
	c->boot_to_unix_ns = boot_to_unix_offset_ns();
	if (c->old_configs && !deliver_retired(&c->deliver))
		free_old_configs(c);
	if (!c->stopping)
		durable_refill(&c->durable);
	/* a wake-up the BPF side skipped (batching) is picked up here */
	consume_ring(c);
}

static int read_boot_id(char out[BOOT_ID_LEN])
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "r");
	int ok;

	if (!f)
		return -errno;
	ok = fgets(out, BOOT_ID_LEN, f) != NULL;
	fclose(f);
	if (!ok)
		return -EIO;
	out[strcspn(out, "\n")] = '\0';
	return 0;
}

static void report(struct collector *c)
{
	struct ph_probe_stats stats[PROBEHOOK_EVENT_COUNT];
	uint64_t hits = 0, drops = 0;

	if (attach_read_stats(&c->bpf, stats) == 0)
		for (int i = 0; i < PROBEHOOK_EVENT_COUNT; i++) {
			hits += stats[i].hits;
			drops += stats[i].drops;
		}
	log_info("records %llu (probe hits %llu, ring drops %llu, malformed %llu); "
		 "events matched %llu, unmatched %llu, dropped on a full queue %llu, "
		 "cut to max_payload_bytes %llu; deliveries ok %llu, dead-lettered %llu",
		 (unsigned long long)c->n.records, (unsigned long long)hits,
		 (unsigned long long)drops, (unsigned long long)c->n.malformed,
		 (unsigned long long)c->n.matched, (unsigned long long)c->n.unmatched,
		 (unsigned long long)c->n.queue_full, (unsigned long long)c->n.fitted,
		 (unsigned long long)c->deliver.delivered,
		 (unsigned long long)c->deliver.dead_lettered);
	if (c->n.gaps)
		log_info("the kernel reported %llu records lost to a full ring buffer, in %llu "
			 "probehook.gap reports", (unsigned long long)c->n.gap_records,
			 (unsigned long long)c->n.gaps);
	deliver_report(&c->deliver);
	if (c->durable.spool) {
		struct spool_stats st;

		spool_stats(c->durable.spool, &st);
		log_info("spool %s: %llu events accepted, %llu pending deliveries kept for the next "
			 "start, %llu write errors, %llu refused, %llu evicted, %llu in memory only",
			 c->cfg.spool_dir, (unsigned long long)st.appended,
			 (unsigned long long)st.pending, (unsigned long long)st.write_errors,
			 (unsigned long long)c->durable.refused, (unsigned long long)st.evicted,
			 (unsigned long long)c->durable.not_spooled);
	}
	log_info("shutdown: %llu deliveries undelivered%s", (unsigned long long)c->deliver.pending,
		 c->deliver.pending && c->durable.spool ? " (kept in the spool for the next start)" :
							  "");
}

/* ---- setup ----------------------------------------------------------------------------- */

static int setup_signals(struct collector *c)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	/* a file-size limit must be an error the spool handles, not a kill */
	signal(SIGXFSZ, SIG_IGN);
	fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	c->signal_watch = (struct loop_watch){ .fd = fd, .fn = on_signal, .data = c };
	return loop_add(&c->loop, &c->signal_watch, EPOLLIN);
}

static int setup_ring(struct collector *c)
{
	int fd;

	c->ring = ring_buffer__new(attach_ring_fd(&c->bpf), on_record, c, NULL);
	if (!c->ring)
		return -errno;
	c->ring_watch = (struct loop_watch){ .fd = ring_buffer__epoll_fd(c->ring),
					     .fn = on_ring_ready, .data = c };
	fd = timer_open();
	if (fd < 0)
		return fd;
	c->tick_watch = (struct loop_watch){ .fd = fd, .fn = on_tick, .data = c };
	if (timer_arm_periodic(fd, TICK_MS))
		return -errno;
	fd = timer_open();
	if (fd < 0)
		return fd;
	c->linger_watch = (struct loop_watch){ .fd = fd, .fn = on_linger, .data = c };
	return loop_add(&c->loop, &c->ring_watch, EPOLLIN) ?: loop_add(&c->loop, &c->tick_watch, EPOLLIN) ?:
	       loop_add(&c->loop, &c->linger_watch, EPOLLIN);
}

/* ---- config ------------------------------------------------------------------------------ */

static int load_config_text(const char *path, struct config *cfg, char *err, size_t err_size)
{
	char exe[PATH_MAX];
	ssize_t n;

	if (path)
		return config_load(path, cfg, err, err_size);
	/* the built-in default names files that sit beside the collector */
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0) {
		snprintf(err, err_size, "/proc/self/exe: %s", strerror(errno));
		return -errno;
	}
	exe[n] = '\0';
	return config_parse(config_default_json(), dirname(exe), cfg, err, err_size);
}

static int load_config(const char *path, struct config *cfg)
{
	char err[512];
	int rc = load_config_text(path, cfg, err, sizeof(err));

	if (rc)
		fprintf(stderr, "probehookd: config: %s\n", err);
	for (size_t i = 0; !rc && i < cfg->warning_count; i++)
		log_warn("config: %s", cfg->warnings[i]);
	return rc;
}

/* ---- reload ------------------------------------------------------------------------------ */

static void free_old_configs(struct collector *c)
{
	while (c->old_configs) {
		struct old_config *old = c->old_configs;

		c->old_configs = old->next;
		config_free(&old->cfg);
		free(old);
	}
}

/* --control-socket and --spool-dir win over the config. */
static int replace_string(char **field, const char *value)
{
	char *copy = strdup(value);

	if (!copy)
		return -ENOMEM;
	free(*field);
	*field = copy;
	return 0;
}

static int apply_path_flags(const struct collector *c, struct config *cfg)
{
	int err = 0;

	if (c->control_socket_flag)
		err = replace_string(&cfg->control_socket, c->control_socket_flag);
	if (!err && c->spool_dir_flag)
		err = replace_string(&cfg->spool_dir, c->spool_dir_flag);
	if (!err && c->pin_dir_flag)
		err = replace_string(&cfg->pin_dir, c->pin_dir_flag);
	return err;
}

/* Either may be NULL (unset). */
static bool strings_differ(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) != 0 : a != b;
}

/* Settings fixed at start-up keep their running values; say so. */
static void keep_startup_settings(const struct collector *c, const struct config *running,
				  struct config *next)
{
	if (next->ring_buffer_bytes != running->ring_buffer_bytes ||
	    next->max_arg_bytes != running->max_arg_bytes)
		log_warn("reload: ring_buffer_bytes and max_arg_bytes take effect after a restart");
	next->ring_buffer_bytes = running->ring_buffer_bytes;
	next->max_arg_bytes = running->max_arg_bytes;
	if (apply_path_flags(c, next))
		log_warn("reload: out of memory applying --control-socket/--spool-dir");
	if (strcmp(next->control_socket, running->control_socket) != 0) {
		log_warn("reload: control_socket takes effect after a restart");
		free(next->control_socket);
		next->control_socket = strdup(running->control_socket);
	}
	if (strings_differ(next->pin_dir, running->pin_dir)) {
		log_warn("reload: pin_dir takes effect after a restart");
		free(next->pin_dir);
		next->pin_dir = running->pin_dir ? strdup(running->pin_dir) : NULL;
	}
	if (strcmp(next->spool_dir, running->spool_dir) != 0 ||
	    next->spool_fsync != running->spool_fsync) {
		log_warn("reload: spool_dir and spool_fsync take effect after a restart");
		free(next->spool_dir);
		next->spool_dir = strdup(running->spool_dir);
		next->spool_fsync = running->spool_fsync;
	}
}

int collector_reload(struct collector *c, char *err, size_t err_size)
{
	struct old_config *old = calloc(1, sizeof(*old));
	struct config next;
	int rc;

	if (!old) {
		snprintf(err, err_size, "out of memory");
		return -ENOMEM;
	}
	rc = load_config_text(c->config_path, &next, err, err_size);
	if (rc) {
		free(old);
		return rc;
	}
	keep_startup_settings(c, &c->cfg, &next);
	if (!next.control_socket || !next.spool_dir || (rc = runtime_apply_agents(&c->runtime, &next)) ||
	    (rc = deliver_reconfigure(&c->deliver, &next))) {
		snprintf(err, err_size, "out of memory");
		config_free(&next);
		free(old);
		return rc ? rc : -ENOMEM;
	}
	/* from here on nothing fails: the new config is in force */
	attach_retarget(&c->bpf, &c->cfg, &next);
	old->cfg = c->cfg;
	old->next = c->old_configs;
	c->old_configs = old;
	c->cfg = next;
	durable_follow(&c->durable, &c->cfg);
	collector_sync_probes(c, false);
	if (!deliver_retired(&c->deliver))
		free_old_configs(c);
	log_info("reloaded %s: %zu targets, %zu endpoints, %zu agents",
		 c->config_path ? c->config_path : "the built-in config", c->cfg.target_count,
		 c->cfg.endpoint_count, c->cfg.agent_count);
	return 0;
}

static void on_spool_sync(struct loop_watch *watch, uint32_t events)
{
	struct collector *c = watch->data;

	(void)events;
	timer_ack(watch->fd);
	durable_sync(&c->durable);
}

/* The spool before anything is read from the ring: what it holds goes first. */
static int setup_durable(struct collector *c)
{
	int err = durable_open(&c->durable, &c->cfg, &c->deliver), fd;

	if (err)
		return err;
	if (c->cfg.spool_fsync == SPOOL_FSYNC_BATCH) {
		fd = timer_open();
		if (fd < 0)
			return fd;
		c->sync_watch = (struct loop_watch){ .fd = fd, .fn = on_spool_sync, .data = c };
		if ((err = timer_arm_periodic(fd, c->cfg.spool_fsync_interval_ms)) ||
		    (err = loop_add(&c->loop, &c->sync_watch, EPOLLIN)))
			return err;
	}
	return durable_recover(&c->durable);
}

static int setup_control(struct collector *c)
{
	int fd = timer_open();

	if (fd < 0)
		return fd;
	c->revert_watch = (struct loop_watch){ .fd = fd, .fn = on_revert, .data = c };
	if (loop_add(&c->loop, &c->revert_watch, EPOLLIN))
		return -errno;
	return control_open(&c->control, &c->loop, c->cfg.control_socket, commands_handle, c);
}

static int run(struct collector *c)
{
	while (c->stopping < 2) {
		int n = loop_run_once(&c->loop, c->stopping ? 50 : -1);

		if (n < 0) {
			log_error("event loop: %s", strerror(-n));
			return n;
		}
		if (c->stopping && (deliver_active(&c->deliver) == 0 || now_ms() >= c->stop_deadline_ms))
			break;
	}
	return 0;
}

/* What the config would refuse, refused here too. */
static int check_path_flags(const struct collector *c)
{
	const char *flags[] = { c->control_socket_flag, c->spool_dir_flag, c->pin_dir_flag };

	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		if (flags[i] && flags[i][0] != '/') {
			fprintf(stderr, "probehookd: %s: paths given as flags must be absolute\n",
				flags[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: probehookd [--config FILE] [--check] [--verbose]\n"
		"\n"
		"Turns probehook USDT probes in running programs into signed webhooks.\n"
		"\n"
		"  -c, --config FILE  JSON config (default: the built-in demo config: the demo\n"
		"                     agent and libprobehook.so beside probehookd, delivering\n"
		"                     every event to http://127.0.0.1:9000/hooks)\n"
		"  -n, --check        validate the config, print what is wrong, and exit\n"
		"  -v, --verbose      log every delivery and libbpf's messages\n"
		"      --control-socket PATH  probehookctl's socket, instead of the config's\n"
		"      --spool-dir DIR    the spool, dead letters and attempt log, instead of\n"
		"                         the config's spool_dir\n"
		"      --pin-dir DIR      keep the ring buffer, counters and probe links pinned\n"
		"                         in DIR (on bpffs), instead of the config's pin_dir:\n"
		"                         the kernel records on while the collector restarts\n"
		"      --keep-capabilities  do not drop capabilities after start-up\n"
		"  -h, --help         this text\n"
		"  -V, --version      print the version\n"
		"\n"
		"Runs in the foreground and logs to stderr; SIGINT/SIGTERM stop it after\n"
		"in-flight deliveries finish (a second signal stops at once); SIGHUP reloads\n"
		"the config.  probehookctl talks to it over the control socket.\n"
		"Exit status: 0 ok, 1 runtime error, 2 usage or config error.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { "keep-capabilities", no_argument, NULL, 'K' },
		{ "control-socket", required_argument, NULL, 'S' },
		{ "spool-dir", required_argument, NULL, 'D' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ 0 }
	};
	struct collector c = { 0 };
	const char *config_path = NULL;
	int keep_caps = 0;
	int check = 0, opt, err, status = 1;

	while ((opt = getopt_long(argc, argv, "c:nvhV", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'n': check = 1; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("probehookd %s\n", PROBEHOOK_VERSION); return 0;
		case 'K': keep_caps = 1; break;
		case 'S': c.control_socket_flag = optarg; break;
		case 'D': c.spool_dir_flag = optarg; break;
		case 'P': c.pin_dir_flag = optarg; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "probehookd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (check_path_flags(&c))
		return 2;
	if (load_config(config_path, &c.cfg))
		return 2;
	if (apply_path_flags(&c, &c.cfg)) {
		config_free(&c.cfg);
		return 1;
	}
	if (check) {
		printf("%s: ok (%zu targets, %zu endpoints, %zu agents)\n",
		       config_path ? config_path : "built-in config", c.cfg.target_count,
		       c.cfg.endpoint_count, c.cfg.agent_count);
		config_free(&c.cfg);
		return 0;
	}
	if (!config_path)
		log_warn("no --config: using the built-in demo config (demo secret; not for production)");

	c.config_path = config_path;
	c.started_ms = now_ms();
	c.loop.epfd = -1;
	c.control.listener.fd = c.revert_watch.fd = -1;
	c.boot_to_unix_ns = boot_to_unix_offset_ns();
	if ((err = read_boot_id(c.boot_id))) {
		log_error("cannot read the boot id: %s", strerror(-err));
		goto out_config;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		goto out_config;
	if ((err = loop_init(&c.loop)) || (err = setup_signals(&c))) {
		log_error("event loop setup: %s", strerror(-err));
		goto out_curl;
	}
	if ((err = attach_load(&c.bpf, &c.cfg)))
		goto out_loop;
	if ((err = deliver_init(&c.deliver, &c.loop, &c.cfg))) {
		log_error("delivery setup: %s", strerror(-err));
		goto out_bpf;
	}
	if ((err = setup_durable(&c)))
		goto out_ring;
	if ((err = setup_ring(&c))) {
		log_error("ring buffer setup: %s", strerror(-err));
		goto out_ring;
	}
	if ((err = setup_control(&c))) {
		log_error("control socket setup: %s", strerror(-err));
		goto out_control;
	}
	if ((err = collector_sync_probes(&c, true)))
		goto out_control;
	if (!keep_caps && (err = caps_drop_to_kept())) {
		log_error("dropping capabilities: %s", strerror(-err));
		goto out_control;
	}
	log_info("probehookd %s running: %zu targets, %zu endpoints", PROBEHOOK_VERSION,
		 c.cfg.target_count, c.cfg.endpoint_count);
	if (run(&c) == 0)
		status = 0;
	report(&c);
out_control:
	control_close(&c.control);
	if (c.revert_watch.fd >= 0)
		close(c.revert_watch.fd);
	runtime_free(&c.runtime);
out_ring:
	ring_buffer__free(c.ring);
	if (c.tick_watch.fd > 0)
		close(c.tick_watch.fd);
	if (c.linger_watch.fd > 0)
		close(c.linger_watch.fd);
	deliver_fini(&c.deliver);
	durable_close(&c.durable);
	if (c.sync_watch.fd > 0)
		close(c.sync_watch.fd);
	free_old_configs(&c);
out_bpf:
	attach_unload(&c.bpf);
out_loop:
	if (c.signal_watch.fd > 0)
		close(c.signal_watch.fd);
	loop_fini(&c.loop);
out_curl:
	curl_global_cleanup();
out_config:
	config_free(&c.cfg);
	return status;
}
