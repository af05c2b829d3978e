// SPDX-License-Identifier: MIT
/*
 * bench_rx: a minimal HTTP/1.1 webhook receiver for the latency benchmark.
 *
 * Listens on 127.0.0.1 only.  For every complete request it takes
 * CLOCK_REALTIME (µs) and, when the body carries the event's
 * "timestamp":"YYYY-MM-DDTHH:MM:SS.ffffffZ" (when the probe fired), records
 * the difference: probe -> receiver latency at µs resolution.  Answers
 * 200 with an empty body, keeps connections alive.
 *
 * At exit (--max-requests reached, or SIGINT/SIGTERM) prints one JSON object
 * with the request count and latency min/p50/p99/max/mean in µs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_common.h"

#define MAX_REQUEST (1 << 20)
#define MAX_EVENTS 64

static const char response[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

struct conn {
	int fd;
	char *buf;
	size_t len, cap;
};

struct rx {
	int epfd, listen_fd, signal_fd;
	uint64_t requests, max_requests, with_ts;
	int64_t *lat_us;
	size_t lat_len, lat_cap;
	int64_t first_wall_ns, last_wall_ns;
	const char *save_path;
	int saved;
};

static void die(const char *what)
{
	perror(what);
	exit(1);
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" -> Unix µs; -1 when it is not that. */
static int64_t parse_rfc3339_us(const char *s, size_t len)
{
	struct tm tm = { 0 };
	int64_t us = 0;
	size_t i;

	if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
		return -1;
	tm.tm_year = atoi(s) - 1900;
	tm.tm_mon = atoi(s + 5) - 1;
	tm.tm_mday = atoi(s + 8);
	tm.tm_hour = atoi(s + 11);
	tm.tm_min = atoi(s + 14);
	tm.tm_sec = atoi(s + 17);
	i = 19;
	if (s[i] == '.') {
		int digits = 0;

		for (i++; i < len && isdigit((unsigned char)s[i]); i++, digits++)
			if (digits < 6)
				us = us * 10 + (s[i] - '0');
		for (; digits < 6; digits++)
			us *= 10;
	}
	if (i >= len || s[i] != 'Z')
		return -1;
	return (int64_t)timegm(&tm) * 1000000 + us;
}

static void record(struct rx *rx, const char *body, size_t body_len, int64_t now_ns)
{
	static const char key[] = "\"timestamp\":\"";
	const char *p = memmem(body, body_len, key, sizeof(key) - 1);
	int64_t ts;

	if (!rx->requests)
		rx->first_wall_ns = now_ns;
	rx->last_wall_ns = now_ns;
	rx->requests++;
	if (!p)
		return;
	p += sizeof(key) - 1;
	ts = parse_rfc3339_us(p, body_len - (size_t)(p - body));
	if (ts < 0)
		return;
	if (rx->lat_len == rx->lat_cap) {
		rx->lat_cap = rx->lat_cap ? rx->lat_cap * 2 : 65536;
		rx->lat_us = realloc(rx->lat_us, rx->lat_cap * sizeof(*rx->lat_us));
		if (!rx->lat_us)
			die("realloc");
	}
	rx->lat_us[rx->lat_len++] = now_ns / 1000 - ts;
	rx->with_ts++;
}

/* Content-Length of a header block, 0 when absent. */
static size_t content_length(const char *head, size_t len)
{
	for (size_t i = 0; i + 16 < len; i++)
		if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, "content-length:", 15) == 0)
			return strtoul(head + i + 15, NULL, 10);
	return 0;
}

static int wants_close(const char *head, size_t len)
{
	for (size_t i = 0; i + 17 < len; i++)
		if ((i == 0 || head[i - 1] == '\n') && strncasecmp(head + i, "connection: close", 17) == 0)
			return 1;
	return 0;
}

static void conn_close(struct rx *rx, struct conn *c)
{
	epoll_ctl(rx->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->buf);
	free(c);
}

/* Handles every complete request in the buffer; returns -1 to close. */
static int conn_process(struct rx *rx, struct conn *c)
{
	size_t used = 0;
	int close_after = 0;

	for (;;) {
		char *start = c->buf + used;
		size_t avail = c->len - used, head_len, body_len;
		char *end = memmem(start, avail, "\r\n\r\n", 4);
		int64_t now;

		if (!end)
			break;
		head_len = (size_t)(end - start) + 4;
		body_len = content_length(start, head_len);
		if (body_len > MAX_REQUEST)
			return -1;
		if (avail < head_len + body_len)
			break;
		now = bench_wall_ns();
		record(rx, start + head_len, body_len, now);
		if (rx->save_path && !rx->saved) {
			FILE *f = fopen(rx->save_path, "w");

			if (f) {
				fwrite(start, 1, head_len + body_len, f);
				fclose(f);
			}
			rx->saved = 1;
		}
		close_after = wants_close(start, head_len);
		/* loopback, tiny answer: a short write means the client is gone */
		if (write(c->fd, response, sizeof(response) - 1) != sizeof(response) - 1)
			return -1;
		used += head_len + body_len;
		if (close_after)
			return -1;
	}
	memmove(c->buf, c->buf + used, c->len - used);
	c->len -= used;
	return 0;
}

static void conn_readable(struct rx *rx, struct conn *c)
{
	for (;;) {
		ssize_t n;

		if (c->cap - c->len < 65536) {
			if (c->cap >= 2 * MAX_REQUEST)
				goto close;
			c->cap = c->cap ? c->cap * 2 : 131072;
			c->buf = realloc(c->buf, c->cap);
			if (!c->buf)
				die("realloc");
		}
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		goto close; /* EOF or error */
	}
	if (conn_process(rx, c) == 0)
		return;
close:
	conn_close(rx, c);
}

static void accept_all(struct rx *rx)
{
	for (;;) {
		int fd = accept4(rx->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;

		if (fd < 0)
			return;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = calloc(1, sizeof(*c));
		if (!c)
			die("calloc");
		c->fd = fd;
		ev.data.ptr = c;
		if (epoll_ctl(rx->epfd, EPOLL_CTL_ADD, fd, &ev))
			die("epoll_ctl");
	}
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static int64_t pct(const int64_t *v, size_t n, double p)
{
	size_t i = (size_t)(p * (double)(n - 1) + 0.5);

	return v[i < n ? i : n - 1];
}

static void report(struct rx *rx)
{
	int64_t sum = 0;

	printf("{\"requests\": %llu, \"with_timestamp\": %llu, \"first_wall_ns\": %lld, "
	       "\"last_wall_ns\": %lld",
	       (unsigned long long)rx->requests, (unsigned long long)rx->with_ts,
	       (long long)rx->first_wall_ns, (long long)rx->last_wall_ns);
	if (rx->lat_len) {
		qsort(rx->lat_us, rx->lat_len, sizeof(*rx->lat_us), cmp_i64);
		for (size_t i = 0; i < rx->lat_len; i++)
			sum += rx->lat_us[i];
		printf(", \"latency_us\": {\"min\": %lld, \"p50\": %lld, \"p90\": %lld, \"p99\": %lld, "
		       "\"max\": %lld, \"mean\": %.1f}",
		       (long long)rx->lat_us[0], (long long)pct(rx->lat_us, rx->lat_len, 0.5),
		       (long long)pct(rx->lat_us, rx->lat_len, 0.9),
		       (long long)pct(rx->lat_us, rx->lat_len, 0.99),
		       (long long)rx->lat_us[rx->lat_len - 1], (double)sum / (double)rx->lat_len);
	}
	printf("}\n");
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "port-file", required_argument, NULL, 'p' },
		{ "max-requests", required_argument, NULL, 'n' },
		{ "save-request", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(addr);
	struct rx rx = { .epfd = -1 };
	struct epoll_event ev = { .events = EPOLLIN };
	const char *port_file = NULL;
	sigset_t mask;
	int opt, one = 1;

	while ((opt = getopt_long(argc, argv, "p:n:s:h", options, NULL)) != -1) {
		switch (opt) {
		case 'p': port_file = optarg; break;
		case 'n': rx.max_requests = bench_ull(optarg, "--max-requests"); break;
		case 's': rx.save_path = optarg; break;
		case 'h':
			printf("usage: bench_rx --port-file FILE [--max-requests N] [--save-request FILE]\n"
			       "Listens on 127.0.0.1 (a free port, written to FILE).\n");
			return 0;
		default: return 2;
		}
	}
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	rx.signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	rx.epfd = epoll_create1(EPOLL_CLOEXEC);
	rx.listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rx.signal_fd < 0 || rx.epfd < 0 || rx.listen_fd < 0)
		die("setup");
	setsockopt(rx.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(rx.listen_fd, (struct sockaddr *)&addr, sizeof(addr)) || listen(rx.listen_fd, 1024) ||
	    getsockname(rx.listen_fd, (struct sockaddr *)&addr, &alen))
		die("listen");
	ev.data.ptr = &rx.listen_fd;
	if (epoll_ctl(rx.epfd, EPOLL_CTL_ADD, rx.listen_fd, &ev))
		die("epoll_ctl");
	ev.data.ptr = &rx.signal_fd;
	if (epoll_ctl(rx.epfd, EPOLL_CTL_ADD, rx.signal_fd, &ev))
		die("epoll_ctl");
	if (port_file) {
		char tmp[4096];
		FILE *f;

		snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
		f = fopen(tmp, "w");
		if (!f || fprintf(f, "%u\n", ntohs(addr.sin_port)) < 0 || fclose(f) ||
		    rename(tmp, port_file))
			die(port_file);
	}
	while (!rx.max_requests || rx.requests < rx.max_requests) {
		struct epoll_event events[MAX_EVENTS];
		int n = epoll_wait(rx.epfd, events, MAX_EVENTS, -1);

		if (n < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < n; i++) {
			if (events[i].data.ptr == &rx.listen_fd) {
				accept_all(&rx);
			} else if (events[i].data.ptr == &rx.signal_fd) {
				report(&rx);
				return 0;
			} else {
				conn_readable(&rx, events[i].data.ptr);
			}
		}
	}
	report(&rx);
	return 0;
}
