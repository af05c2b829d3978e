/* SPDX-License-Identifier: MIT */
/*
 * The control socket: a Unix stream socket (mode 0600, root peers only)
 * speaking one JSON object per line.  A client sends a request line and
 * gets a reply line; a "tail" client then keeps receiving event lines.
 * This file is the plumbing; commands.c gives the requests meaning.
 */
#ifndef PROBEHOOK_CONTROL_H
#define PROBEHOOK_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "loop.h"

#define CONTROL_DEFAULT_PATH "/run/probehook/probehookd.sock"
#define CONTROL_LINE_MAX (64 * 1024)
#define CONTROL_OUTPUT_MAX (4 * 1024 * 1024) /* a tail client further behind loses lines */

struct control_client;
typedef void (*control_handler)(void *ctx, struct control_client *client, const cJSON *request);

struct control {
	struct loop *loop;
	struct loop_watch listener;
	char *path;
	struct control_client *clients;
	control_handler handle;
	void *ctx;
	unsigned int tailing;  /* clients receiving events */
	uint64_t refused;      /* peers that were not root */
};

int control_open(struct control *ctl, struct loop *loop, const char *path, control_handler handle,
		 void *ctx);
void control_close(struct control *ctl);

/* Send one reply line (takes ownership of reply). */
int control_reply(struct control_client *client, cJSON *reply);
/* Reply {"ok": false, "error": message}. */
int control_error(struct control_client *client, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* From now on this client receives every line given to control_tail_line. */
void control_start_tail(struct control_client *client);
void control_tail_line(struct control *ctl, const char *line, size_t len);

#endif
