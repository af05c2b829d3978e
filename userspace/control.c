// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* accept4, struct ucred */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"

struct control_client {
	struct loop_watch watch;
	struct control *ctl;
	char in[CONTROL_LINE_MAX];
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
	bool tail;
	uint64_t dropped;   /* tail lines lost because the client fell behind */
	struct control_client *next;
};

static void client_free(struct control_client *cl)
{
	struct control *ctl = cl->ctl;
	struct control_client **pos = &ctl->clients;

	while (*pos != cl)
		pos = &(*pos)->next;
	*pos = cl->next;
	if (cl->tail)
		ctl->tailing--;
	loop_del(ctl->loop, &cl->watch);
	close(cl->watch.fd);
	free(cl->out);
	free(cl);
}

/* Write what is pending; keep EPOLLOUT only while something is. */
static int client_flush(struct control_client *cl)
{
	while (cl->out_len) {
		ssize_t n = send(cl->watch.fd, cl->out, cl->out_len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		memmove(cl->out, cl->out + n, cl->out_len - (size_t)n);
		cl->out_len -= (size_t)n;
	}
	return loop_mod(cl->ctl->loop, &cl->watch, EPOLLIN | (cl->out_len ? EPOLLOUT : 0));
}

static int client_queue(struct control_client *cl, const char *data, size_t len)
{
	if (cl->out_len + len > cl->out_cap) {
		size_t cap = cl->out_cap ? cl->out_cap : 4096;
		char *out;

		while (cap < cl->out_len + len)
			cap *= 2;
		if (cap > CONTROL_OUTPUT_MAX)
			return -ENOBUFS;
		out = realloc(cl->out, cap);
		if (!out)
			return -ENOMEM;
		cl->out = out;
		cl->out_cap = cap;
	}
	memcpy(cl->out + cl->out_len, data, len);
	cl->out_len += len;
	return 0;
}

static int client_send_line(struct control_client *cl, const char *line, size_t len)
{
	int err = client_queue(cl, line, len);

	if (!err)
		err = client_queue(cl, "\n", 1);
	if (!err)
		err = client_flush(cl);
	return err;
}

int control_reply(struct control_client *cl, cJSON *reply)
{
	char *text = reply ? cJSON_PrintUnformatted(reply) : NULL;
	int err = text ? client_send_line(cl, text, strlen(text)) : -ENOMEM;

	free(text);
	cJSON_Delete(reply);
	return err;
}

int control_error(struct control_client *cl, const char *fmt, ...)
{
	cJSON *reply = cJSON_CreateObject();
	char message[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	cJSON_AddFalseToObject(reply, "ok");
	cJSON_AddStringToObject(reply, "error", message);
	return control_reply(cl, reply);
}

void control_start_tail(struct control_client *cl)
{
	if (!cl->tail) {
		cl->tail = true;
		cl->ctl->tailing++;
	}
}

void control_tail_line(struct control *ctl, const char *line, size_t len)
{
	for (struct control_client *cl = ctl->clients; cl; cl = cl->next) {
		if (!cl->tail)
			continue;
		/* a slow reader loses lines, never slows the collector */
		if (client_queue(cl, line, len) || client_queue(cl, "\n", 1)) {
			cl->dropped++;
			continue;
		}
		client_flush(cl);
	}
}

static void client_handle_lines(struct control_client *cl)
{
	char *start = cl->in, *nl;

	while ((nl = memchr(start, '\n', cl->in_len - (size_t)(start - cl->in)))) {
		cJSON *request;

		*nl = '\0';
		request = cJSON_Parse(start);
		if (!cJSON_IsObject(request))
			control_error(cl, "not a JSON object");
		else
			cl->ctl->handle(cl->ctl->ctx, cl, request);
		cJSON_Delete(request);
		start = nl + 1;
	}
	cl->in_len -= (size_t)(start - cl->in);
	memmove(cl->in, start, cl->in_len);
}

static void on_client(struct loop_watch *watch, uint32_t events)
{
	struct control_client *cl = (struct control_client *)watch;
	ssize_t n;

	if (events & EPOLLOUT && client_flush(cl)) {
		client_free(cl);
		return;
	}
	if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = recv(watch->fd, cl->in + cl->in_len, sizeof(cl->in) - cl->in_len - 1, 0);
	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_free(cl);
		return;
	}
	cl->in_len += (size_t)n;
	client_handle_lines(cl);
	if (cl->in_len >= sizeof(cl->in) - 1) {
		control_error(cl, "request longer than %d bytes", CONTROL_LINE_MAX);
		client_free(cl);
	}
}

/* Only root (or the collector's own user) may steer a root daemon. */
static bool peer_allowed(int fd, struct ucred *cred)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len))
		return false;
	return cred->uid == 0 || cred->uid == geteuid();
}

static void on_accept(struct loop_watch *watch, uint32_t events)
{
	struct control *ctl = watch->data;
	struct control_client *cl;
	struct ucred cred;
	int fd;

	(void)events;
	while ((fd = accept4(watch->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (!peer_allowed(fd, &cred)) {
			static const char refusal[] =
				"{\"ok\":false,\"error\":\"permission denied: only root may "
				"control probehookd\"}\n";

			ctl->refused++;
			log_warn("control: refused a client with uid %u pid %d", cred.uid, cred.pid);
			if (send(fd, refusal, sizeof(refusal) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* the peer is gone already: nothing to tell it */
			}
			close(fd);
			continue;
		}
		cl = calloc(1, sizeof(*cl));
		if (!cl) {
			close(fd);
			continue;
		}
		cl->watch = (struct loop_watch){ .fd = fd, .fn = on_client, .data = ctl };
		cl->ctl = ctl;
		if (loop_add(ctl->loop, &cl->watch, EPOLLIN)) {
			close(fd);
			free(cl);
			continue;
		}
		cl->next = ctl->clients;
		ctl->clients = cl;
	}
}

/* A socket file left by a collector that died is removed; a live one is not. */
static int claim_path(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, live;

	if (lstat(path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("control socket %s: exists and is not a socket", path);
		return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	live = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
	close(fd);
	if (live) {
		log_error("control socket %s: another probehookd is running", path);
		return -EADDRINUSE;
	}
	return unlink(path) ? -errno : 0;
}

static int make_parent_dir(const char *path)
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int control_open(struct control *ctl, struct loop *loop, const char *path, control_handler handle,
		 void *ctx)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	mode_t old_mask;
	int fd, err;

	memset(ctl, 0, sizeof(*ctl));
	ctl->listener.fd = -1;
	if (strlen(path) >= sizeof(addr.sun_path)) {
		log_error("control socket %s: path too long", path);
		return -ENAMETOOLONG;
	}
	if ((err = make_parent_dir(path)) || (err = claim_path(path)))
		return err;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	old_mask = umask(0177); /* the socket is born 0600: no window where others could connect */
	err = bind(fd, (struct sockaddr *)&addr, sizeof(addr)) ? -errno : 0;
	umask(old_mask);
	if (!err && (chmod(path, 0600) || listen(fd, 16)))
		err = -errno;
	if (err) {
		log_error("control socket %s: %s", path, strerror(-err));
		close(fd);
		return err;
	}
	ctl->loop = loop;
	ctl->handle = handle;
	ctl->ctx = ctx;
	ctl->path = strdup(path);
	ctl->listener = (struct loop_watch){ .fd = fd, .fn = on_accept, .data = ctl };
	err = ctl->path ? loop_add(loop, &ctl->listener, EPOLLIN) : -ENOMEM;
	if (err)
		control_close(ctl);
	return err;
}

void control_close(struct control *ctl)
{
	while (ctl->clients)
		client_free(ctl->clients);
	if (ctl->listener.fd >= 0) {
		close(ctl->listener.fd);
		ctl->listener.fd = -1;
	}
	if (ctl->path)
		unlink(ctl->path);
	free(ctl->path);
	ctl->path = NULL;
}
