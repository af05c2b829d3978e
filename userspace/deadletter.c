// SPDX-License-Identifier: MIT
/*
 * The dead-letter store (format and contract in deadletter.h).  An index of
 * every entry stays in memory (ids, times, endpoint, where the frame is);
 * bodies stay on disk and are read back only when an entry is taken.
 */
#include "deadletter.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crc32c.h"
#include "frame.h"
#include "log.h"
#include "timefmt.h"

enum dl_type { REC_DEAD = 1, REC_REPLAYED = 2 };

#define DEAD_FIXED 28
#define REPLAYED_LEN 16
#define TMP_FILE DEADLETTER_FILE ".tmp"
#define BODY_MAX (16u << 20)

static bool dl_well_formed(uint8_t type, const uint8_t *p, size_t len);
static const struct frame_format dl_format = {
	.magic = "PHDEADL",
	.max_len = 1 + DEAD_FIXED + 2 * DEADLETTER_ID_MAX + DEADLETTER_REASON_MAX + BODY_MAX,
	.well_formed = dl_well_formed,
};

struct dl_item {
	uint64_t id, time_ms, off;
	uint32_t frame_len, attempts;
	uint32_t body_len;
	bool replayed;
	char *webhook_id; /* one allocation: webhook_id, endpoint_id, reason */
	const char *endpoint_id, *reason;
};

struct deadletter {
	int dirfd, fd;
	uint64_t size;       /* of the file */
	uint64_t max_bytes, max_entries;
	uint64_t next_id;
	bool cut_pending;
	struct write_episode episode;
	struct dl_item *items; /* by id */
	size_t count, cap;
	uint64_t live;         /* not replayed */
	uint8_t *buf;          /* a frame being built or read */
	size_t buf_cap;
	struct deadletter_stats st;
};

/* A decoded DEAD payload; pointers into it. */
struct dead_rec {
	uint64_t id, time_ms;
	uint32_t attempts, body_len;
	const uint8_t *webhook_id, *endpoint_id, *reason, *body;
	size_t id_len, ep_len, reason_len;
};

static bool dead_decode(const uint8_t *p, size_t len, struct dead_rec *r)
{
	if (len < DEAD_FIXED)
		return false;
	r->id = get_le64(p);
	r->time_ms = get_le64(p + 8);
	r->attempts = get_le32(p + 16);
	r->body_len = get_le32(p + 20);
	r->id_len = p[24];
	r->ep_len = p[25];
	r->reason_len = get_le16(p + 26);
	if (!r->id_len || !r->ep_len || r->reason_len > DEADLETTER_REASON_MAX ||
	    len != DEAD_FIXED + r->id_len + r->ep_len + r->reason_len + (size_t)r->body_len)
		return false;
	r->webhook_id = p + DEAD_FIXED;
	r->endpoint_id = r->webhook_id + r->id_len;
	r->reason = r->endpoint_id + r->ep_len;
	r->body = r->reason + r->reason_len;
	return true;
}

static bool dl_well_formed(uint8_t type, const uint8_t *p, size_t len)
{
	struct dead_rec r;

	if (type == REC_DEAD)
		return dead_decode(p, len, &r);
	return type == REC_REPLAYED && len == REPLAYED_LEN;
}

static int buf_reserve(struct deadletter *dl, size_t n)
{
	uint8_t *b;

	if (n <= dl->buf_cap)
		return 0;
	b = realloc(dl->buf, n);
	if (!b)
		return -ENOMEM;
	dl->buf = b;
	dl->buf_cap = n;
	return 0;
}

static int cmp_id(const void *key, const void *item)
{
	uint64_t k = *(const uint64_t *)key, id = ((const struct dl_item *)item)->id;

	return k < id ? -1 : k > id;
}

/* Entries are in id order: appended with growing ids, removed in place. */
static struct dl_item *item_find(const struct deadletter *dl, uint64_t id)
{
	return dl->count ? bsearch(&id, dl->items, dl->count, sizeof(*dl->items), cmp_id) : NULL;
}

static int item_add(struct deadletter *dl, const struct dead_rec *r, uint64_t off,
		    size_t frame_len)
{
	struct dl_item *it;
	char *s;

	if (dl->count == dl->cap) {
		size_t cap = dl->cap ? dl->cap * 2 : 64;

		it = realloc(dl->items, cap * sizeof(*it));
		if (!it)
			return -ENOMEM;
		dl->items = it;
		dl->cap = cap;
	}
	s = malloc(r->id_len + r->ep_len + r->reason_len + 3);
	if (!s)
		return -ENOMEM;
	it = &dl->items[dl->count++];
	*it = (struct dl_item){ .id = r->id, .time_ms = r->time_ms, .off = off,
				.frame_len = (uint32_t)frame_len, .attempts = r->attempts,
				.body_len = r->body_len, .webhook_id = s };
	memcpy(s, r->webhook_id, r->id_len);
	s[r->id_len] = '\0';
	it->endpoint_id = s + r->id_len + 1;
	memcpy(s + r->id_len + 1, r->endpoint_id, r->ep_len);
	s[r->id_len + 1 + r->ep_len] = '\0';
	it->reason = it->endpoint_id + r->ep_len + 1;
	memcpy((char *)it->reason, r->reason, r->reason_len);
	((char *)it->reason)[r->reason_len] = '\0';
	dl->live++;
	if (r->id >= dl->next_id)
		dl->next_id = r->id + 1;
	return 0;
}

/* ---- writing --------------------------------------------------------------------------- */

static int write_failed(struct deadletter *dl, int err)
{
	dl->st.write_errors++;
	if (episode_fail(&dl->episode, now_ms()))
		log_error("dead letters: writing %s failed: %s; dead letters are lost while "
			  "writes fail", DEADLETTER_FILE, strerror(-err));
	return err;
}

/* Append the frame built in buf (payload from buf + FRAME_HEAD_LEN) and sync it. */
static int append_frame(struct deadletter *dl, uint8_t type, size_t payload_len)
{
	size_t frame_len = FRAME_HEAD_LEN + payload_len;
	struct iovec iov = { dl->buf, frame_len };
	struct write_episode ended;
	uint32_t crc;
	int ret;

	crc = crc32c(crc32c(0, &type, 1), dl->buf + FRAME_HEAD_LEN, payload_len);
	frame_head(dl->buf, type, payload_len, crc);
	ret = frame_pwritev(dl->fd, dl->size, &iov, 1, &dl->cut_pending);
	if (!ret && fdatasync(dl->fd)) {
		ret = -errno;
		frame_cut(dl->fd, dl->size, &dl->cut_pending);
	}
	if (ret)
		return write_failed(dl, ret);
	if (episode_ok(&dl->episode, now_ms(), &ended))
		log_info("dead letters: writing works again (none failed for %d s): %" PRIu64
			 " writes failed and %" PRIu64 " succeeded since the first failure",
			 EPISODE_SETTLE_MS / 1000, ended.errors, ended.successes);
	dl->size += frame_len;
	return 0;
}

/* A new file holding only a header: the next id survives an empty store. */
static int create_file(struct deadletter *dl, const char *name, int *fd_out)
{
	uint8_t header[FRAME_HEADER_LEN];
	struct iovec iov = { header, sizeof(header) };
	bool cut = false;
	int fd, ret;

	fd = openat(dl->dirfd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	frame_header_encode(header, &dl_format, 0, dl->next_id);
	ret = frame_pwritev(fd, 0, &iov, 1, &cut);
	if (ret) {
		close(fd);
		unlinkat(dl->dirfd, name, 0);
		return ret;
	}
	*fd_out = fd;
	return 0;
}

/* Copy item's frame from the current file to fd at off. */
static int copy_frame(struct deadletter *dl, const struct dl_item *it, int fd, uint64_t off)
{
	struct iovec iov;
	bool cut = false;
	ssize_t n;

	if (buf_reserve(dl, it->frame_len))
		return -ENOMEM;
	n = pread(dl->fd, dl->buf, it->frame_len, (off_t)it->off);
	if (n < 0)
		return -errno;
	if ((size_t)n != it->frame_len)
		return -EIO;
	iov = (struct iovec){ dl->buf, it->frame_len };
	return frame_pwritev(fd, off, &iov, 1, &cut);
}

/*
 * Retention: rewrite the file with the newest entries not yet replayed, at
 * most keep_entries of them in at most keep_bytes of frames, then rename it
 * over the old one.  On failure the old file stays as it was.
 */
static int compact(struct deadletter *dl, uint64_t keep_bytes, uint64_t keep_entries)
{
	uint64_t bytes = 0, kept = 0, off = FRAME_HEADER_LEN, dropped;
	size_t first = dl->count, i, j;
	int fd = -1, ret;

	/* newest backwards, until the budget is spent */
	while (first > 0) {
		const struct dl_item *it = &dl->items[first - 1];

		if (!it->replayed) {
			if (kept + 1 > keep_entries || bytes + it->frame_len > keep_bytes)
				break;
			kept++;
			bytes += it->frame_len;
		}
		first--;
	}
	ret = create_file(dl, TMP_FILE, &fd);
	for (i = first; !ret && i < dl->count; i++) {
		if (dl->items[i].replayed)
			continue;
		ret = copy_frame(dl, &dl->items[i], fd, off);
		off += dl->items[i].frame_len;
	}
	if (!ret && fdatasync(fd))
		ret = -errno;
	if (!ret && renameat(dl->dirfd, TMP_FILE, dl->dirfd, DEADLETTER_FILE))
		ret = -errno;
	if (ret) {
		if (fd >= 0) {
			close(fd);
			unlinkat(dl->dirfd, TMP_FILE, 0);
		}
		return write_failed(dl, ret);
	}
	fsync(dl->dirfd);
	close(dl->fd);
	dl->fd = fd;
	dl->size = off;
	dl->cut_pending = false;

	/* the index follows: the same entries, at their new offsets */
	dropped = dl->live - kept;
	off = FRAME_HEADER_LEN;
	for (i = 0, j = 0; i < dl->count; i++) {
		if (i < first || dl->items[i].replayed) {
			free(dl->items[i].webhook_id);
			continue;
		}
		dl->items[j] = dl->items[i];
		dl->items[j++].off = off;
		off += dl->items[i].frame_len;
	}
	dl->count = j;
	dl->live = kept;
	dl->st.dropped += dropped;
	dl->st.compactions++;
	if (dropped)
		log_warn("dead letters: retention bound reached; dropped the %" PRIu64
			 " oldest entries", dropped);
	return 0;
}

int deadletter_append(struct deadletter *dl, const struct deadletter_entry *e, uint64_t *id)
{
	size_t id_len, ep_len, reason_len, payload_len;
	struct dead_rec r;
	uint8_t *p;
	int ret;

	if (!dl || !e || !e->webhook_id || !e->endpoint_id || (!e->body && e->len) ||
	    e->len > BODY_MAX)
		return -EINVAL;
	id_len = strnlen(e->webhook_id, DEADLETTER_ID_MAX + 1);
	ep_len = strnlen(e->endpoint_id, DEADLETTER_ID_MAX + 1);
	/* a reason is for people: a long one is cut, not refused */
	reason_len = e->reason ? strnlen(e->reason, DEADLETTER_REASON_MAX) : 0;
	if (!id_len || id_len > DEADLETTER_ID_MAX || !ep_len || ep_len > DEADLETTER_ID_MAX)
		return -EINVAL;
	payload_len = DEAD_FIXED + id_len + ep_len + reason_len + e->len;
	if (FRAME_HEADER_LEN + FRAME_HEAD_LEN + payload_len > dl->max_bytes / 4 * 3)
		return -EMSGSIZE;
	if (buf_reserve(dl, FRAME_HEAD_LEN + payload_len))
		return -ENOMEM;

	if (dl->size + FRAME_HEAD_LEN + payload_len > dl->max_bytes ||
	    dl->live + 1 > dl->max_entries) {
		ret = compact(dl, dl->max_bytes / 4 * 3 - FRAME_HEADER_LEN -
					  (FRAME_HEAD_LEN + payload_len),
			      dl->max_entries - 1 - dl->max_entries / 4);
		if (ret)
			return ret;
	}
	/* compaction may have used the buffer: build the frame after it */
	p = dl->buf + FRAME_HEAD_LEN;
	put_le64(p, dl->next_id);
	put_le64(p + 8, e->time_ms);
	put_le32(p + 16, e->attempts);
	put_le32(p + 20, (uint32_t)e->len);
	p[24] = (uint8_t)id_len;
	p[25] = (uint8_t)ep_len;
	put_le16(p + 26, (uint16_t)reason_len);
	memcpy(p + DEAD_FIXED, e->webhook_id, id_len);
	memcpy(p + DEAD_FIXED + id_len, e->endpoint_id, ep_len);
	if (reason_len)
		memcpy(p + DEAD_FIXED + id_len + ep_len, e->reason, reason_len);
	if (e->len)
		memcpy(p + DEAD_FIXED + id_len + ep_len + reason_len, e->body, e->len);
	dead_decode(p, payload_len, &r);
	/* index first: once on disk, the entry must be in it */
	ret = item_add(dl, &r, dl->size, FRAME_HEAD_LEN + payload_len);
	if (ret)
		return ret;
	ret = append_frame(dl, REC_DEAD, payload_len);
	if (ret) {
		free(dl->items[--dl->count].webhook_id);
		dl->live--;
		return ret;
	}
	dl->st.appended++;
	if (id)
		*id = r.id;
	return 0;
}

static void fill_entry(const struct dl_item *it, struct deadletter_entry *e)
{
	*e = (struct deadletter_entry){ .id = it->id, .time_ms = it->time_ms,
					.attempts = it->attempts, .webhook_id = it->webhook_id,
					.endpoint_id = it->endpoint_id, .reason = it->reason,
					.len = it->body_len, .replayed = it->replayed };
}

int deadletter_list(struct deadletter *dl, const struct deadletter_filter *f, deadletter_fn fn,
		    void *ctx)
{
	struct deadletter_entry e;
	size_t i, n = 0;
	int ret;

	for (i = 0; i < dl->count && (!f->limit || n < f->limit); i++) {
		const struct dl_item *it = &dl->items[i];

		if ((it->replayed && !f->include_replayed) || it->time_ms < f->since_ms ||
		    (f->endpoint_id && strcmp(f->endpoint_id, it->endpoint_id) != 0))
			continue;
		fill_entry(it, &e);
		n++;
		ret = fn(ctx, &e);
		if (ret)
			return ret;
	}
	return 0;
}

int deadletter_take(struct deadletter *dl, uint64_t id, deadletter_fn fn, void *ctx)
{
	struct dl_item *it = item_find(dl, id);
	struct deadletter_entry e;
	const uint8_t *payload;
	struct dead_rec r;
	uint8_t type;
	size_t len;
	ssize_t n;
	int ret;

	if (!it || it->replayed)
		return -ENOENT;
	if (buf_reserve(dl, it->frame_len))
		return -ENOMEM;
	n = pread(dl->fd, dl->buf, it->frame_len, (off_t)it->off);
	if (n < 0)
		return -errno;
	if ((size_t)n != it->frame_len ||
	    !frame_check(dl->buf, it->frame_len, &dl_format, &type, &payload, &len) ||
	    type != REC_DEAD || !dead_decode(payload, len, &r) || r.id != id) {
		log_error("dead letters: entry %" PRIu64 " changed on disk since it was read",
			  id);
		return -EIO;
	}
	fill_entry(it, &e);
	e.body = (const char *)r.body;
	ret = fn(ctx, &e);
	if (ret)
		return ret;
	/* the body is handed over: the buffer may be reused for the record */
	put_le64(dl->buf + FRAME_HEAD_LEN, id);
	put_le64(dl->buf + FRAME_HEAD_LEN + 8, it->time_ms);
	ret = append_frame(dl, REC_REPLAYED, REPLAYED_LEN);
	if (ret)
		return ret;
	it->replayed = true;
	dl->live--;
	dl->st.replayed++;
	return 0;
}

/* ---- opening --------------------------------------------------------------------------- */

static int on_frame(void *ctx, uint8_t type, const uint8_t *p, size_t len, uint64_t off)
{
	struct deadletter *dl = ctx;
	struct dl_item *it;
	struct dead_rec r;

	if (type == REC_REPLAYED) {
		it = item_find(dl, get_le64(p));
		if (it && !it->replayed) {
			it->replayed = true;
			dl->live--;
		}
		return 0;
	}
	dead_decode(p, len, &r);
	/* ids only grow; anything else cannot be ours */
	if (dl->count && r.id <= dl->items[dl->count - 1].id)
		return 0;
	return item_add(dl, &r, off, FRAME_HEAD_LEN + len);
}

static int open_file(struct deadletter *dl, const char *dir)
{
	struct frame_file ff;
	int ret;

	ret = frame_scan(dl->dirfd, dir, DEADLETTER_FILE, &dl_format, on_frame, dl, &ff);
	dl->st.torn_regions = ff.torn_regions;
	dl->st.torn_bytes = ff.torn_bytes;
	if (ret == -ENOENT || (!ret && ff.set_aside)) {
		dl->size = FRAME_HEADER_LEN;
		return create_file(dl, DEADLETTER_FILE, &dl->fd);
	}
	if (ret)
		return ret;
	if (ff.first_seq > dl->next_id)
		dl->next_id = ff.first_seq;
	dl->size = ff.size;
	dl->fd = openat(dl->dirfd, DEADLETTER_FILE, O_RDWR | O_CLOEXEC);
	return dl->fd < 0 ? -errno : 0;
}

int deadletter_open(struct deadletter **out, const struct deadletter_options *o)
{
	struct deadletter *dl;
	int ret;

	*out = NULL;
	if (!o || !o->dir)
		return -EINVAL;
	dl = calloc(1, sizeof(*dl));
	if (!dl)
		return -ENOMEM;
	dl->fd = dl->dirfd = -1;
	dl->next_id = 1;
	dl->max_bytes = o->max_bytes ? o->max_bytes : DEADLETTER_MAX_BYTES_DEFAULT;
	dl->max_entries = o->max_entries ? o->max_entries : UINT64_MAX;
	ret = dl->max_bytes < DEADLETTER_MAX_BYTES_MIN ? -EINVAL : 0;
	if (!ret) {
		dl->dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		ret = dl->dirfd < 0 ? -errno : 0;
	}
	if (!ret)
		ret = open_file(dl, o->dir);
	if (ret) {
		log_error("dead letters in %s: %s", o->dir, strerror(-ret));
		deadletter_close(dl);
		return ret;
	}
	*out = dl;
	return 0;
}

void deadletter_stats(const struct deadletter *dl, struct deadletter_stats *st)
{
	*st = dl->st;
	st->entries = dl->live;
	st->bytes = dl->size;
}

void deadletter_close(struct deadletter *dl)
{
	size_t i;

	if (!dl)
		return;
	if (dl->fd >= 0)
		close(dl->fd);
	if (dl->dirfd >= 0)
		close(dl->dirfd);
	for (i = 0; i < dl->count; i++)
		free(dl->items[i].webhook_id);
	free(dl->items);
	free(dl->buf);
	free(dl);
}
