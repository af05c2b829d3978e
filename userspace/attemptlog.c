// SPDX-License-Identifier: MIT
/* The attempt log (format and contract in attemptlog.h). */
#define _GNU_SOURCE /* memmem */
#include "attemptlog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "frame.h"
#include "log.h"
#include "timefmt.h"
#include "utf8.h"

/* Worst case: every id and error byte escaped as \u00XX. */
#define LINE_MAX_BYTES (6 * (2 * ATTEMPTLOG_ID_MAX + 3 * ATTEMPTLOG_ERROR_MAX) + 512)

struct attemptlog {
	int dirfd, fd;
	uint64_t size;      /* of the current file */
	uint64_t file_max;  /* half of max_bytes */
	bool cut_pending;
	struct write_episode episode;
	struct attemptlog_stats st;
	char line[LINE_MAX_BYTES];
};

static const char *const outcome_names[] = { NULL, "delivered", "retry", "dead" };

const char *attempt_outcome_name(enum attempt_outcome o)
{
	return (unsigned int)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ?
		       outcome_names[o] : NULL;
}

enum attempt_outcome attempt_outcome_parse(const char *name)
{
	size_t i;

	for (i = 1; name && i < sizeof(outcome_names) / sizeof(outcome_names[0]); i++)
		if (strcmp(name, outcome_names[i]) == 0)
			return (enum attempt_outcome)i;
	return ATTEMPT_ANY;
}

/* ---- writing --------------------------------------------------------------------------- */

static int open_current(struct attemptlog *al)
{
	struct stat st;
	char last;
	int ret;

	al->fd = openat(al->dirfd, ATTEMPTLOG_FILE, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (al->fd < 0)
		return -errno;
	if (fstat(al->fd, &st)) {
		ret = -errno;
		close(al->fd);
		al->fd = -1;
		return ret;
	}
	al->size = (uint64_t)st.st_size;
	al->cut_pending = false;
	/* a line torn by a crash: close it, so the next one starts clean */
	if (al->size && pread(al->fd, &last, 1, (off_t)al->size - 1) == 1 && last != '\n') {
		if (pwrite(al->fd, "\n", 1, (off_t)al->size) != 1)
			return -errno;
		al->size++;
	}
	return 0;
}

static int rotate(struct attemptlog *al)
{
	if (renameat(al->dirfd, ATTEMPTLOG_FILE, al->dirfd, ATTEMPTLOG_OLD_FILE))
		return -errno;
	close(al->fd);
	al->fd = -1;
	al->st.rotations++;
	return open_current(al);
}

/* The object for a, or NULL when out of memory. */
static cJSON *attempt_json(const struct attempt *a)
{
	char when[RFC3339_LEN];
	char *error = NULL;
	int replaced;
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (rfc3339_from_unix_ns((int64_t)(a->time_ms * 1000000), when))
		when[0] = '\0';
	ok = ok && cJSON_AddStringToObject(o, "time", when);
	ok = ok && cJSON_AddNumberToObject(o, "time_ms", (double)a->time_ms);
	ok = ok && cJSON_AddStringToObject(o, "webhook_id", a->webhook_id);
	ok = ok && cJSON_AddStringToObject(o, "endpoint", a->endpoint_id);
	ok = ok && cJSON_AddNumberToObject(o, "attempt", a->attempt);
	ok = ok && (a->status ? cJSON_AddNumberToObject(o, "status", a->status) :
				cJSON_AddNullToObject(o, "status"));
	if (ok && a->error) {
		error = utf8_sanitize(a->error, strnlen(a->error, ATTEMPTLOG_ERROR_MAX),
				      &replaced);
		ok = error && cJSON_AddStringToObject(o, "error", error);
		free(error);
	}
	ok = ok && cJSON_AddNumberToObject(o, "latency_us", (double)a->latency_us);
	ok = ok && cJSON_AddStringToObject(o, "outcome", attempt_outcome_name(a->outcome));
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

static bool id_ok(const char *id)
{
	size_t len = id ? strnlen(id, ATTEMPTLOG_ID_MAX + 1) : 0;

	return len && len <= ATTEMPTLOG_ID_MAX;
}

int attemptlog_append(struct attemptlog *al, const struct attempt *a)
{
	struct iovec iov;
	struct write_episode ended;
	size_t len;
	cJSON *o;
	int ret;

	if (!al || !a || !id_ok(a->webhook_id) || !id_ok(a->endpoint_id) ||
	    !attempt_outcome_name(a->outcome))
		return -EINVAL;
	o = attempt_json(a);
	if (!o)
		return -ENOMEM;
	ret = cJSON_PrintPreallocated(o, al->line, sizeof(al->line) - 1, 0) ? 0 : -ENOMEM;
	cJSON_Delete(o);
	if (ret)
		return ret;
	len = strlen(al->line);
	al->line[len++] = '\n';

	if (al->fd < 0) /* a rotation could not reopen it: try again */
		ret = open_current(al);
	else if (al->size + len > al->file_max && al->size)
		ret = rotate(al);
	if (!ret) {
		iov = (struct iovec){ al->line, len };
		ret = frame_pwritev(al->fd, al->size, &iov, 1, &al->cut_pending);
	}
	if (ret) {
		al->st.write_errors++;
		if (episode_fail(&al->episode, now_ms()))
			log_error("attempt log: writing %s failed: %s; attempts go unrecorded "
				  "while writes fail", ATTEMPTLOG_FILE, strerror(-ret));
		return ret;
	}
	if (episode_ok(&al->episode, now_ms(), &ended))
		log_info("attempt log: writing works again (none failed for %d s): %" PRIu64
			 " writes failed and %" PRIu64 " succeeded since the first failure",
			 EPISODE_SETTLE_MS / 1000, ended.errors, ended.successes);
	al->size += len;
	al->st.appended++;
	return 0;
}

/* ---- querying -------------------------------------------------------------------------- */

/* The whole file, or NULL with *len 0 when it does not exist. */
static int read_file(int dirfd, const char *name, char **out, size_t *len)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	char *buf;
	int fd, ret = 0;

	*out = NULL;
	*len = 0;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st)) {
		ret = -errno;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	*out = buf;
	*len = got;
out:
	close(fd);
	return ret;
}

static const char *str_field(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(item) ? item->valuestring : NULL;
}

static double num_field(const cJSON *o, const char *key)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(item) ? item->valuedouble : 0;
}

/* Parse one line into *a if it matches q.  *o holds what a points into. */
static bool line_matches(const char *line, size_t len, const struct attemptlog_query *q,
			 cJSON **o, struct attempt *a)
{
	/* cheap text checks first: most lines fail them */
	if ((q->webhook_id && !memmem(line, len, q->webhook_id, strlen(q->webhook_id))) ||
	    (q->endpoint_id && !memmem(line, len, q->endpoint_id, strlen(q->endpoint_id))))
		return false;
	*o = cJSON_ParseWithLength(line, len);
	if (!*o)
		return false;
	*a = (struct attempt){
		.webhook_id = str_field(*o, "webhook_id"),
		.endpoint_id = str_field(*o, "endpoint"),
		.time_ms = (uint64_t)num_field(*o, "time_ms"),
		.attempt = (unsigned int)num_field(*o, "attempt"),
		.status = (int)num_field(*o, "status"),
		.error = str_field(*o, "error"),
		.latency_us = (uint64_t)num_field(*o, "latency_us"),
		.outcome = attempt_outcome_parse(str_field(*o, "outcome")),
	};
	if (a->webhook_id && a->endpoint_id && a->outcome != ATTEMPT_ANY &&
	    (!q->webhook_id || strcmp(q->webhook_id, a->webhook_id) == 0) &&
	    (!q->endpoint_id || strcmp(q->endpoint_id, a->endpoint_id) == 0) &&
	    (q->outcome == ATTEMPT_ANY || q->outcome == a->outcome))
		return true;
	cJSON_Delete(*o);
	*o = NULL;
	return false;
}

/* Lines of buf, last first; *found counts matches against the limit. */
static int query_buf(const char *buf, size_t len, const struct attemptlog_query *q,
		     attempt_fn fn, void *ctx, size_t *found)
{
	const char *end = buf + len, *start;
	struct attempt a;
	cJSON *o;
	int ret;

	while (end > buf && (!q->limit || *found < q->limit)) {
		if (end[-1] == '\n')
			end--;
		for (start = end; start > buf && start[-1] != '\n'; start--)
			;
		if (end > start && line_matches(start, (size_t)(end - start), q, &o, &a)) {
			(*found)++;
			ret = fn(ctx, &a);
			cJSON_Delete(o);
			if (ret)
				return ret;
		}
		end = start;
	}
	return 0;
}

int attemptlog_query(struct attemptlog *al, const struct attemptlog_query *q, attempt_fn fn,
		     void *ctx)
{
	static const char *const files[] = { ATTEMPTLOG_FILE, ATTEMPTLOG_OLD_FILE };
	size_t found = 0, len, i;
	char *buf;
	int ret = 0;

	for (i = 0; !ret && i < 2 && (!q->limit || found < q->limit); i++) {
		ret = read_file(al->dirfd, files[i], &buf, &len);
		if (!ret)
			ret = query_buf(buf, len, q, fn, ctx, &found);
		free(buf);
	}
	return ret;
}

/* ---- the rest -------------------------------------------------------------------------- */

int attemptlog_open(struct attemptlog **out, const struct attemptlog_options *o)
{
	struct attemptlog *al;
	uint64_t max;
	int ret;

	*out = NULL;
	if (!o || !o->dir)
		return -EINVAL;
	max = o->max_bytes ? o->max_bytes : ATTEMPTLOG_MAX_BYTES_DEFAULT;
	if (max < ATTEMPTLOG_MAX_BYTES_MIN)
		return -EINVAL;
	al = calloc(1, sizeof(*al));
	if (!al)
		return -ENOMEM;
	al->fd = -1;
	al->file_max = max / 2;
	al->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	ret = al->dirfd < 0 ? -errno : open_current(al);
	if (ret) {
		log_error("attempt log in %s: %s", o->dir, strerror(-ret));
		attemptlog_close(al);
		return ret;
	}
	*out = al;
	return 0;
}

void attemptlog_stats(const struct attemptlog *al, struct attemptlog_stats *st)
{
	*st = al->st;
	st->bytes = al->size;
}

void attemptlog_close(struct attemptlog *al)
{
	if (!al)
		return;
	if (al->fd >= 0)
		close(al->fd);
	if (al->dirfd >= 0)
		close(al->dirfd);
	free(al);
}
