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

#include "attach.h"
#include "config.h"
#include "decode.h"
#include "deliver.h"
#include "event.h"
#include "log.h"
#include "loop.h"
#include "match.h"
#include "timefmt.h"

#define TICK_MS 100             /* safety-net ring poll, clock re-sync, stats */
#define SHUTDOWN_GRACE_MS 5000  /* time to finish in-flight deliveries on exit */
#define BOOT_ID_LEN 40

struct collector {
	struct config cfg;
	struct loop loop;
	struct attach bpf;
	struct deliver deliver;
	struct ring_buffer *ring;
	struct loop_watch ring_watch;
	struct loop_watch signal_watch;
	struct loop_watch tick_watch;
	int64_t boot_to_unix_ns;
	char boot_id[BOOT_ID_LEN];
	int stopping;           /* 0 running, 1 draining, 2 stop now */
	uint64_t stop_deadline_ms;
	/* counters */
	uint64_t records, malformed, unmatched, matched, build_failures, queue_full, fitted;
	char print_buf[16384];  /* an event's body, before it is copied into its payload */
};

/* ---- the ring buffer: one record in, deliveries out ------------------------------------- */

static const char *agent_of(const cJSON *event)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(event, "data");
	const cJSON *agent = cJSON_GetObjectItemCaseSensitive(data, "agent_id");

	return cJSON_IsString(agent) ? agent->valuestring : NULL;
}

/*
 * The body for an endpoint whose max_payload_bytes the full body exceeds:
 * the event with its largest fields cut (and flagged).  One variant is kept
 * per call, as endpoints usually share one cap.
 */
struct fitted {
	unsigned int cap;
	struct payload *p;
};

static struct payload *fit_payload(struct collector *c, const cJSON *event, const char *id,
				   const char *agent, unsigned int cap, struct fitted *fit)
{
	cJSON *copy;
	char *body = NULL;
	int err;

	if (fit->p && fit->cap == cap)
		return fit->p;
	payload_put(fit->p);
	fit->p = NULL;
	copy = cJSON_Duplicate(event, 1);
	if (!copy)
		return NULL;
	err = event_fit(copy, cap, &body);
	cJSON_Delete(copy);
	if (err == -E2BIG)
		log_warn("event %s: still %zu bytes after cutting every field (max_payload_bytes %u)",
			 id, strlen(body), cap);
	else if (err)
		return NULL;
	fit->cap = cap;
	fit->p = payload_new(id, agent, body, strlen(body));
	free(body);
	if (fit->p)
		c->fitted++;
	return fit->p;
}

static int route_event(struct collector *c, const struct decoded_event *ev)
{
	const char *type = ev->def->type, *agent, *text;
	struct fitted fit = { 0 };
	struct payload *p = NULL, *send;
	char id[EVENT_ID_LEN];
	cJSON *event;
	char *body = NULL;
	int err = 0, wanted = 0;

	if (c->deliver.pending >= c->cfg.queue_max) {
		/* memory is bounded; the count says what this cost */
		if (c->queue_full++ == 0)
			log_warn("delivery queue full (queue_max %u): dropping events until it drains",
				 c->cfg.queue_max);
		return -ENOBUFS;
	}
	event = event_build(ev, c->boot_to_unix_ns);
	if (!event) {
		c->build_failures++;
		return -ENOMEM;
	}
	agent = agent_of(event);
	for (size_t e = 0; e < c->cfg.endpoint_count; e++) {
		const struct config_endpoint *ep = &c->cfg.endpoints[e];

		if (!match_endpoint(&c->cfg, ep, type, agent))
			continue;
		if (!p) {
			/* most bodies fit the stack buffer: no malloc and realloc chain */
			if (cJSON_PrintPreallocated(event, c->print_buf, sizeof(c->print_buf), 0))
				text = c->print_buf;
			else
				text = body = cJSON_PrintUnformatted(event);
			event_id(ev->rec, c->boot_id, id);
			p = text ? payload_new(id, agent, text, strlen(text)) : NULL;
			if (!p) {
				err = -ENOMEM;
				c->build_failures++;
				break;
			}
		}
		wanted = 1;
		send = p->len <= ep->max_payload_bytes ? p :
			fit_payload(c, event, id, agent, ep->max_payload_bytes, &fit);
		err = send ? deliver_submit(&c->deliver, e, send) : -ENOMEM;
		if (err)
			break;
	}
	if (wanted)
		c->matched++;
	else if (!err)
		c->unmatched++;
	payload_put(fit.p);
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

	c->records++;
	if (decode_record(data, size, &ev, &why)) {
		c->malformed++;
		log_warn("dropping a malformed record (%zu bytes): %s", size, why);
		return 0;
	}
	route_event(c, &ev);
	return 0; /* never stop consuming: the record is gone either way */
}

static void on_ring_ready(struct loop_watch *watch, uint32_t events)
{
	struct collector *c = watch->data;

	(void)events;
	ring_buffer__consume(c->ring);
}

/* ---- signals, ticks, shutdown ---------------------------------------------------------- */

static void begin_shutdown(struct collector *c, const char *why)
{
	if (c->stopping) {
		log_warn("%s again: stopping now", why);
		c->stopping = 2;
		return;
	}
	log_info("%s: detaching probes, finishing deliveries (up to %d ms)", why,
		 SHUTDOWN_GRACE_MS);
	c->stopping = 1;
	c->stop_deadline_ms = now_ms() + SHUTDOWN_GRACE_MS;
	attach_detach_all(&c->bpf);
	ring_buffer__consume(c->ring); /* what fired before the detach */
}

static void on_signal(struct loop_watch *watch, uint32_t events)
{
	struct collector *c = watch->data;
	struct signalfd_siginfo info;

	(void)events;
	while (read(watch->fd, &info, sizeof(info)) == sizeof(info))
		begin_shutdown(c, strsignal((int)info.ssi_signo));
}

static void on_tick(struct loop_watch *watch, uint32_t events)
{
	struct collector *c = watch->data;

	(void)events;
	timer_ack(watch->fd);
	c->boot_to_unix_ns = boot_to_unix_offset_ns();
	/* a wake-up the BPF side skipped (batching) is picked up here */
	ring_buffer__consume(c->ring);
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
		 (unsigned long long)c->records, (unsigned long long)hits,
		 (unsigned long long)drops, (unsigned long long)c->malformed,
		 (unsigned long long)c->matched, (unsigned long long)c->unmatched,
		 (unsigned long long)c->queue_full, (unsigned long long)c->fitted,
		 (unsigned long long)c->deliver.delivered,
		 (unsigned long long)c->deliver.dead_lettered);
	deliver_report(&c->deliver);
	log_info("shutdown: %llu deliveries undelivered",
		 (unsigned long long)c->deliver.pending);
}

/* ---- setup ----------------------------------------------------------------------------- */

static int setup_signals(struct collector *c)
{
	sigset_t mask;
	int fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &mask, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
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
	return loop_add(&c->loop, &c->ring_watch, EPOLLIN) ?: loop_add(&c->loop, &c->tick_watch, EPOLLIN);
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

static int load_config(const char *path, struct config *cfg)
{
	char err[512], exe[PATH_MAX];
	ssize_t n;
	int rc;

	if (path) {
		rc = config_load(path, cfg, err, sizeof(err));
	} else {
		/* the built-in default names files that sit beside the collector */
		n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
		if (n < 0)
			return -errno;
		exe[n] = '\0';
		rc = config_parse(config_default_json(), dirname(exe), cfg, err, sizeof(err));
	}
	if (rc)
		fprintf(stderr, "probehookd: config: %s\n", err);
	for (size_t i = 0; !rc && i < cfg->warning_count; i++)
		log_warn("config: %s", cfg->warnings[i]);
	return rc;
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
		"  -h, --help         this text\n"
		"  -V, --version      print the version\n"
		"\n"
		"Runs in the foreground and logs to stderr; SIGINT/SIGTERM stop it after\n"
		"in-flight deliveries finish (a second signal stops at once).\n"
		"Exit status: 0 ok, 1 runtime error, 2 usage or config error.\n");
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "config", required_argument, NULL, 'c' }, { "check", no_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },      { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },      { 0 }
	};
	struct collector c = { 0 };
	const char *config_path = NULL;
	int check = 0, opt, err, status = 1;

	while ((opt = getopt_long(argc, argv, "c:nvhV", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'n': check = 1; break;
		case 'v': log_set_level(LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("probehookd %s\n", PROBEHOOK_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "probehookd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (load_config(config_path, &c.cfg))
		return 2;
	if (check) {
		printf("%s: ok (%zu targets, %zu endpoints, %zu agents)\n",
		       config_path ? config_path : "built-in config", c.cfg.target_count,
		       c.cfg.endpoint_count, c.cfg.agent_count);
		config_free(&c.cfg);
		return 0;
	}
	if (!config_path)
		log_warn("no --config: using the built-in demo config (demo secret; not for production)");

	c.loop.epfd = -1;
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
	if ((err = setup_ring(&c))) {
		log_error("ring buffer setup: %s", strerror(-err));
		goto out_deliver;
	}
	if ((err = attach_probes(&c.bpf, &c.cfg)))
		goto out_ring;
	log_info("probehookd %s running: %zu targets, %zu endpoints", PROBEHOOK_VERSION,
		 c.cfg.target_count, c.cfg.endpoint_count);
	if (run(&c) == 0)
		status = 0;
	report(&c);
out_ring:
	ring_buffer__free(c.ring);
	if (c.tick_watch.fd > 0)
		close(c.tick_watch.fd);
out_deliver:
	deliver_fini(&c.deliver);
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
