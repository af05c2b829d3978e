// SPDX-License-Identifier: MIT
/*
 * probehook-receiver's HTTP parsing, fed arbitrary bytes as everything one
 * client sent on one connection: each request it takes must become one JSON
 * line that is valid UTF-8 and parses back, and each answer must be a status
 * line.  The receiver is one file with its own main(), so it is compiled in
 * here, main renamed, to reach its static parser without sockets.
 */
#define main receiver_main
#include "receiver.c"
#undef main

#include "fuzz_check.h"

/* Every line written since *seen is one valid JSON object in UTF-8. */
static void check_lines(const char *out, size_t len, size_t *seen)
{
	while (*seen < len) {
		const char *line = out + *seen, *nl = memchr(line, '\n', len - *seen);
		cJSON *parsed;

		if (!nl)
			fuzz_fail("a JSON line without its newline", line);
		if (!utf8_valid(line, (size_t)(nl - line)))
			fuzz_fail("a JSON line is not valid UTF-8", line);
		parsed = cJSON_ParseWithLengthOpts(line, (size_t)(nl - line), NULL, 0);
		if (!cJSON_IsObject(parsed))
			fuzz_fail("a JSON line does not parse", line);
		cJSON_Delete(parsed);
		*seen = (size_t)(nl + 1 - out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct receiver rx;
	struct conn *c;
	size_t out_len = 0, seen = 0;
	char *out = NULL;
	int rounds = 0;

	receiver_init(&rx);
	rx.quiet = true;
	rx.raw_body = true;
	if (opt_secret(&rx, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"))
		fuzz_fail("the test secret does not parse", NULL);
	rx.out = open_memstream(&out, &out_len);
	c = calloc(1, sizeof(*c));
	if (!rx.out || !c)
		fuzz_fail("out of memory", NULL);
	c->watch.kind = WATCH_CONN;
	c->fd = -1; /* no socket: conn_close() then only forgets the connection */
	list_init(&c->timer);
	list_init(&c->node);
	snprintf(c->peer, sizeof(c->peer), "127.0.0.1:1");
	/* all of it has arrived, with the spare byte the parser may write a NUL into */
	c->in = malloc(size + 1);
	if (!c->in)
		fuzz_fail("out of memory", NULL);
	memcpy(c->in, data, size);
	c->in_len = size;
	c->in_cap = size + 1;
	c->peer_eof = true;
	/* pipelined requests: take them one by one, as conn_advance would */
	while (c->state == CONN_READING && c->in_len && rounds++ < 1000) {
		conn_read_step(&rx, c);
		fflush(rx.out);
		check_lines(out, out_len, &seen);
		if (c->out_len && strncmp(c->out, "HTTP/1.1 ", 9) != 0)
			fuzz_fail("an answer is not a status line", c->out);
		if (c->state != CONN_WRITING || c->close_after)
			break;
		c->out_len = 0;
		conn_set_state(c, CONN_READING);
	}
	free(c->in);
	free(c);
	fclose(rx.out);
	free(out);
	options_free(&rx);
	return 0;
}
