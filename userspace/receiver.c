// SPDX-License-Identifier: MIT
/*
 * probehook-receiver: a webhook receiver for tests, demos and people writing their own.
 *
 * One thread, one epoll loop: a listening socket, a signalfd, and non-blocking
 * connections that each move through READING -> (DELAYED) -> WRITING -> READING ... and
 * end with LINGERING when the answer closes the connection.  Timers need no timerfd:
 * every timeout of a kind has the same length, so each kind is a FIFO list already sorted
 * by deadline and the epoll_wait() timeout is the earliest list head.
 *
 * Every request that parses gets one JSON line (flushed before its answer is sent, so a
 * client that saw the answer can rely on the line being there).  See usage() for the CLI
 * and the line format; docs/receiver.md has the same with examples.
 */
#define _GNU_SOURCE	/* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "sign.h"
#include "utf8.h"

#ifndef PROBEHOOK_VERSION
#define PROBEHOOK_VERSION "dev"
#endif

#define PROG "probehook-receiver"

#define HEAD_MAX (16 * 1024)		/* request line + header fields, else 431 */
#define HEADERS_MAX 100			/* header fields, else 431 */
#define BODY_MAX (8 * 1024 * 1024)	/* Content-Length, else 413 */
#define OUT_MAX 1024			/* one answer (plus a pending 100 Continue) */
#define IN_MIN 4096			/* first input buffer */
#define IN_KEEP (64 * 1024)		/* idle connections give back bigger buffers */
#define SECRETS_MAX 16
#define RETRY_AFTER_MAX 256
#define DELAY_MS_MAX 3600000L
#define TOLERANCE_S 300			/* Standard Webhooks replay tolerance */
#define IO_TIMEOUT_MS 30000		/* no progress reading a request or writing an answer */
#define LINGER_MS 2000			/* draining input after a closing answer */
#define EVENTS_MAX 64
#define WHY_MAX 160

#define container_of(ptr, type, member) ((type *)((char *)(ptr) - offsetof(type, member)))

struct list_head {
	struct list_head *next, *prev;
};

static void list_init(struct list_head *h)
{
	h->next = h;
	h->prev = h;
}

static bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static void list_add_tail(struct list_head *n, struct list_head *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static void list_del_init(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

/* What an epoll event's data.ptr points at: the first member of its owner. */
enum watch_kind { WATCH_LISTEN, WATCH_SIGNAL, WATCH_CONN };

struct watch {
	enum watch_kind kind;
};

enum timer_kind { TIMER_IO, TIMER_DELAY, TIMER_LINGER, TIMER_KINDS };

enum conn_state {
	CONN_READING,	/* waiting for (the rest of) a request */
	CONN_DELAYED,	/* answer built, held back for --delay-ms */
	CONN_WRITING,	/* sending the answer */
	CONN_LINGERING,	/* closing answer sent, write side shut, discarding input until EOF */
};

struct header {
	uint32_t name, value;		/* offsets of NUL-terminated strings in conn->in */
};

/* The head of the request being read, parsed in place (names lower-cased, NULs added). */
struct request {
	size_t head_len;		/* 0 until the blank line ending the head has arrived */
	size_t scan;			/* where to resume looking for that blank line */
	size_t body_len;
	uint32_t method, target;
	unsigned int nheaders;
	bool http11, has_length, keep_alive, expect_continue;
	struct header headers[HEADERS_MAX];
};

struct conn {
	struct watch watch;
	int fd;
	enum conn_state state;
	uint32_t events;		/* epoll interest currently registered */
	bool peer_eof;
	bool close_after;		/* close (lingering) once the answer is sent */
	struct list_head node;		/* rx->conns, or rx->dead once closed */
	struct list_head timer;		/* one of rx->timers[], or self-linked */
	uint64_t deadline;		/* monotonic ms, while on a timer list */
	char peer[INET6_ADDRSTRLEN + 8];
	char *in;
	size_t in_len, in_cap;		/* in_len < in_cap: one spare byte for a NUL */
	struct request req;
	size_t out_len, out_sent;
	char out[OUT_MAX];
};

enum sig_state { SIG_UNCHECKED, SIG_VALID, SIG_INVALID, SIG_MISSING, SIG_STATES };

static const char *const sig_names[] = {
	[SIG_UNCHECKED] = "unchecked",
	[SIG_VALID] = "valid",
	[SIG_INVALID] = "invalid",
	[SIG_MISSING] = "missing",
};

/* What one complete request turned into: the JSON line and the answer are built from it. */
struct outcome {
	unsigned long seq;
	const char *method, *path;
	const char *body;		/* NUL-terminated for the duration of the request */
	size_t body_len;
	enum sig_state sig;
	const char *sig_why;
	int status;
	const char *error;		/* for the answer body, or NULL */
	const char *encoding;		/* body_encoding, set while writing the line */
};

struct receiver {
	/* options */
	const char *listen_spec;
	const char *out_path;
	const char *port_file;
	const char *retry_after;
	struct sign_key keys[SECRETS_MAX];
	unsigned int nkeys;
	int status;
	int *status_seq;
	size_t status_seq_len, status_seq_next;
	long delay_ms;
	unsigned long max_requests;
	bool quiet, verbose, raw_body;

	/* runtime */
	FILE *out;
	int epfd, listen_fd, signal_fd, spare_fd;
	struct watch listen_watch, signal_watch;
	char listen_name[INET6_ADDRSTRLEN + 8];
	struct list_head conns, dead;
	struct list_head timers[TIMER_KINDS];
	long timer_ms[TIMER_KINDS];
	bool stop, draining;
	int fatal;			/* negative errno that ends the loop, e.g. --out failing */
	const char *stop_reason;
	time_t date_sec;
	char date[40];			/* cached Date header value */
	char why[WHY_MAX];		/* scratch for formatted signature/reject reasons */
	time_t shed_warned;

	/* counters */
	unsigned long seq;
	unsigned long n_sig[SIG_STATES];
	unsigned long n_rejected;
};

/* ---- logging ------------------------------------------------------------------------------ */

enum level { L_ERROR, L_WARN, L_INFO };

static void rx_log(const struct receiver *rx, enum level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same shape as the collector's log lines: "<time> <program> <level>: <message>". */
static void rx_log(const struct receiver *rx, enum level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warn", "info" };
	struct timespec now;
	struct tm tm;
	char stamp[32];
	va_list ap;

	if (rx->quiet && level != L_ERROR)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	fprintf(stderr, "%s.%03ldZ " PROG " %s: ", stamp, now.tv_nsec / 1000000, names[level]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define log_error(rx, ...) rx_log(rx, L_ERROR, __VA_ARGS__)
#define log_warn(rx, ...) rx_log(rx, L_WARN, __VA_ARGS__)
#define log_info(rx, ...) rx_log(rx, L_INFO, __VA_ARGS__)

/* Client-controlled text headed for a terminal: printable ASCII only, and short. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t i, n = 0;

	for (i = 0; s[i] && n + 4 < size; i++)
		buf[n++] = (s[i] > 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i])
		n += (size_t)snprintf(buf + n, size - n, "...");
	buf[n] = '\0';
	return buf;
}

/* ---- time --------------------------------------------------------------------------------- */

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void rfc3339_now(char *buf, size_t size)
{
	struct timespec now;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ldZ", now.tv_nsec / 1000000);
}

/* The Date header changes once a second; formatting it per answer would be waste. */
static const char *http_date(struct receiver *rx)
{
	time_t now = time(NULL);
	struct tm tm;

	if (now != rx->date_sec) {
		gmtime_r(&now, &tm);
		strftime(rx->date, sizeof(rx->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		rx->date_sec = now;
	}
	return rx->date;
}

/* ---- command line ------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"Usage: " PROG " [OPTION]...\n"
"A webhook receiver for testing Standard Webhooks senders (probehookd, or your own).\n"
"Takes HTTP/1.1 POSTs on any path, checks their signatures, writes one JSON line per\n"
"request and answers with the status you ask for.\n"
"\n"
"Options:\n"
"  -l, --listen ADDR:PORT      where to listen (default 127.0.0.1:9000); port 0 picks a free\n"
"                              port; IPv6 as [::1]:9000; a bare PORT means 127.0.0.1:PORT\n"
"  -s, --secret whsec_...      verify webhook-signature with this secret; repeat it for several\n"
"                              (rotation): valid when any secret matches any v1 entry\n"
"      --status CODE           answer CODE (200-599) to accepted requests (default 200)\n"
"      --status-sequence LIST  answer the comma-separated codes to the first accepted requests,\n"
"                              in order, then --status (default 200); e.g. 500,503,200\n"
"      --delay-ms N            wait N ms before each answer (other connections are served\n"
"                              meanwhile; the JSON line is written at once)\n"
"      --retry-after VALUE     add \"Retry-After: VALUE\" to 429 and 503 answers\n"
"  -o, --out FILE              write the JSON lines to FILE (created or truncated) instead of\n"
"                              stdout\n"
"      --raw-body              add \"body_raw\", the exact body, to each line\n"
"  -n, --max-requests N        exit 0 once N requests have been logged and answered\n"
"      --port-file FILE        once listening, write the port number to FILE (atomically)\n"
"  -q, --quiet                 nothing on stderr but errors\n"
"  -v, --verbose               one human-readable line on stderr per request\n"
"  -h, --help                  show this help\n"
"  -V, --version               show the version\n"
"\n"
"Answers:\n"
"  The status is the first that applies: 405 when the method is not POST (with Allow: POST),\n"
"  401 when --secret is given and the signature is invalid or missing, the next unused\n"
"  code of --status-sequence, --status, 200.  3xx answers carry \"Location: /redirected\".\n"
"  The body is tiny JSON: {\"seq\":N,\"status\":CODE} plus \"error\" when there is one.\n"
"  Keep-alive as usual (HTTP/1.0 with Connection: keep-alive), Expect: 100-continue is\n"
"  honoured, pipelined requests are answered in order.  Requests that cannot be taken get\n"
"  an answer and the connection is closed, with no JSON line (a warning on stderr):\n"
"  400 malformed, 408 no progress for 30 s, 411 Transfer-Encoding (chunked is not\n"
"  supported: send Content-Length), 413 body over 8 MiB, 431 head over 16 KiB or 100\n"
"  fields, 505 not HTTP/1.x.\n"
"\n"
"Signatures (with --secret): Standard Webhooks, HMAC-SHA256 of \"id.timestamp.body\" from\n"
"  the webhook-id and webhook-timestamp headers, sent as space-separated \"v1,<base64>\"\n"
"  entries in webhook-signature.  A timestamp more than 300 s from now is invalid (replay\n"
"  tolerance), and so is a missing or repeated webhook-id or webhook-timestamp.\n"
"\n"
"JSON lines, one per request, flushed before the answer is sent:\n"
"  seq              1, 2, ... in order of arrival\n"
"  time             when the request was complete, RFC 3339 UTC with milliseconds\n"
"  remote           client ADDR:PORT\n"
"  method, path     as sent (path includes any query string)\n"
"  headers          object of lower-cased name: value; repeated fields joined by \", \"\n"
"  webhook_id       the webhook-id header, or null\n"
"  signature        \"valid\", \"invalid\", \"missing\" (no webhook-signature header) or\n"
"                   \"unchecked\" (no --secret)\n"
"  signature_error  why it is invalid or missing, else null\n"
"  status           the status answered\n"
"  body_encoding    \"json\", \"text\" or \"base64\" (the body is not UTF-8 text)\n"
"  body             the body as body_encoding says: \"json\" is the parsed value, written\n"
"                   back by cJSON (numbers past 2^53 may lose precision)\n"
"  body_raw         with --raw-body: the exact body, as a string (base64 if not UTF-8)\n"
"  Bytes that are not UTF-8 in paths and header values become U+FFFD.\n"
"\n"
"Exit status: 0 after --max-requests or on SIGINT/SIGTERM (with a summary on stderr\n"
"unless --quiet), 1 on errors (e.g. the port is in use), 2 on bad usage.\n"
"\n"
"Example:\n"
"  " PROG " --listen 127.0.0.1:0 --port-file /tmp/port \\\n"
"      --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw &\n"
"  curl -d '{\"type\":\"ping\"}' http://127.0.0.1:$(cat /tmp/port)/hook\n");
}

static int parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_status(const char *s, int *out)
{
	long v;

	if (parse_long(s, 200, 599, &v))
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int opt_status_sequence(struct receiver *rx, const char *list)
{
	size_t n = 1, i = 0;
	const char *p;
	char *copy, *tok, *save;
	int err = 0;

	for (p = list; *p; p++)
		n += *p == ',';
	copy = strdup(list);
	free(rx->status_seq);
	rx->status_seq = calloc(n, sizeof(*rx->status_seq));
	if (!copy || !rx->status_seq) {
		err = -ENOMEM;
		goto out;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		err = parse_status(tok, &rx->status_seq[i++]);
		if (err)
			goto out;
	}
	if (i != n)
		err = -EINVAL;	/* an empty entry: "500,,200" or a trailing comma */
	rx->status_seq_len = i;
out:
	free(copy);
	return err;
}

static int opt_secret(struct receiver *rx, const char *secret)
{
	if (rx->nkeys == SECRETS_MAX) {
		fprintf(stderr, PROG ": at most %d --secret\n", SECRETS_MAX);
		return -EINVAL;
	}
	if (sign_key_parse(secret, &rx->keys[rx->nkeys])) {
		fprintf(stderr, PROG ": --secret: not a whsec_<base64> secret of 16 to %d bytes\n",
			SIGN_KEY_MAX);
		return -EINVAL;
	}
	rx->nkeys++;
	return 0;
}

static int opt_retry_after(struct receiver *rx, const char *value)
{
	const char *p;

	if (!*value || strlen(value) > RETRY_AFTER_MAX)
		return -EINVAL;
	for (p = value; *p; p++)	/* it goes verbatim into a header line */
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return -EINVAL;
	rx->retry_after = value;
	return 0;
}

/* "ADDR:PORT", "[IPV6]:PORT", ":PORT" (all addresses) or "PORT" (loopback). */
static int listen_spec_split(const char *spec, char *host, size_t host_size, const char **port)
{
	const char *start = spec, *colon = strrchr(spec, ':');
	size_t len;
	long v;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		start = spec + 1;
		len = (size_t)(close - start);
		*port = close + 2;
	} else if (colon) {
		if (memchr(spec, ':', (size_t)(colon - spec)))
			return -EINVAL;	/* bare IPv6: the port would be ambiguous */
		len = (size_t)(colon - spec);
		*port = colon + 1;
		if (!len)
			start = "0.0.0.0", len = 7;
	} else {
		start = "127.0.0.1", len = 9;
		*port = spec;
	}
	if (!len || len >= host_size || parse_long(*port, 0, 65535, &v))
		return -EINVAL;
	memcpy(host, start, len);
	host[len] = '\0';
	return 0;
}

enum {
	OPT_STATUS = 256, OPT_STATUS_SEQUENCE, OPT_DELAY_MS, OPT_RETRY_AFTER, OPT_PORT_FILE,
	OPT_RAW_BODY,
};

static const struct option long_options[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "secret", required_argument, NULL, 's' },
	{ "status", required_argument, NULL, OPT_STATUS },
	{ "status-sequence", required_argument, NULL, OPT_STATUS_SEQUENCE },
	{ "delay-ms", required_argument, NULL, OPT_DELAY_MS },
	{ "retry-after", required_argument, NULL, OPT_RETRY_AFTER },
	{ "out", required_argument, NULL, 'o' },
	{ "raw-body", no_argument, NULL, OPT_RAW_BODY },
	{ "max-requests", required_argument, NULL, 'n' },
	{ "port-file", required_argument, NULL, OPT_PORT_FILE },
	{ "quiet", no_argument, NULL, 'q' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int opt_one(struct receiver *rx, int opt, const char *arg)
{
	const char *port;
	char host[256];
	long v;

	switch (opt) {
	case 'l':
		rx->listen_spec = arg;
		return listen_spec_split(arg, host, sizeof(host), &port);
	case 's':
		return opt_secret(rx, arg);
	case OPT_STATUS:
		return parse_status(arg, &rx->status);
	case OPT_STATUS_SEQUENCE:
		return opt_status_sequence(rx, arg);
	case OPT_DELAY_MS:
		return parse_long(arg, 0, DELAY_MS_MAX, &rx->delay_ms);
	case OPT_RETRY_AFTER:
		return opt_retry_after(rx, arg);
	case 'o':
		rx->out_path = arg;
		return 0;
	case OPT_RAW_BODY:
		rx->raw_body = true;
		return 0;
	case 'n':
		if (parse_long(arg, 1, LONG_MAX, &v))
			return -EINVAL;
		rx->max_requests = (unsigned long)v;
		return 0;
	case OPT_PORT_FILE:
		rx->port_file = arg;
		return 0;
	case 'q':
		rx->quiet = true;
		return 0;
	case 'v':
		rx->verbose = true;
		return 0;
	}
	return -EINVAL;
}

/* What a value of opt should look like, for the error message. */
static const char *option_expects(int opt)
{
	switch (opt) {
	case 'l':
		return "ADDR:PORT, [IPV6]:PORT or PORT, with PORT 0-65535";
	case OPT_STATUS:
		return "a status code, 200-599";
	case OPT_STATUS_SEQUENCE:
		return "comma-separated status codes, 200-599";
	case OPT_DELAY_MS:
		return "milliseconds, 0-3600000";
	case OPT_RETRY_AFTER:
		return "1 to 256 printable characters";
	case 'n':
		return "a count, 1 or more";
	}
	return "something else";
}

static const char *option_name(int opt)
{
	const struct option *o;

	for (o = long_options; o->name; o++)
		if (o->val == opt)
			return o->name;
	return "?";
}

/* 0 to run, 1 when --help/--version answered, -EINVAL on bad usage (already reported). */
static int options_parse(struct receiver *rx, int argc, char **argv)
{
	int opt, idx;

	while ((opt = getopt_long(argc, argv, "l:s:o:n:qvhV", long_options, &idx)) != -1) {
		if (opt == 'h') {
			usage(stdout);
			return 1;
		}
		if (opt == 'V') {
			printf(PROG " %s\n", PROBEHOOK_VERSION);
			return 1;
		}
		if (opt == '?')
			goto bad;
		if (opt_one(rx, opt, optarg)) {
			/* --secret explains itself; the rest share one message shape */
			if (opt != 's')
				fprintf(stderr, PROG ": invalid value '%s' for --%s: expected %s\n",
					optarg, option_name(opt), option_expects(opt));
			goto bad;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s'\n", argv[optind]);
		goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "Try '" PROG " --help' for more information.\n");
	return -EINVAL;
}

/* ---- UTF-8 and JSON ----------------------------------------------------------------------- */

/* A JSON string of NUL-terminated s, with each malformed byte replaced by U+FFFD. */
static cJSON *json_text(const char *s)
{
	size_t len = strlen(s);
	cJSON *item;
	char *fixed;
	int replaced;

	if (utf8_valid(s, len))
		return cJSON_CreateString(s);
	fixed = utf8_sanitize(s, len, &replaced);
	if (!fixed)
		return NULL;
	item = cJSON_CreateString(fixed);
	free(fixed);
	return item;
}

static cJSON *json_base64(const char *data, size_t len)
{
	size_t size = 4 * ((len + 2) / 3) + 1;
	cJSON *item;
	char *b64;

	b64 = malloc(size);
	if (!b64)
		return NULL;
	base64_encode((const unsigned char *)data, len, b64, size);
	b64[4 * ((len + 2) / 3)] = '\0';
	item = cJSON_CreateString(b64);
	free(b64);
	return item;
}

/*
 * The body as "json", "text" or "base64".  body is NUL-terminated (body[len] == 0), which
 * lets cJSON insist that nothing but whitespace follows the value.
 */
static cJSON *json_body(const char *body, size_t len, bool text_ok, const char **encoding)
{
	cJSON *item;

	if (!text_ok) {
		*encoding = "base64";
		return json_base64(body, len);
	}
	/* cJSON strings end at NUL: a "\u0000" would come back cut short, so keep the text */
	item = strstr(body, "\\u0000") ? NULL : cJSON_ParseWithLengthOpts(body, len + 1, NULL, true);
	if (item) {
		*encoding = "json";
		return item;
	}
	*encoding = "text";
	return cJSON_CreateString(body);
}

/* ---- HTTP request head -------------------------------------------------------------------- */

static bool is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

static bool is_token(const char *s, size_t len)
{
	size_t i;

	if (!len)
		return false;
	for (i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

/* Clients may send stray CRLFs between requests (RFC 9112 §2.2 says to ignore them). */
static void head_skip_blank_lines(struct conn *c)
{
	size_t n = 0;

	while (n < c->in_len && (c->in[n] == '\r' || c->in[n] == '\n'))
		n++;
	if (n) {
		memmove(c->in, c->in + n, c->in_len - n);
		c->in_len -= n;
		c->req.scan = 0;
	}
}

/* Offset just past the empty line ending the head, or 0 when it has not arrived yet. */
static size_t head_find_end(struct conn *c)
{
	struct request *r = &c->req;
	size_t i;

	for (i = r->scan; i < c->in_len; i++) {
		if (c->in[i] != '\n')
			continue;
		if (i + 1 < c->in_len && c->in[i + 1] == '\n')
			return i + 2;
		if (i + 2 < c->in_len && c->in[i + 1] == '\r' && c->in[i + 2] == '\n')
			return i + 3;
		if (i + 2 >= c->in_len)
			break;	/* the bytes that decide have not arrived: look here again */
	}
	r->scan = i;
	return 0;
}

/* Next line of the head, without its CRLF or LF; NULL for a bare CR inside it. */
static char *head_next_line(char **pos, size_t *len)
{
	char *line = *pos, *nl = strchr(line, '\n');

	*pos = nl + 1;
	*len = (size_t)(nl - line);
	if (*len && line[*len - 1] == '\r')
		(*len)--;
	if (memchr(line, '\r', *len))
		return NULL;
	return line;
}

static int head_parse_request_line(struct conn *c, char *line, size_t len, char *why)
{
	struct request *r = &c->req;
	char *sp1, *sp2, *version;

	sp1 = memchr(line, ' ', len);
	sp2 = sp1 ? memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - line)) : NULL;
	if (!sp2 || !is_token(line, (size_t)(sp1 - line)) || sp2 == sp1 + 1) {
		snprintf(why, WHY_MAX, "malformed request line");
		return 400;
	}
	version = sp2 + 1;
	if (line + len - version != 8 || memcmp(version, "HTTP/", 5) || version[6] != '.' ||
	    version[5] < '0' || version[5] > '9' || version[7] < '0' || version[7] > '9') {
		snprintf(why, WHY_MAX, "malformed HTTP version");
		return 400;
	}
	if (version[5] != '1') {
		snprintf(why, WHY_MAX, "HTTP/%c.%c is not supported, only HTTP/1.x", version[5],
			 version[7]);
		return 505;
	}
	for (char *p = sp1 + 1; p < sp2; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f) {
			snprintf(why, WHY_MAX, "control character in the request target");
			return 400;
		}
	}
	/* HTTP/1.1 and later minors persist by default, HTTP/1.0 only when asked */
	r->http11 = version[7] != '0';
	r->keep_alive = r->http11;
	*sp1 = '\0';
	*sp2 = '\0';
	r->method = (uint32_t)(line - c->in);
	r->target = (uint32_t)(sp1 + 1 - c->in);
	return 0;
}

static int head_parse_length(struct request *r, const char *value, char *why)
{
	size_t n = 0;
	const char *p;

	for (p = value; *p; p++) {
		if (*p < '0' || *p > '9')
			break;
		/* saturate: anything past the limit is simply too large */
		n = n > BODY_MAX ? n : n * 10 + (size_t)(*p - '0');
	}
	if (p == value || *p || (r->has_length && n != r->body_len)) {
		snprintf(why, WHY_MAX, "invalid or conflicting Content-Length");
		return 400;
	}
	r->has_length = true;
	r->body_len = n;
	return 0;
}

static void head_parse_connection(struct request *r, const char *value)
{
	const char *p = value;

	while (*p) {
		size_t len;

		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (len == 5 && !strncasecmp(p, "close", 5))
			r->keep_alive = false;
		else if (len == 10 && !strncasecmp(p, "keep-alive", 10))
			r->keep_alive = true;
		p += len;
	}
}

/* Act on the fields that change how the request is read. */
static int head_note_field(struct request *r, const char *name, const char *value, char *why)
{
	if (!strcmp(name, "content-length"))
		return head_parse_length(r, value, why);
	if (!strcmp(name, "transfer-encoding")) {
		/* decoding chunked bodies buys nothing here: senders know their size */
		snprintf(why, WHY_MAX, "Transfer-Encoding is not supported, send Content-Length");
		return 411;
	}
	if (!strcmp(name, "connection"))
		head_parse_connection(r, value);
	else if (!strcmp(name, "expect") && !strcasecmp(value, "100-continue"))
		r->expect_continue = true;
	return 0;
}

static int head_parse_field(struct conn *c, char *line, size_t len, char *why)
{
	struct request *r = &c->req;
	char *colon, *value, *end = line + len;
	struct header *h;

	colon = memchr(line, ':', len);
	if (!colon || !is_token(line, (size_t)(colon - line))) {
		/* also catches obsolete line folding: the line starts with whitespace */
		snprintf(why, WHY_MAX, "malformed header field");
		return 400;
	}
	if (r->nheaders == HEADERS_MAX) {
		snprintf(why, WHY_MAX, "more than %d header fields", HEADERS_MAX);
		return 431;
	}
	value = colon + 1;
	while (value < end && (*value == ' ' || *value == '\t'))
		value++;
	while (end > value && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (memchr(value, '\0', (size_t)(end - value))) {
		snprintf(why, WHY_MAX, "NUL in a header field");
		return 400;
	}
	for (char *p = line; p < colon; p++)
		*p = (char)((*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
	*colon = '\0';
	*end = '\0';
	h = &r->headers[r->nheaders++];
	h->name = (uint32_t)(line - c->in);
	h->value = (uint32_t)(value - c->in);
	return head_note_field(r, line, value, why);
}

/*
 * Parse the head in place once its blank line has arrived.  Returns 0 (r->head_len says
 * whether the head is complete) or the status to reject the request with, reason in why.
 */
static int head_parse(struct conn *c, char *why)
{
	struct request *r = &c->req;
	size_t end = head_find_end(c), len;
	char *pos, *line, saved;
	int status;

	if (!end || end > HEAD_MAX) {
		if (c->in_len < HEAD_MAX && !end)
			return 0;
		snprintf(why, WHY_MAX, "request head over %d bytes", HEAD_MAX);
		return 431;
	}
	/* bound the line search: the byte after the head may be anything, even a newline */
	saved = c->in[end];
	c->in[end] = '\0';
	if (memchr(c->in, '\0', end)) {
		snprintf(why, WHY_MAX, "NUL in the request head");
		status = 400;
		goto out;
	}
	pos = c->in;
	line = head_next_line(&pos, &len);
	status = line ? head_parse_request_line(c, line, len, why) : 400;
	while (!status) {
		line = head_next_line(&pos, &len);
		if (line && !len)
			break;
		status = line ? head_parse_field(c, line, len, why) : 400;
	}
	if (!line && status == 400)
		snprintf(why, WHY_MAX, "bare CR in the request head");
	if (!status && r->body_len > BODY_MAX) {
		snprintf(why, WHY_MAX, "body over %d bytes", BODY_MAX);
		status = 413;
	}
out:
	c->in[end] = saved;
	if (!status)
		r->head_len = end;
	return status;
}

static const char *header_get(const struct conn *c, const char *name, unsigned int *count)
{
	const char *first = NULL;
	unsigned int i, n = 0;

	for (i = 0; i < c->req.nheaders; i++) {
		if (strcmp(c->in + c->req.headers[i].name, name))
			continue;
		if (!n++)
			first = c->in + c->req.headers[i].value;
	}
	if (count)
		*count = n;
	return first;
}

/* ---- what to answer ----------------------------------------------------------------------- */

static bool parse_timestamp(const char *s, long long *out)
{
	size_t len = strspn(s, "0123456789");

	if (!len || len > 18 || s[len])
		return false;
	*out = strtoll(s, NULL, 10);
	return true;
}

/* Standard Webhooks verification, with the reason for a failure in *why. */
static enum sig_state signature_check(struct receiver *rx, const struct conn *c,
				      const struct outcome *o, const char **why)
{
	const char *id, *stamp;
	unsigned int n_id, n_stamp, n_sig, i, k;
	long long ts, skew;
	bool matched = false, any_entry = false;

	*why = NULL;
	if (!rx->nkeys)
		return SIG_UNCHECKED;
	header_get(c, "webhook-signature", &n_sig);
	id = header_get(c, "webhook-id", &n_id);
	stamp = header_get(c, "webhook-timestamp", &n_stamp);
	if (!n_sig) {
		*why = "no webhook-signature header";
		return SIG_MISSING;
	}
	if (n_id != 1 || n_stamp != 1) {
		*why = (n_id > 1 || n_stamp > 1) ? "repeated webhook-id or webhook-timestamp header"
						 : "no webhook-id or webhook-timestamp header";
		return SIG_INVALID;
	}
	if (!parse_timestamp(stamp, &ts)) {
		*why = "webhook-timestamp is not a number of seconds";
		return SIG_INVALID;
	}
	/* several webhook-signature fields are taken as one list of entries */
	for (i = 0; i < c->req.nheaders && !matched; i++) {
		const char *value = c->in + c->req.headers[i].value;

		if (strcmp(c->in + c->req.headers[i].name, "webhook-signature"))
			continue;
		for (k = 0; k < rx->nkeys && !matched; k++) {
			int err = sign_verify(&rx->keys[k], id, ts, o->body, o->body_len, value);

			matched = !err;
			any_entry |= err != -EINVAL;
		}
	}
	if (!matched) {
		*why = any_entry ? "no v1 signature matches any secret"
				 : "webhook-signature holds no entries";
		return SIG_INVALID;
	}
	/* checked after the MAC so that a stale but genuine request says so */
	skew = (long long)time(NULL) - ts;
	if (skew > TOLERANCE_S || skew < -TOLERANCE_S) {
		snprintf(rx->why, sizeof(rx->why), "webhook-timestamp is %lld s in the %s (tolerance %d s)",
			 skew < 0 ? -skew : skew, skew < 0 ? "future" : "past", TOLERANCE_S);
		*why = rx->why;
		return SIG_INVALID;
	}
	return SIG_VALID;
}

static void status_choose(struct receiver *rx, struct outcome *o, bool is_post)
{
	if (!is_post) {
		o->status = 405;
		o->error = "only POST is accepted";
	} else if (o->sig == SIG_INVALID || o->sig == SIG_MISSING) {
		o->status = 401;
		o->error = o->sig == SIG_MISSING ? "signature missing" : "signature invalid";
	} else if (rx->status_seq_next < rx->status_seq_len) {
		o->status = rx->status_seq[rx->status_seq_next++];
	} else {
		o->status = rx->status;
	}
}

/* ---- the JSON line ------------------------------------------------------------------------ */

static cJSON *line_headers(const struct conn *c)
{
	cJSON *obj = cJSON_CreateObject(), *old, *item;
	unsigned int i;

	for (i = 0; obj && i < c->req.nheaders; i++) {
		const char *name = c->in + c->req.headers[i].name;
		const char *value = c->in + c->req.headers[i].value;

		old = cJSON_GetObjectItemCaseSensitive(obj, name);
		if (old) {
			/* a repeated field means the same as one with the values comma-joined */
			size_t len = strlen(old->valuestring) + strlen(value) + 3;
			char *joined = malloc(len);

			if (!joined)
				goto fail;
			snprintf(joined, len, "%s, %s", old->valuestring, value);
			item = json_text(joined);
			free(joined);
			if (!item || !cJSON_ReplaceItemInObjectCaseSensitive(obj, name, item))
				goto fail_item;
			continue;
		}
		item = json_text(value);
		if (!item || !cJSON_AddItemToObject(obj, name, item))
			goto fail_item;
	}
	return obj;
fail_item:
	cJSON_Delete(item);
fail:
	cJSON_Delete(obj);
	return NULL;
}

/* Integers as raw text: cJSON 1.7.15 prints every number with "%1.15g" and reads it back. */
static cJSON *json_uint(unsigned long v)
{
	char text[24];

	snprintf(text, sizeof(text), "%lu", v);
	return cJSON_CreateRaw(text);
}

static bool json_add(cJSON *obj, const char *name, cJSON *item)
{
	if (item && cJSON_AddItemToObject(obj, name, item))
		return true;
	cJSON_Delete(item);
	return false;
}

static cJSON *line_build(struct receiver *rx, const struct conn *c, struct outcome *o)
{
	const char *id = header_get(c, "webhook-id", NULL);
	bool text_ok = utf8_valid(o->body, o->body_len);
	cJSON *line, *body;
	char stamp[40];
	bool ok;

	rfc3339_now(stamp, sizeof(stamp));
	body = json_body(o->body, o->body_len, text_ok, &o->encoding);
	line = cJSON_CreateObject();
	if (!line || !body)
		goto fail;
	ok = json_add(line, "seq", json_uint(o->seq)) &&
	     json_add(line, "time", cJSON_CreateString(stamp)) &&
	     json_add(line, "remote", cJSON_CreateString(c->peer)) &&
	     json_add(line, "method", json_text(o->method)) &&
	     json_add(line, "path", json_text(o->path)) &&
	     json_add(line, "headers", line_headers(c)) &&
	     json_add(line, "webhook_id", id ? json_text(id) : cJSON_CreateNull()) &&
	     json_add(line, "signature", cJSON_CreateString(sig_names[o->sig])) &&
	     json_add(line, "signature_error",
		      o->sig_why ? cJSON_CreateString(o->sig_why) : cJSON_CreateNull()) &&
	     json_add(line, "status", json_uint((unsigned long)o->status)) &&
	     json_add(line, "body_encoding", cJSON_CreateString(o->encoding));
	if (!ok)
		goto fail;
	/* body last: it is the big one, and the rest reads better before it */
	ok = json_add(line, "body", body);
	body = NULL;	/* owned by line now, or freed by json_add */
	if (ok && rx->raw_body)
		ok = json_add(line, "body_raw", text_ok ? cJSON_CreateString(o->body)
						       : json_base64(o->body, o->body_len));
	if (!ok)
		goto fail;
	return line;
fail:
	cJSON_Delete(body);
	cJSON_Delete(line);
	return NULL;
}

static int line_write(struct receiver *rx, const struct conn *c, struct outcome *o)
{
	cJSON *line = line_build(rx, c, o);
	char *text;
	int err = 0;

	if (!line)
		return -ENOMEM;
	text = cJSON_PrintUnformatted(line);
	cJSON_Delete(line);
	if (!text)
		return -ENOMEM;
	/* flushed per line: whoever reads the file may be waiting for exactly this one */
	if (fputs(text, rx->out) < 0 || fputc('\n', rx->out) < 0 || fflush(rx->out))
		err = errno ? -errno : -EIO;
	free(text);
	return err;
}

static void request_log(struct receiver *rx, const struct conn *c, const struct outcome *o)
{
	const char *id = header_get(c, "webhook-id", NULL);
	char path[64], wid[64];

	if (!rx->verbose)
		return;
	log_info(rx, "#%lu %s %s from %s -> %d; webhook-id %s; signature %s%s%s; body %zu bytes %s",
		 o->seq, o->method, printable(o->path, path, sizeof(path)), c->peer, o->status,
		 id ? printable(id, wid, sizeof(wid)) : "-", sig_names[o->sig],
		 o->sig_why ? ": " : "", o->sig_why ? o->sig_why : "", o->body_len, o->encoding);
}

/* ---- the answer --------------------------------------------------------------------------- */

static const char *reason_phrase(int status)
{
	static const struct {
		int status;
		const char *text;
	} table[] = {
		{ 100, "Continue" }, { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
		{ 204, "No Content" }, { 301, "Moved Permanently" }, { 302, "Found" },
		{ 303, "See Other" }, { 304, "Not Modified" }, { 307, "Temporary Redirect" },
		{ 308, "Permanent Redirect" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
		{ 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
		{ 411, "Length Required" }, { 413, "Content Too Large" },
		{ 415, "Unsupported Media Type" }, { 422, "Unprocessable Content" },
		{ 429, "Too Many Requests" }, { 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" }, { 501, "Not Implemented" },
		{ 502, "Bad Gateway" }, { 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
	};
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].status == status)
			return table[i].text;
	return "";	/* the reason phrase may be empty; the status code is what counts */
}

static int __attribute__((format(printf, 2, 3))) out_printf(struct conn *c, const char *fmt, ...)
{
	size_t room = sizeof(c->out) - c->out_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->out + c->out_len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return -ENOBUFS;
	c->out_len += (size_t)n;
	return 0;
}

/* Queue an answer after anything still unsent.  seq 0: a rejected request, never logged. */
static int response_build(struct receiver *rx, struct conn *c, int status, unsigned long seq,
			  const char *error, bool head_only)
{
	char body[3 * WHY_MAX];
	int n, err;

	if (seq)
		n = snprintf(body, sizeof(body), "{\"seq\":%lu,\"status\":%d", seq, status);
	else
		n = snprintf(body, sizeof(body), "{\"status\":%d", status);
	/* error strings are ours, never the client's: nothing to escape */
	if (error)
		n += snprintf(body + n, sizeof(body) - (size_t)n, ",\"error\":\"%s\"", error);
	snprintf(body + n, sizeof(body) - (size_t)n, "}\n");
	err = out_printf(c, "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: " PROG "\r\n", status,
			 reason_phrase(status), http_date(rx));
	if (!err && status >= 300 && status < 400 && status != 304)
		err = out_printf(c, "Location: /redirected\r\n");
	if (!err && rx->retry_after && (status == 429 || status == 503))
		err = out_printf(c, "Retry-After: %s\r\n", rx->retry_after);
	if (!err && status == 405)
		err = out_printf(c, "Allow: POST\r\n");
	if (!err && c->close_after)
		err = out_printf(c, "Connection: close\r\n");
	else if (!err && c->req.keep_alive && !c->req.http11)
		err = out_printf(c, "Connection: keep-alive\r\n");
	/* 204 and 304 have no content, and no Content-Length to announce any */
	if (status == 204 || status == 304)
		return err ? err : out_printf(c, "\r\n");
	if (!err)
		err = out_printf(c, "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
				 strlen(body));
	if (!err && !head_only)
		err = out_printf(c, "%s", body);
	return err;
}

/* ---- connections -------------------------------------------------------------------------- */

static void receiver_drain(struct receiver *rx);

static void receiver_fail(struct receiver *rx, int err, const char *what)
{
	log_error(rx, "%s: %s", what, strerror(-err));
	rx->fatal = err;
	rx->stop = true;
}

static void conn_timer_start(struct receiver *rx, struct conn *c, enum timer_kind kind)
{
	/* every timer of a kind lasts as long, so appending keeps the list sorted */
	list_del_init(&c->timer);
	c->deadline = now_ms() + (uint64_t)rx->timer_ms[kind];
	list_add_tail(&c->timer, &rx->timers[kind]);
}

static void conn_timer_stop(struct conn *c)
{
	list_del_init(&c->timer);
}

/* Each state arms the timer it needs; none carries over from the previous one. */
static void conn_set_state(struct conn *c, enum conn_state state)
{
	c->state = state;
	conn_timer_stop(c);
}

/* Close now; the memory goes at the end of the loop iteration, when no event refers to it. */
static void conn_close(struct receiver *rx, struct conn *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	conn_timer_stop(c);
	list_del_init(&c->node);
	list_add_tail(&c->node, &rx->dead);
}

static void conns_reap(struct receiver *rx)
{
	while (!list_empty(&rx->dead)) {
		struct conn *c = container_of(rx->dead.next, struct conn, node);

		list_del_init(&c->node);
		free(c->in);
		free(c);
	}
}

static void conns_close_all(struct receiver *rx)
{
	while (!list_empty(&rx->conns))
		conn_close(rx, container_of(rx->conns.next, struct conn, node));
	conns_reap(rx);
}

static uint32_t conn_interest(const struct conn *c)
{
	switch (c->state) {
	case CONN_READING:
		return EPOLLIN | EPOLLRDHUP | (c->out_sent < c->out_len ? EPOLLOUT : 0);
	case CONN_WRITING:
		return EPOLLOUT;
	case CONN_LINGERING:
		return EPOLLIN | EPOLLRDHUP;
	case CONN_DELAYED:
		break;	/* level-triggered input would spin while the answer waits */
	}
	return 0;
}

static int conn_set_events(struct receiver *rx, struct conn *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = &c->watch };

	if (events == c->events)
		return 0;
	if (epoll_ctl(rx->epfd, EPOLL_CTL_MOD, c->fd, &ev))
		return -errno;
	c->events = events;
	return 0;
}

static void sockaddr_format(const struct sockaddr_storage *ss, char *buf, size_t size)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
	char addr[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6 && inet_ntop(AF_INET6, &in6->sin6_addr, addr, sizeof(addr)))
		snprintf(buf, size, "[%s]:%u", addr, ntohs(in6->sin6_port));
	else if (ss->ss_family == AF_INET && inet_ntop(AF_INET, &in4->sin_addr, addr, sizeof(addr)))
		snprintf(buf, size, "%s:%u", addr, ntohs(in4->sin_port));
	else
		snprintf(buf, size, "unknown");
}

static int conn_open(struct receiver *rx, int fd, const struct sockaddr_storage *ss)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP };
	struct conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		return -ENOMEM;
	c->watch.kind = WATCH_CONN;
	c->fd = fd;
	c->events = ev.events;
	list_init(&c->timer);
	sockaddr_format(ss, c->peer, sizeof(c->peer));
	/* answers leave in one write; Nagle would only hold back a 100 Continue */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	ev.data.ptr = &c->watch;
	if (epoll_ctl(rx->epfd, EPOLL_CTL_ADD, fd, &ev)) {
		int err = -errno;

		free(c);
		return err;
	}
	list_add_tail(&c->node, &rx->conns);
	return 0;
}

/* Grow the input buffer towards limit, the end of the current request, plus a spare byte. */
static int conn_grow(struct conn *c, size_t limit)
{
	size_t cap = c->req.head_len ? limit + 1 : c->in_cap * 2;
	char *in;

	if (cap < IN_MIN)
		cap = IN_MIN;
	if (cap > limit + 1)
		cap = limit + 1;
	if (cap <= c->in_cap)
		return -ENOBUFS;
	in = realloc(c->in, cap);
	if (!in)
		return -ENOMEM;
	c->in = in;
	c->in_cap = cap;
	return 0;
}

/* Read what has arrived, up to the end of the current request (or of the longest head). */
static int conn_fill(struct conn *c, bool *progress)
{
	size_t limit = c->req.head_len ? c->req.head_len + c->req.body_len : HEAD_MAX;

	while (c->in_len < limit && !c->peer_eof) {
		size_t room;
		ssize_t n;

		if (c->in_len + 1 >= c->in_cap) {
			int err = conn_grow(c, limit);

			if (err)
				return err;
		}
		room = c->in_cap - 1 - c->in_len;
		n = recv(c->fd, c->in + c->in_len, room, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			*progress = true;
			/* a short read drained the socket: spare the recv that would say EAGAIN
			 * (level-triggered epoll reports whatever arrives next) */
			if ((size_t)n < room)
				break;
		} else if (n == 0) {
			c->peer_eof = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			break;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	return 0;
}

static int conn_send(struct conn *c, bool *progress)
{
	while (c->out_sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL);

		if (n >= 0) {
			c->out_sent += (size_t)n;
			*progress = true;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return 0;
		} else if (errno != EINTR) {
			return -errno;
		}
	}
	c->out_len = 0;
	c->out_sent = 0;
	return 0;
}

/* LINGERING: 0 while the client still has something to say, else the end of it. */
static int conn_discard(struct conn *c)
{
	char buf[4096];
	int i;

	for (i = 0; i < 64; i++) {	/* bounded: a flooding client cannot hold the loop */
		ssize_t n = recv(c->fd, buf, sizeof(buf), 0);

		if (n == 0)
			return -ESHUTDOWN;
		if (n < 0 && errno != EINTR)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
	}
	return 0;
}

static void conn_consume(struct conn *c, size_t used)
{
	memmove(c->in, c->in + used, c->in_len - used);
	c->in_len -= used;
	memset(&c->req, 0, sizeof(c->req));
	if (!c->in_len && c->in_cap > IN_KEEP) {
		/* one big body should not pin megabytes to an idle keep-alive connection */
		free(c->in);
		c->in = NULL;
		c->in_cap = 0;
	}
}

/* Answer a request that cannot be taken, and close: what follows it cannot be trusted. */
static void conn_reject(struct receiver *rx, struct conn *c, int status, const char *why)
{
	rx->n_rejected++;
	log_warn(rx, "%s: answered %d and closing: %s", c->peer, status, why);
	c->close_after = true;
	c->in_len = 0;
	memset(&c->req, 0, sizeof(c->req));
	if (response_build(rx, c, status, 0, why, false)) {
		conn_close(rx, c);
		return;
	}
	conn_set_state(c, CONN_WRITING);
}

static void request_complete(struct receiver *rx, struct conn *c)
{
	struct request *r = &c->req;
	struct outcome o = {
		.seq = ++rx->seq,
		.method = c->in + r->method,
		.path = c->in + r->target,
		.body = c->in + r->head_len,
		.body_len = r->body_len,
	};
	char *end = c->in + r->head_len + r->body_len, saved = *end;
	bool head_only = !strcmp(o.method, "HEAD"), last;
	char error[2 * WHY_MAX];
	int err;

	*end = '\0';	/* conn_grow keeps a spare byte; *end may start a pipelined request */
	o.sig = signature_check(rx, c, &o, &o.sig_why);
	status_choose(rx, &o, !strcmp(o.method, "POST"));
	rx->n_sig[o.sig]++;
	err = line_write(rx, c, &o);
	if (!err)
		request_log(rx, c, &o);
	*end = saved;
	if (err) {
		receiver_fail(rx, err, "cannot write the JSON line");
		return;
	}
	if (o.error && o.sig_why && o.status == 401) {
		snprintf(error, sizeof(error), "%s: %s", o.error, o.sig_why);
		o.error = error;
	}
	last = rx->max_requests && o.seq >= rx->max_requests;
	c->close_after = !r->keep_alive || last;
	err = response_build(rx, c, o.status, o.seq, o.error, head_only);
	conn_consume(c, (size_t)(end - c->in));
	if (err) {
		conn_close(rx, c);
		return;
	}
	conn_set_state(c, rx->delay_ms ? CONN_DELAYED : CONN_WRITING);
	if (rx->delay_ms)
		conn_timer_start(rx, c, TIMER_DELAY);
	if (last)
		receiver_drain(rx);
}

/* READING: take the next request from the buffer if all of it is there. */
static void conn_read_step(struct receiver *rx, struct conn *c)
{
	struct request *r = &c->req;
	char why[WHY_MAX];
	int status;

	if (!r->head_len) {
		head_skip_blank_lines(c);
		status = head_parse(c, why);
		if (status) {
			conn_reject(rx, c, status, why);
			return;
		}
		/* without this, curl waits a second before sending a large body */
		if (r->head_len && r->expect_continue && r->http11 &&
		    c->in_len < r->head_len + r->body_len)
			out_printf(c, "HTTP/1.1 100 Continue\r\n\r\n");
	}
	if (r->head_len && c->in_len >= r->head_len + r->body_len) {
		request_complete(rx, c);
		return;
	}
	if (c->peer_eof) {
		if (c->in_len)
			log_warn(rx, "%s: connection closed mid-request, %zu bytes dropped", c->peer,
				 c->in_len);
		conn_close(rx, c);
	}
}

/* The answer is out: on to the next request, or close. */
static void conn_answered(struct receiver *rx, struct conn *c)
{
	if (rx->draining) {
		conn_close(rx, c);
	} else if (!c->close_after) {
		conn_set_state(c, CONN_READING);
	} else if (c->peer_eof || shutdown(c->fd, SHUT_WR)) {
		conn_close(rx, c);
	} else {
		/* closing with unread input sends a RST, which can destroy the answer in flight */
		c->in_len = 0;
		conn_set_state(c, CONN_LINGERING);
		conn_timer_start(rx, c, TIMER_LINGER);
	}
}

/* Move a connection as far as it goes without blocking, then settle its timer and events. */
static void conn_advance(struct receiver *rx, struct conn *c)
{
	enum conn_state before;
	bool progress = false, busy;
	int err = 0;

	do {
		before = c->state;
		if (c->state == CONN_READING && rx->draining) {
			conn_close(rx, c);
		} else if (c->state == CONN_READING) {
			conn_read_step(rx, c);
			if (c->fd >= 0 && c->state == CONN_READING)
				err = conn_send(c, &progress);	/* a 100 Continue */
		} else if (c->state == CONN_WRITING) {
			err = conn_send(c, &progress);
			if (!err && !c->out_len)
				conn_answered(rx, c);
		}
	} while (!err && c->fd >= 0 && c->state != before);
	if (err || c->fd < 0) {
		conn_close(rx, c);
		return;
	}
	busy = c->state == CONN_WRITING || (c->state == CONN_READING && (c->in_len || c->out_len));
	/* progress restarts only the stall timer: a pipelined request may have just armed
	 * its --delay-ms timer after an earlier answer went out in this same call */
	if (progress && (c->state == CONN_WRITING || c->state == CONN_READING))
		conn_timer_stop(c);
	if (busy && list_empty(&c->timer))
		conn_timer_start(rx, c, TIMER_IO);
	else if (!busy && c->state == CONN_READING)
		conn_timer_stop(c);
	if (conn_set_events(rx, c, conn_interest(c)))
		conn_close(rx, c);
}

static void conn_on_event(struct receiver *rx, struct conn *c, uint32_t events)
{
	bool progress = false;
	int err = 0;

	if (events & EPOLLERR) {
		conn_close(rx, c);
		return;
	}
	if (c->state == CONN_LINGERING) {
		if (conn_discard(c))
			conn_close(rx, c);
		return;
	}
	if (c->state == CONN_READING && (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)))
		err = conn_fill(c, &progress);
	else if (c->state == CONN_DELAYED && (events & EPOLLHUP))
		err = -ECONNRESET;	/* nobody left to answer */
	if (err) {
		conn_close(rx, c);
		return;
	}
	if (progress)
		conn_timer_stop(c);	/* re-armed from now by conn_advance */
	conn_advance(rx, c);
}

static void conn_on_timeout(struct receiver *rx, struct conn *c, enum timer_kind kind)
{
	char why[WHY_MAX];

	if (kind == TIMER_DELAY) {
		conn_set_state(c, CONN_WRITING);
	} else if (kind == TIMER_IO && c->state == CONN_READING) {
		snprintf(why, sizeof(why), "request incomplete, no progress for %d s",
			 IO_TIMEOUT_MS / 1000);
		conn_reject(rx, c, 408, why);
	} else {
		if (kind == TIMER_IO)
			log_warn(rx, "%s: not reading its answer for %d s, closing", c->peer,
				 IO_TIMEOUT_MS / 1000);
		conn_close(rx, c);
		return;
	}
	conn_advance(rx, c);
}

/* ---- the loop ----------------------------------------------------------------------------- */

static void timers_expire(struct receiver *rx)
{
	uint64_t now = now_ms();
	int k;

	for (k = 0; k < TIMER_KINDS; k++) {
		while (!list_empty(&rx->timers[k])) {
			struct conn *c = container_of(rx->timers[k].next, struct conn, timer);

			if (c->deadline > now)
				break;
			conn_timer_stop(c);
			conn_on_timeout(rx, c, (enum timer_kind)k);
		}
	}
}

/* epoll_wait() timeout: until the earliest deadline, or forever. */
static int timers_next_ms(const struct receiver *rx)
{
	uint64_t next = UINT64_MAX, now;
	int k;

	for (k = 0; k < TIMER_KINDS; k++) {
		if (!list_empty(&rx->timers[k])) {
			const struct conn *c = container_of(rx->timers[k].next, struct conn, timer);

			if (c->deadline < next)
				next = c->deadline;
		}
	}
	if (next == UINT64_MAX)
		return -1;
	now = now_ms();
	if (next <= now)
		return 0;
	return next - now > INT_MAX ? INT_MAX : (int)(next - now);
}

static void listener_close(struct receiver *rx)
{
	if (rx->listen_fd < 0)
		return;
	close(rx->listen_fd);
	rx->listen_fd = -1;
}

/* --max-requests reached: take no more requests, finish the answers under way. */
static void receiver_drain(struct receiver *rx)
{
	struct list_head *pos, *next;

	rx->draining = true;
	listener_close(rx);
	for (pos = rx->conns.next; pos != &rx->conns; pos = next) {
		struct conn *c = container_of(pos, struct conn, node);

		next = pos->next;
		if (c->state == CONN_READING || c->state == CONN_LINGERING)
			conn_close(rx, c);
	}
}

/* Out of descriptors: drop one pending connection, or the level-triggered listener spins. */
static void listener_shed(struct receiver *rx)
{
	time_t now = time(NULL);
	int fd;

	if (rx->spare_fd >= 0)
		close(rx->spare_fd);
	fd = accept4(rx->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		close(fd);
	rx->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (now != rx->shed_warned)
		log_warn(rx, "out of file descriptors: dropping new connections");
	rx->shed_warned = now;
}

static void listener_on_readable(struct receiver *rx)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	for (;;) {
		len = sizeof(ss);
		fd = accept4(rx->listen_fd, (struct sockaddr *)&ss, &len,
			     SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			if (conn_open(rx, fd, &ss))
				close(fd);
		} else if (errno == EMFILE || errno == ENFILE) {
			listener_shed(rx);
			return;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			return;
		} else if (errno != EINTR && errno != ECONNABORTED && errno != EPROTO) {
			log_warn(rx, "accept: %s", strerror(errno));
			return;
		}
	}
}

static void signal_on_readable(struct receiver *rx)
{
	struct signalfd_siginfo si;

	while (read(rx->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		rx->stop = true;
		rx->stop_reason = si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM";
	}
}

static void receiver_dispatch(struct receiver *rx, const struct epoll_event *ev)
{
	struct watch *w = ev->data.ptr;
	struct conn *c;

	switch (w->kind) {
	case WATCH_LISTEN:
		if (rx->listen_fd >= 0)
			listener_on_readable(rx);
		break;
	case WATCH_SIGNAL:
		signal_on_readable(rx);
		break;
	case WATCH_CONN:
		c = container_of(w, struct conn, watch);
		if (c->fd >= 0)	/* not closed earlier in this batch */
			conn_on_event(rx, c, ev->events);
		break;
	}
}

static int receiver_run(struct receiver *rx)
{
	struct epoll_event events[EVENTS_MAX];
	int n, i;

	while (!rx->stop && !(rx->draining && list_empty(&rx->conns))) {
		n = epoll_wait(rx->epfd, events, EVENTS_MAX, timers_next_ms(rx));
		if (n < 0 && errno != EINTR) {
			receiver_fail(rx, -errno, "epoll_wait");
			break;
		}
		for (i = 0; i < n && !rx->stop; i++)
			receiver_dispatch(rx, &events[i]);
		if (!rx->stop)
			timers_expire(rx);
		conns_reap(rx);
	}
	return rx->fatal;
}

/* ---- setup -------------------------------------------------------------------------------- */

static void receiver_init(struct receiver *rx)
{
	int k;

	memset(rx, 0, sizeof(*rx));
	rx->listen_spec = "127.0.0.1:9000";
	rx->status = 200;
	rx->epfd = -1;
	rx->listen_fd = -1;
	rx->signal_fd = -1;
	rx->spare_fd = -1;
	rx->listen_watch.kind = WATCH_LISTEN;
	rx->signal_watch.kind = WATCH_SIGNAL;
	list_init(&rx->conns);
	list_init(&rx->dead);
	for (k = 0; k < TIMER_KINDS; k++)
		list_init(&rx->timers[k]);
	rx->timer_ms[TIMER_IO] = IO_TIMEOUT_MS;
	rx->timer_ms[TIMER_LINGER] = LINGER_MS;
}

static void options_free(struct receiver *rx)
{
	unsigned int i;

	for (i = 0; i < rx->nkeys; i++)
		sign_key_free(&rx->keys[i]);
	free(rx->status_seq);
}

static int output_open(struct receiver *rx)
{
	if (!rx->out_path || !strcmp(rx->out_path, "-")) {
		rx->out = stdout;
		return 0;
	}
	rx->out = fopen(rx->out_path, "we");
	if (!rx->out) {
		int err = -errno;

		log_error(rx, "--out %s: %s", rx->out_path, strerror(errno));
		return err;
	}
	return 0;
}

static void output_close(struct receiver *rx)
{
	if (rx->out && rx->out != stdout)
		fclose(rx->out);
	rx->out = NULL;
}

/* Many concurrent connections need descriptors: take what the hard limit allows. */
static void nofile_raise(void)
{
	struct rlimit rl;

	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int loop_open(struct receiver *rx)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &rx->signal_watch };
	sigset_t set;
	int err;

	rx->timer_ms[TIMER_DELAY] = rx->delay_ms;
	/* a reader of --out going away must be an error we report, not a silent death */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	rx->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rx->epfd < 0 || sigprocmask(SIG_BLOCK, &set, NULL))
		goto fail;
	rx->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (rx->signal_fd < 0 || epoll_ctl(rx->epfd, EPOLL_CTL_ADD, rx->signal_fd, &ev))
		goto fail;
	rx->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
fail:
	err = -errno;
	log_error(rx, "event loop setup: %s", strerror(errno));
	return err;
}

static void loop_close(struct receiver *rx)
{
	if (rx->spare_fd >= 0)
		close(rx->spare_fd);
	if (rx->signal_fd >= 0)
		close(rx->signal_fd);
	if (rx->epfd >= 0)
		close(rx->epfd);
}

static int listener_bind(struct receiver *rx, const struct addrinfo *ai)
{
	int fd, err, one = 1;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	/* reuse a port whose old connections sit in TIME_WAIT; Linux still refuses a port
	 * another socket is listening on, which is the error we want to report */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, SOMAXCONN)) {
		err = -errno;
		close(fd);
		return err;
	}
	rx->listen_fd = fd;
	return 0;
}

static int listener_open(struct receiver *rx, unsigned int *port)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &rx->listen_watch };
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	struct addrinfo *res, *ai;
	const char *port_text;
	char host[256];
	int err, gai;

	if (listen_spec_split(rx->listen_spec, host, sizeof(host), &port_text)) {
		log_error(rx, "--listen %s: expected ADDR:PORT, [IPV6]:PORT or PORT (0-65535)",
			  rx->listen_spec);
		return -EINVAL;
	}
	gai = getaddrinfo(host, port_text, &hints, &res);
	if (gai) {
		log_error(rx, "--listen %s: %s", rx->listen_spec, gai_strerror(gai));
		return -EINVAL;
	}
	err = -EADDRNOTAVAIL;
	for (ai = res; ai && rx->listen_fd < 0; ai = ai->ai_next)
		err = listener_bind(rx, ai);
	freeaddrinfo(res);
	if (err == -EADDRINUSE)
		log_error(rx, "cannot listen on %s: the port is already in use (another receiver "
			  "still running?); choose another, or port 0 for a free one",
			  rx->listen_spec);
	else if (err)
		log_error(rx, "cannot listen on %s: %s", rx->listen_spec, strerror(-err));
	if (err)
		return err;
	if (getsockname(rx->listen_fd, (struct sockaddr *)&ss, &len) ||
	    epoll_ctl(rx->epfd, EPOLL_CTL_ADD, rx->listen_fd, &ev)) {
		err = -errno;
		log_error(rx, "cannot listen on %s: %s", rx->listen_spec, strerror(errno));
		listener_close(rx);
		return err;
	}
	sockaddr_format(&ss, rx->listen_name, sizeof(rx->listen_name));
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

/* Written to a temporary name and renamed, so a reader never sees a half-written port. */
static int port_file_write(struct receiver *rx, unsigned int port)
{
	char tmp[PATH_MAX], text[16];
	int fd, n, err = 0;

	if (!rx->port_file)
		return 0;
	n = snprintf(text, sizeof(text), "%u\n", port);
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp.%d", rx->port_file, (int)getpid()) >=
	    sizeof(tmp)) {
		err = -ENAMETOOLONG;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (write(fd, text, (size_t)n) != n)
		err = errno ? -errno : -EIO;
	if (close(fd) && !err)
		err = -errno;
	if (!err && rename(tmp, rx->port_file))
		err = -errno;
	if (err)
		unlink(tmp);
out:
	if (err)
		log_error(rx, "--port-file %s: %s", rx->port_file, strerror(-err));
	return err;
}

static void banner_print(struct receiver *rx)
{
	char plan[512];
	size_t n = 0, i;

	log_info(rx, "listening on http://%s/ (POST, any path), JSON lines to %s", rx->listen_name,
		 rx->out == stdout ? "stdout" : rx->out_path);
	if (rx->nkeys)
		log_info(rx, "signatures checked against %u secret%s: 401 when invalid or missing",
			 rx->nkeys, rx->nkeys > 1 ? "s" : "");
	else
		log_info(rx, "signatures not checked (no --secret)");
	n += (size_t)snprintf(plan, sizeof(plan), "answering ");
	for (i = 0; i < rx->status_seq_len && n < sizeof(plan) - 64; i++)
		n += (size_t)snprintf(plan + n, sizeof(plan) - n, "%d, ", rx->status_seq[i]);
	n += (size_t)snprintf(plan + n, sizeof(plan) - n, "%s%d", i ? "then " : "", rx->status);
	if (rx->delay_ms)
		n += (size_t)snprintf(plan + n, sizeof(plan) - n, " after %ld ms", rx->delay_ms);
	if (rx->retry_after)
		n += (size_t)snprintf(plan + n, sizeof(plan) - n, ", Retry-After: %.64s on 429/503",
				      rx->retry_after);
	if (rx->max_requests)
		snprintf(plan + n, sizeof(plan) - n, ", exiting after %lu requests",
			 rx->max_requests);
	log_info(rx, "%s", plan);
}

static void summary_print(struct receiver *rx)
{
	const char *why = rx->stop_reason ? rx->stop_reason :
			  rx->fatal ? "error" : "--max-requests reached";

	if (rx->nkeys)
		log_info(rx, "stopping (%s): %lu requests, signatures %lu valid, %lu invalid, "
			 "%lu missing; %lu refused without a line", why, rx->seq, rx->n_sig[SIG_VALID],
			 rx->n_sig[SIG_INVALID], rx->n_sig[SIG_MISSING], rx->n_rejected);
	else
		log_info(rx, "stopping (%s): %lu requests, signatures unchecked; "
			 "%lu refused without a line", why, rx->seq, rx->n_rejected);
}

int main(int argc, char **argv)
{
	struct receiver rx;
	unsigned int port = 0;
	int err, ret = 1;

	receiver_init(&rx);
	err = options_parse(&rx, argc, argv);
	if (err) {
		ret = err > 0 ? 0 : 2;
		goto out_options;
	}
	nofile_raise();
	err = output_open(&rx);
	if (err)
		goto out_options;
	err = loop_open(&rx);
	if (err)
		goto out_loop;
	err = listener_open(&rx, &port);
	if (err)
		goto out_loop;
	err = port_file_write(&rx, port);
	if (err)
		goto out_listener;
	banner_print(&rx);
	err = receiver_run(&rx);
	summary_print(&rx);
	ret = err ? 1 : 0;
out_listener:
	conns_close_all(&rx);
	listener_close(&rx);
out_loop:
	loop_close(&rx);
	output_close(&rx);
out_options:
	options_free(&rx);
	return ret;
}
