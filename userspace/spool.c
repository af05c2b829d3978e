// SPDX-License-Identifier: MIT
/*
 * The spool (format and contract in spool.h).
 *
 * In memory it keeps an index of the events in the segments on disk, in
 * append order: per event its segment and offset (the body stays on disk
 * and is read back only by replay) and per (event, endpoint) pair the retry
 * state and whether it is resolved.  Events and pairs live in two FIFOs
 * that grow at the back as events are appended and shrink at the front as
 * the oldest segment is deleted, so appending allocates nothing per event
 * once they have grown.
 */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crc32c.h"
#include "frame.h"
#include "log.h"
#include "timefmt.h"

enum spool_type { REC_EVENT = 1, REC_ATTEMPT = 2, REC_RESOLVED = 3 };

#define EVENT_FIXED 24
#define ATTEMPT_FIXED 21
#define RESOLVED_FIXED 10
#define SEGMENT_NAME_DIGITS 20
#define SEGMENT_SUFFIX ".seg"
#define SEGMENT_BYTES_MIN (64u * 1024)
#define SEGMENT_BYTES_MAX (1024u * 1024 * 1024) /* offsets are u32 */
#define ENDPOINTS_MAX UINT16_MAX
#define LOCK_NAME "spool.lock"

/* Frames up to the largest event: the body and 65535 endpoints of 255 bytes. */
static bool spool_well_formed(uint8_t type, const uint8_t *p, size_t len);
static const struct frame_format spool_format = {
	.magic = "PHSPOOL",
	.max_len = 1 + EVENT_FIXED + SPOOL_ID_MAX + ENDPOINTS_MAX * (1 + SPOOL_ID_MAX) +
		   SPOOL_BODY_MAX,
	.well_formed = spool_well_formed,
};

struct spool_segment {
	uint64_t id;
	uint64_t bytes;
	uint64_t live; /* events in it with a pending pair */
};

struct spool_entry {
	uint64_t seq;
	uint64_t segment;   /* segment id */
	uint64_t pair;      /* absolute index of its first pair */
	uint32_t off;       /* of its frame in the segment */
	uint32_t frame_len;
	uint16_t n;         /* pairs */
	uint16_t pending;   /* of them not resolved */
};

struct spool_pair {
	uint64_t next_due_ms;
	uint32_t attempts;
	uint16_t ep;        /* index in the endpoint table */
	uint8_t outcome;    /* 0 while pending */
};

/* A queue over one array: push at the back, drop at the front. */
struct fifo {
	void *items;
	size_t elem;
	size_t head;
	size_t count;
	size_t cap;
	uint64_t base; /* absolute index of the item at head */
};

struct spool {
	char *dir;
	int dirfd, lockfd;
	int fd;                /* the current (last) segment */
	int unsynced_fd;       /* the previous one, rotated away before a batch sync */
	uint64_t unsynced_id;
	enum spool_fsync fsync;
	enum spool_full_policy full_policy;
	spool_evict_fn on_evict;
	void *evict_ctx;
	uint64_t max_bytes, event_limit, segment_bytes;
	uint64_t bytes;        /* all segments */
	uint64_t next_seq, next_segment;
	bool dirty, dir_dirty, cut_pending;
	bool refusing;
	struct write_episode episode;

	struct spool_segment *segs; /* oldest first; the last is current */
	size_t nseg, seg_cap;
	struct fifo entries, pairs;
	struct spool_endpoint_stats *eps;
	size_t nep, ep_cap;

	uint8_t *scratch;      /* a frame being built or read back */
	size_t scratch_cap;
	uint16_t *ep_index;    /* append's endpoints, interned */
	size_t ep_index_cap;
	struct spool_target *targets;
	size_t targets_cap;
	uint64_t scan_segment; /* while opening: the segment being scanned */
	struct spool_recovery *rec;

	struct spool_stats st;
};

/* A decoded EVENT payload; pointers into it. */
struct event_rec {
	uint64_t seq, time_ms;
	const uint8_t *id;
	size_t id_len;
	const uint8_t *eps; /* n times: u8 len, bytes */
	size_t n;
	const uint8_t *body;
	size_t body_len;
};

/* ---- records ------------------------------------------------------------------------------ */

static bool event_decode(const uint8_t *p, size_t len, struct event_rec *ev)
{
	size_t pos, i;

	if (len < EVENT_FIXED)
		return false;
	ev->seq = get_le64(p);
	ev->time_ms = get_le64(p + 8);
	ev->body_len = get_le32(p + 16);
	ev->n = get_le16(p + 20);
	ev->id_len = p[22];
	if (!ev->n || !ev->id_len || p[23])
		return false;
	ev->id = p + EVENT_FIXED;
	pos = EVENT_FIXED + ev->id_len;
	ev->eps = p + pos;
	for (i = 0; i < ev->n; i++) {
		if (pos >= len || !p[pos])
			return false;
		pos += 1 + (size_t)p[pos];
	}
	if (pos > len || len - pos != ev->body_len)
		return false;
	ev->body = p + pos;
	return true;
}

static bool spool_well_formed(uint8_t type, const uint8_t *p, size_t len)
{
	struct event_rec ev;

	switch (type) {
	case REC_EVENT:
		return event_decode(p, len, &ev);
	case REC_ATTEMPT:
		return len > ATTEMPT_FIXED && p[20] && len == ATTEMPT_FIXED + (size_t)p[20];
	case REC_RESOLVED:
		return len > RESOLVED_FIXED && p[8] >= SPOOL_DELIVERED && p[8] <= SPOOL_EVICTED &&
		       p[9] && len == RESOLVED_FIXED + (size_t)p[9];
	default:
		return false;
	}
}

/* ---- small containers ------------------------------------------------------------------- */

static void *fifo_at(const struct fifo *f, size_t i)
{
	return (char *)f->items + (f->head + i) * f->elem;
}

/* Room for extra more items at the back. */
static int fifo_reserve(struct fifo *f, size_t extra)
{
	size_t cap;
	void *items;

	if (f->head + f->count + extra <= f->cap)
		return 0;
	if (f->count + extra <= f->cap / 2) {
		/* mostly dropped from the front: slide down rather than grow */
		memmove(f->items, fifo_at(f, 0), f->count * f->elem);
		f->head = 0;
		return 0;
	}
	for (cap = f->cap ? f->cap * 2 : 256; cap < f->count + extra; cap *= 2)
		;
	items = malloc(cap * f->elem);
	if (!items)
		return -ENOMEM;
	if (f->count)
		memcpy(items, fifo_at(f, 0), f->count * f->elem);
	free(f->items);
	f->items = items;
	f->cap = cap;
	f->head = 0;
	return 0;
}

static void *fifo_push(struct fifo *f)
{
	return fifo_at(f, f->count++);
}

static void fifo_drop(struct fifo *f, size_t n)
{
	f->head += n;
	f->count -= n;
	f->base += n;
}

/* Grow *buf to hold n items of size elem. */
static int grow(void *buf, size_t *cap, size_t n, size_t elem)
{
	void **p = buf;
	size_t c = *cap ? *cap : 16;
	void *mem;

	if (n <= *cap)
		return 0;
	while (c < n)
		c *= 2;
	mem = realloc(*p, c * elem);
	if (!mem)
		return -ENOMEM;
	*p = mem;
	*cap = c;
	return 0;
}

static struct spool_pair *pair_at(const struct spool *sp, const struct spool_entry *e, size_t k)
{
	return fifo_at(&sp->pairs, (size_t)(e->pair - sp->pairs.base) + k);
}

/* Ordering by a leading u64 (sequence or segment number), for qsort and bsearch. */
static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Entries and segments are sorted by the u64 they start with. */
_Static_assert(offsetof(struct spool_entry, seq) == 0, "entries are searched by seq");
_Static_assert(offsetof(struct spool_segment, id) == 0, "segments are searched by id");

static struct spool_entry *entry_find(const struct spool *sp, uint64_t seq)
{
	if (!sp->entries.count)
		return NULL;
	return bsearch(&seq, fifo_at(&sp->entries, 0), sp->entries.count, sp->entries.elem,
		       cmp_u64);
}

static struct spool_segment *segment_find(const struct spool *sp, uint64_t id)
{
	return sp->nseg ? bsearch(&id, sp->segs, sp->nseg, sizeof(*sp->segs), cmp_u64) : NULL;
}

static struct spool_segment *current(const struct spool *sp)
{
	return &sp->segs[sp->nseg - 1];
}

static int ep_find(const struct spool *sp, const char *id, size_t len)
{
	size_t i;

	for (i = 0; i < sp->nep; i++)
		if (strncmp(sp->eps[i].id, id, len) == 0 && sp->eps[i].id[len] == '\0')
			return (int)i;
	return -1;
}

/* The endpoint table index of id, added when new.  Endpoints are few: a
 * linear search is cheaper than hashing them. */
static int ep_intern(struct spool *sp, const char *id, size_t len)
{
	int i = ep_find(sp, id, len);
	char *copy;

	if (i >= 0)
		return i;
	if (sp->nep >= ENDPOINTS_MAX)
		return -E2BIG;
	if (grow(&sp->eps, &sp->ep_cap, sp->nep + 1, sizeof(*sp->eps)))
		return -ENOMEM;
	copy = strndup(id, len);
	if (!copy)
		return -ENOMEM;
	memset(&sp->eps[sp->nep], 0, sizeof(sp->eps[0]));
	sp->eps[sp->nep].id = copy;
	return (int)sp->nep++;
}

/* A pending pair of seq for endpoint id. */
static struct spool_pair *pair_find(const struct spool *sp, uint64_t seq, const char *id,
				    size_t len, struct spool_entry **entry)
{
	struct spool_entry *e = entry_find(sp, seq);
	struct spool_pair *p;
	int ep = ep_find(sp, id, len);
	size_t k;

	if (!e || ep < 0)
		return NULL;
	for (k = 0; k < e->n; k++) {
		p = pair_at(sp, e, k);
		if (p->ep == ep && !p->outcome) {
			*entry = e;
			return p;
		}
	}
	return NULL;
}

/* ---- the index ------------------------------------------------------------------------- */

static int index_event(struct spool *sp, const struct event_rec *ev, const uint16_t *eps,
		       uint64_t segment, uint64_t off, size_t frame_len)
{
	struct spool_entry *e;
	struct spool_pair *p;
	size_t k;

	if (fifo_reserve(&sp->entries, 1) || fifo_reserve(&sp->pairs, ev->n))
		return -ENOMEM;
	e = fifo_push(&sp->entries);
	*e = (struct spool_entry){ .seq = ev->seq, .segment = segment,
				   .pair = sp->pairs.base + sp->pairs.count, .off = (uint32_t)off,
				   .frame_len = (uint32_t)frame_len, .n = (uint16_t)ev->n,
				   .pending = (uint16_t)ev->n };
	for (k = 0; k < ev->n; k++) {
		p = fifo_push(&sp->pairs);
		*p = (struct spool_pair){ .ep = eps[k] };
		sp->eps[eps[k]].pending++;
	}
	segment_find(sp, segment)->live++;
	sp->st.live_events++;
	sp->st.pending += ev->n;
	return 0;
}

static void resolve_pair(struct spool *sp, struct spool_entry *e, struct spool_pair *p,
			 enum spool_outcome outcome)
{
	struct spool_endpoint_stats *ep = &sp->eps[p->ep];

	p->outcome = (uint8_t)outcome;
	ep->pending--;
	sp->st.pending--;
	if (outcome == SPOOL_DELIVERED)
		ep->delivered++;
	else if (outcome == SPOOL_DEAD)
		ep->dead++;
	else
		ep->evicted++;
	if (--e->pending == 0) {
		segment_find(sp, e->segment)->live--;
		sp->st.live_events--;
	}
}

static void segment_name(char buf[NAME_MAX + 1], uint64_t id)
{
	snprintf(buf, NAME_MAX + 1, "%0*" PRIu64 SEGMENT_SUFFIX, SEGMENT_NAME_DIGITS, id);
}

/*
 * Forget the oldest segment and its events, and delete its file.  Pairs
 * still pending in it are evicted (drop_oldest making room).
 */
static void drop_oldest_segment(struct spool *sp)
{
	struct spool_segment seg = sp->segs[0];
	uint64_t events = 0, pairs = 0, pair_end;
	char name[NAME_MAX + 1];
	struct spool_entry *e;
	struct spool_pair *p;
	size_t n = 0, k;

	for (; n < sp->entries.count; n++) {
		e = fifo_at(&sp->entries, n);
		if (e->segment != seg.id)
			break;
		events += e->pending > 0;
		for (k = 0; e->pending && k < e->n; k++) {
			p = pair_at(sp, e, k);
			if (p->outcome)
				continue;
			pairs++;
			resolve_pair(sp, e, p, SPOOL_EVICTED);
			if (sp->on_evict)
				sp->on_evict(sp->evict_ctx, e->seq, sp->eps[p->ep].id);
		}
	}
	pair_end = n < sp->entries.count ? ((struct spool_entry *)fifo_at(&sp->entries, n))->pair :
					   sp->pairs.base + sp->pairs.count;
	fifo_drop(&sp->pairs, (size_t)(pair_end - sp->pairs.base));
	fifo_drop(&sp->entries, n);
	segment_name(name, seg.id);
	if (events)
		log_warn("spool full (%" PRIu64 " of %" PRIu64 " bytes): evicted %s with %" PRIu64
			 " undelivered events (%" PRIu64 " deliveries)",
			 sp->bytes, sp->max_bytes, name, events, pairs);
	sp->st.evicted_events += events;
	sp->st.evicted += pairs;
	if (unlinkat(sp->dirfd, name, 0) && errno != ENOENT)
		log_warn("spool: deleting %s: %s", name, strerror(errno));
	if (sp->unsynced_fd >= 0 && sp->unsynced_id == seg.id) {
		close(sp->unsynced_fd);
		sp->unsynced_fd = -1;
	}
	sp->bytes -= seg.bytes;
	sp->st.segments_deleted++;
	memmove(sp->segs, sp->segs + 1, (sp->nseg - 1) * sizeof(*sp->segs));
	sp->nseg--;
}

/* Oldest first, never the current one: see spool.h for why that order. */
static void delete_resolved(struct spool *sp)
{
	while (sp->nseg > 1 && sp->segs[0].live == 0)
		drop_oldest_segment(sp);
}

/* ---- writing --------------------------------------------------------------------------- */

static int write_failed(struct spool *sp, int err, const char *what)
{
	char name[NAME_MAX + 1];

	sp->st.write_errors++;
	if (episode_fail(&sp->episode, now_ms())) {
		segment_name(name, current(sp)->id);
		log_error("spool %s: %s %s: %s; events are not accepted while writes fail",
			  sp->dir, what, name, strerror(-err));
	}
	return err;
}

static void write_ok(struct spool *sp)
{
	struct write_episode ended;

	if (episode_ok(&sp->episode, now_ms(), &ended))
		log_info("spool %s: writing works again (none failed for %d s): %" PRIu64
			 " writes failed and %" PRIu64 " succeeded since the first failure",
			 sp->dir, EPISODE_SETTLE_MS / 1000, ended.errors, ended.successes);
}

static int sync_fd(struct spool *sp, int fd)
{
	sp->st.syncs++;
	return fdatasync(fd) ? -errno : 0;
}

/* Start segment next_segment and make it current. */
static int rotate(struct spool *sp)
{
	uint8_t header[FRAME_HEADER_LEN];
	struct iovec iov = { header, sizeof(header) };
	char name[NAME_MAX + 1];
	bool cut = false;
	int fd, ret;

	if (grow(&sp->segs, &sp->seg_cap, sp->nseg + 1, sizeof(*sp->segs)))
		return -ENOMEM;
	segment_name(name, sp->next_segment);
	fd = openat(sp->dirfd, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	frame_header_encode(header, &spool_format, sp->next_segment, sp->next_seq);
	ret = frame_pwritev(fd, 0, &iov, 1, &cut);
	if (!ret && sp->fsync == SPOOL_FSYNC_ALWAYS) {
		ret = sync_fd(sp, fd);
		if (!ret && fsync(sp->dirfd))
			ret = -errno;
	}
	if (ret) {
		close(fd);
		unlinkat(sp->dirfd, name, 0);
		return ret;
	}
	if (sp->fd >= 0) {
		/* batch: the previous segment's tail still wants the next sync */
		if (sp->fsync == SPOOL_FSYNC_BATCH && sp->dirty) {
			/* two rotations within one sync interval: the older one now */
			if (sp->unsynced_fd >= 0) {
				ret = sync_fd(sp, sp->unsynced_fd);
				close(sp->unsynced_fd);
				if (ret)
					write_failed(sp, ret, "syncing the segment before");
			}
			sp->unsynced_fd = sp->fd;
			sp->unsynced_id = current(sp)->id;
		} else {
			close(sp->fd);
		}
	}
	sp->fd = fd;
	sp->cut_pending = false;
	sp->dirty = sp->dir_dirty = sp->fsync == SPOOL_FSYNC_BATCH;
	sp->segs[sp->nseg++] = (struct spool_segment){ .id = sp->next_segment,
						       .bytes = FRAME_HEADER_LEN };
	sp->next_segment++;
	sp->bytes += FRAME_HEADER_LEN;
	delete_resolved(sp);
	return 0;
}

static bool needs_rotation(const struct spool *sp, size_t frame_len)
{
	const struct spool_segment *cur = current(sp);

	return cur->bytes > FRAME_HEADER_LEN && cur->bytes + frame_len > sp->segment_bytes;
}

/*
 * Write one frame (head + meta in scratch, then body) at the end of the
 * current segment.  always: synced before returning; when that fails the
 * frame is cut back off, so a failed call leaves nothing behind.
 */
static int write_frame(struct spool *sp, uint8_t type, size_t meta_len, const void *body,
		       size_t body_len)
{
	struct spool_segment *cur;
	struct iovec iov[2];
	size_t frame_len = FRAME_HEAD_LEN + meta_len + body_len;
	uint32_t crc;
	uint64_t off;
	int ret;

	if (needs_rotation(sp, frame_len) && (ret = rotate(sp)))
		return write_failed(sp, ret, "starting a segment after");
	cur = current(sp);
	off = cur->bytes;
	crc = crc32c(0, &type, 1);
	crc = crc32c(crc, sp->scratch + FRAME_HEAD_LEN, meta_len);
	crc = crc32c(crc, body, body_len);
	frame_head(sp->scratch, type, meta_len + body_len, crc);
	iov[0] = (struct iovec){ sp->scratch, FRAME_HEAD_LEN + meta_len };
	iov[1] = (struct iovec){ (void *)body, body_len };
	ret = frame_pwritev(sp->fd, off, iov, body_len ? 2 : 1, &sp->cut_pending);
	if (!ret && sp->fsync == SPOOL_FSYNC_ALWAYS && (ret = sync_fd(sp, sp->fd)))
		frame_cut(sp->fd, off, &sp->cut_pending);
	if (ret)
		return write_failed(sp, ret, "writing");
	cur->bytes += frame_len;
	sp->bytes += frame_len;
	sp->dirty = sp->fsync == SPOOL_FSYNC_BATCH;
	write_ok(sp);
	return 0;
}

static int scratch_reserve(struct spool *sp, size_t n)
{
	return grow(&sp->scratch, &sp->scratch_cap, n, 1);
}

/*
 * An ATTEMPT or RESOLVED record.  They may use the headroom events leave
 * (max_bytes - event_limit) but never go past max_bytes: beyond, the record
 * is skipped and counted like a failed write.
 */
static void write_small(struct spool *sp, uint8_t type, size_t meta_len)
{
	size_t frame_len = FRAME_HEAD_LEN + meta_len;

	if (sp->bytes + frame_len + FRAME_HEADER_LEN > sp->max_bytes) {
		write_failed(sp, -ENOSPC, "no room under spool_max_bytes for a record in");
		return;
	}
	write_frame(sp, type, meta_len, NULL, 0);
}

/* ---- appending ------------------------------------------------------------------------- */

static void count_refused(struct spool *sp, size_t n, bool refused)
{
	size_t k;

	for (k = 0; k < n; k++) {
		if (refused)
			sp->eps[sp->ep_index[k]].refused++;
		else
			sp->eps[sp->ep_index[k]].write_failed++;
	}
}

/*
 * Make room for a frame of frame_len under the event limit.  *refused tells
 * a refusal by policy (or an event larger than the spool) from a failure.
 */
static int make_room(struct spool *sp, size_t frame_len, bool *refused)
{
	uint64_t need;
	int ret;

	*refused = false;
	for (;;) {
		need = frame_len + (needs_rotation(sp, frame_len) ? FRAME_HEADER_LEN : 0);
		if (sp->bytes + need <= sp->event_limit)
			break;
		if (sp->full_policy == SPOOL_REFUSE_NEWEST) {
			if (!sp->refusing)
				log_warn("spool %s full (%" PRIu64 " of %" PRIu64
					 " bytes): refusing new events until deliveries free "
					 "space", sp->dir, sp->bytes, sp->max_bytes);
			sp->refusing = true;
			*refused = true;
			return -ENOSPC;
		}
		if (sp->nseg > 1) {
			drop_oldest_segment(sp);
			continue;
		}
		/* all in the current segment: start another so that this one can go */
		ret = rotate(sp);
		if (ret)
			return write_failed(sp, ret, "starting a segment after");
	}
	if (sp->refusing)
		log_info("spool %s: accepting events again", sp->dir);
	sp->refusing = false;
	return 0;
}

static uint64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static size_t encode_event(struct spool *sp, uint64_t seq, const char *webhook_id, size_t id_len,
			   size_t body_len, const char *const *endpoint_ids, size_t n)
{
	uint8_t *p = sp->scratch + FRAME_HEAD_LEN, *start = p;
	size_t k, len;

	put_le64(p, seq);
	put_le64(p + 8, unix_ms());
	put_le32(p + 16, (uint32_t)body_len);
	put_le16(p + 20, (uint16_t)n);
	p[22] = (uint8_t)id_len;
	p[23] = 0;
	memcpy(p + EVENT_FIXED, webhook_id, id_len);
	p += EVENT_FIXED + id_len;
	for (k = 0; k < n; k++) {
		len = strlen(endpoint_ids[k]);
		*p = (uint8_t)len;
		memcpy(p + 1, endpoint_ids[k], len);
		p += 1 + len;
	}
	return (size_t)(p - start);
}

/* Bytes of meta (everything before the body), or 0 when an id is invalid. */
static size_t event_meta_len(const char *webhook_id, const char *const *endpoint_ids, size_t n)
{
	size_t meta = EVENT_FIXED, len, k;

	len = strnlen(webhook_id, SPOOL_ID_MAX + 1);
	if (!len || len > SPOOL_ID_MAX)
		return 0;
	meta += len;
	for (k = 0; k < n; k++) {
		len = endpoint_ids[k] ? strnlen(endpoint_ids[k], SPOOL_ID_MAX + 1) : 0;
		if (!len || len > SPOOL_ID_MAX)
			return 0;
		meta += 1 + len;
	}
	return meta;
}

int spool_append_event(struct spool *sp, const char *webhook_id, const char *body, size_t len,
		       const char *const *endpoint_ids, size_t n, uint64_t *seq)
{
	size_t meta_len, frame_len, k;
	struct event_rec ev;
	bool refused;
	int ret;

	if (!sp || !webhook_id || (!body && len) || len > SPOOL_BODY_MAX || !endpoint_ids || !n ||
	    n > ENDPOINTS_MAX)
		return -EINVAL;
	meta_len = event_meta_len(webhook_id, endpoint_ids, n);
	if (!meta_len)
		return -EINVAL;
	if (FRAME_HEAD_LEN + meta_len + len + 2 * FRAME_HEADER_LEN > sp->event_limit)
		return -EMSGSIZE;
	/* everything that can fail for memory, before anything reaches the disk */
	if (grow(&sp->ep_index, &sp->ep_index_cap, n, sizeof(*sp->ep_index)) ||
	    scratch_reserve(sp, FRAME_HEAD_LEN + meta_len) || fifo_reserve(&sp->entries, 1) ||
	    fifo_reserve(&sp->pairs, n))
		return -ENOMEM;
	for (k = 0; k < n; k++) {
		ret = ep_intern(sp, endpoint_ids[k], strlen(endpoint_ids[k]));
		if (ret < 0)
			return ret;
		sp->ep_index[k] = (uint16_t)ret;
	}

	frame_len = FRAME_HEAD_LEN + meta_len + len;
	ret = make_room(sp, frame_len, &refused);
	if (!ret) {
		encode_event(sp, sp->next_seq, webhook_id, strlen(webhook_id), len, endpoint_ids,
			     n);
		ret = write_frame(sp, REC_EVENT, meta_len, body, len);
	}
	if (ret) {
		sp->st.refused += refused;
		count_refused(sp, n, refused);
		return ret;
	}

	ev = (struct event_rec){ .seq = sp->next_seq, .n = n };
	index_event(sp, &ev, sp->ep_index, current(sp)->id, current(sp)->bytes - frame_len,
		    frame_len);
	for (k = 0; k < n; k++)
		sp->eps[sp->ep_index[k]].appended++;
	sp->st.appended++;
	*seq = sp->next_seq++;
	return 0;
}

/*
 * Find the pending pair (seq, endpoint_id) and start a record about it in
 * scratch: seq first, the endpoint id at fixed, its length in the byte
 * before.  Returns the payload length so far (fixed + id) or an error.
 */
static int pair_record(struct spool *sp, uint64_t seq, const char *endpoint_id, size_t fixed,
		       struct spool_entry **e, struct spool_pair **p)
{
	size_t len = endpoint_id ? strnlen(endpoint_id, SPOOL_ID_MAX + 1) : 0;
	uint8_t *m;

	if (!sp || !len || len > SPOOL_ID_MAX)
		return -EINVAL;
	*p = pair_find(sp, seq, endpoint_id, len, e);
	if (!*p)
		return -ENOENT;
	if (scratch_reserve(sp, FRAME_HEAD_LEN + fixed + len))
		return -ENOMEM;
	m = sp->scratch + FRAME_HEAD_LEN;
	put_le64(m, seq);
	m[fixed - 1] = (uint8_t)len;
	memcpy(m + fixed, endpoint_id, len);
	return (int)(fixed + len);
}

int spool_note_attempt(struct spool *sp, uint64_t seq, const char *endpoint_id,
		       unsigned int attempts, uint64_t next_due_unix_ms)
{
	struct spool_entry *e;
	struct spool_pair *p;
	int len;

	len = pair_record(sp, seq, endpoint_id, ATTEMPT_FIXED, &e, &p);
	if (len < 0)
		return len;
	put_le64(sp->scratch + FRAME_HEAD_LEN + 8, next_due_unix_ms);
	put_le32(sp->scratch + FRAME_HEAD_LEN + 16, attempts);
	write_small(sp, REC_ATTEMPT, (size_t)len);
	p->attempts = attempts;
	p->next_due_ms = next_due_unix_ms;
	return 0;
}

int spool_resolve(struct spool *sp, uint64_t seq, const char *endpoint_id,
		  enum spool_outcome outcome)
{
	struct spool_entry *e;
	struct spool_pair *p;
	int len;

	if (outcome < SPOOL_DELIVERED || outcome > SPOOL_EVICTED)
		return -EINVAL;
	len = pair_record(sp, seq, endpoint_id, RESOLVED_FIXED, &e, &p);
	if (len < 0)
		return len;
	sp->scratch[FRAME_HEAD_LEN + 8] = (uint8_t)outcome;
	write_small(sp, REC_RESOLVED, (size_t)len);
	resolve_pair(sp, e, p, outcome);
	delete_resolved(sp);
	return 0;
}

int spool_sync(struct spool *sp)
{
	int ret = 0, err;

	if (!sp || sp->fsync != SPOOL_FSYNC_BATCH)
		return 0;
	if (sp->unsynced_fd >= 0) {
		ret = sync_fd(sp, sp->unsynced_fd);
		close(sp->unsynced_fd);
		sp->unsynced_fd = -1;
	}
	if (sp->dirty) {
		err = sync_fd(sp, sp->fd);
		ret = ret ? ret : err;
		sp->dirty = err != 0;
	}
	/* a new segment's name must survive a power loss as well as its bytes */
	if (sp->dir_dirty) {
		err = fsync(sp->dirfd) ? -errno : 0;
		ret = ret ? ret : err;
		sp->dir_dirty = err != 0;
	}
	if (ret)
		return write_failed(sp, ret, "syncing");
	return 0;
}

/* ---- opening and recovery -------------------------------------------------------------- */

static int on_frame(void *ctx, uint8_t type, const uint8_t *p, size_t len, uint64_t off)
{
	struct spool *sp = ctx;
	struct event_rec ev;
	struct spool_entry *e, *last;
	struct spool_pair *pair;
	const uint8_t *q;
	size_t k;
	int ret;

	sp->rec->records++;
	if (type != REC_EVENT) {
		q = type == REC_ATTEMPT ? p + ATTEMPT_FIXED : p + RESOLVED_FIXED;
		pair = pair_find(sp, get_le64(p), (const char *)q, q[-1], &e);
		if (!pair) {
			sp->rec->stale_records++;
		} else if (type == REC_ATTEMPT) {
			pair->next_due_ms = get_le64(p + 8);
			pair->attempts = get_le32(p + 16);
		} else {
			resolve_pair(sp, e, pair, (enum spool_outcome)p[8]);
		}
		return 0;
	}
	event_decode(p, len, &ev);
	last = sp->entries.count ? fifo_at(&sp->entries, sp->entries.count - 1) : NULL;
	if (last && ev.seq <= last->seq) {
		sp->rec->stale_records++; /* out of order: cannot be ours */
		return 0;
	}
	if (grow(&sp->ep_index, &sp->ep_index_cap, ev.n, sizeof(*sp->ep_index)))
		return -ENOMEM;
	for (k = 0, q = ev.eps; k < ev.n; k++, q += 1 + *q) {
		ret = ep_intern(sp, (const char *)q + 1, *q);
		if (ret < 0)
			return ret;
		sp->ep_index[k] = (uint16_t)ret;
	}
	if (ev.seq >= sp->next_seq)
		sp->next_seq = ev.seq + 1;
	return index_event(sp, &ev, sp->ep_index, sp->scan_segment, off,
			   FRAME_HEAD_LEN + len);
}

static int parse_segment_name(const char *name, uint64_t *id)
{
	size_t i;

	for (i = 0; i < SEGMENT_NAME_DIGITS; i++)
		if (name[i] < '0' || name[i] > '9')
			return -EINVAL;
	if (strcmp(name + SEGMENT_NAME_DIGITS, SEGMENT_SUFFIX) != 0)
		return -EINVAL;
	*id = strtoull(name, NULL, 10);
	return 0;
}

/* The segment numbers in the directory, sorted. */
static int list_segments(int dirfd, uint64_t **ids, size_t *n)
{
	size_t cap = 0;
	struct dirent *d;
	uint64_t id;
	DIR *dir;
	int fd, ret = 0;

	*ids = NULL;
	*n = 0;
	fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		close(fd);
		return -errno;
	}
	while ((d = readdir(dir))) {
		if (parse_segment_name(d->d_name, &id))
			continue;
		if (grow(ids, &cap, *n + 1, sizeof(**ids))) {
			ret = -ENOMEM;
			break;
		}
		(*ids)[(*n)++] = id;
	}
	closedir(dir);
	if (*n)
		qsort(*ids, *n, sizeof(**ids), cmp_u64);
	return ret;
}

static int scan_segments(struct spool *sp)
{
	struct spool_recovery *rec = sp->rec;
	char name[NAME_MAX + 1];
	struct frame_file ff;
	uint64_t *ids;
	size_t n, i;
	int ret;

	ret = list_segments(sp->dirfd, &ids, &n);
	for (i = 0; !ret && i < n; i++) {
		if (grow(&sp->segs, &sp->seg_cap, sp->nseg + 1, sizeof(*sp->segs))) {
			ret = -ENOMEM;
			break;
		}
		sp->segs[sp->nseg++] = (struct spool_segment){ .id = ids[i] };
		sp->scan_segment = ids[i];
		segment_name(name, ids[i]);
		ret = frame_scan(sp->dirfd, sp->dir, name, &spool_format, on_frame, sp, &ff);
		rec->segments++;
		rec->torn_regions += ff.torn_regions;
		rec->torn_bytes += ff.torn_bytes;
		if (ids[i] >= sp->next_segment)
			sp->next_segment = ids[i] + 1;
		if (ret)
			break;
		if (!ff.set_aside && ff.first_seq > sp->next_seq)
			sp->next_seq = ff.first_seq;
		if (!ff.set_aside && ff.size == FRAME_HEADER_LEN) {
			/* started by an earlier open, never written to: it holds nothing,
			 * and every restart would otherwise leave one behind */
			if (unlinkat(sp->dirfd, name, 0) == 0)
				rec->segments_deleted++;
			ff.set_aside = true;
		}
		if (ff.set_aside) {
			sp->nseg--; /* nothing was indexed from it */
			continue;
		}
		current(sp)->bytes = ff.size;
		sp->bytes += ff.size;
	}
	if (ret == -ENOMEM)
		log_error("spool %s: out of memory reading the segments", sp->dir);
	else if (ret && ret != -EPROTONOSUPPORT)
		log_error("spool %s: reading %s: %s", sp->dir, name, strerror(-ret));
	free(ids);
	return ret;
}

/* mkdir -p, 0700 for what it creates. */
static int make_dirs(const char *path)
{
	char buf[PATH_MAX];
	size_t len = strlen(path), i;

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		buf[i] = path[i];
	}
	return 0;
}

static int lock_dir(struct spool *sp)
{
	sp->lockfd = openat(sp->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lockfd < 0)
		return -errno;
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) == 0)
		return 0;
	if (errno == EWOULDBLOCK) {
		log_error("spool %s: in use by another process", sp->dir);
		return -EBUSY;
	}
	return -errno;
}

static int set_options(struct spool *sp, const struct spool_options *o)
{
	uint64_t seg;

	if (!o->dir || o->dir[0] != '/' || o->fsync > SPOOL_FSYNC_NONE ||
	    o->full_policy > SPOOL_REFUSE_NEWEST)
		return -EINVAL;
	sp->max_bytes = o->max_bytes ? o->max_bytes : SPOOL_MAX_BYTES_DEFAULT;
	if (sp->max_bytes < SPOOL_MAX_BYTES_MIN)
		return -EINVAL;
	seg = o->segment_bytes;
	if (!seg) {
		seg = sp->max_bytes / 16;
		if (seg > SPOOL_SEGMENT_BYTES_DEFAULT)
			seg = SPOOL_SEGMENT_BYTES_DEFAULT;
	}
	/* several segments under the bound, so that evicting one frees a part */
	if (seg < SEGMENT_BYTES_MIN || seg > SEGMENT_BYTES_MAX || seg > sp->max_bytes / 4)
		return -EINVAL;
	sp->segment_bytes = seg;
	/* leave 1/32 for retry and resolution records */
	sp->event_limit = sp->max_bytes - sp->max_bytes / 32;
	sp->fsync = o->fsync;
	sp->full_policy = o->full_policy;
	sp->on_evict = o->on_evict;
	sp->evict_ctx = o->evict_ctx;
	sp->dir = strdup(o->dir);
	return sp->dir ? 0 : -ENOMEM;
}

int spool_open(struct spool **out, const struct spool_options *o, struct spool_recovery *rec)
{
	struct spool_recovery scratch_rec;
	struct spool *sp;
	size_t i;
	int ret;

	if (!out || !o)
		return -EINVAL;
	*out = NULL;
	if (!rec)
		rec = &scratch_rec;
	memset(rec, 0, sizeof(*rec));
	sp = calloc(1, sizeof(*sp));
	if (!sp)
		return -ENOMEM;
	sp->dirfd = sp->lockfd = sp->fd = sp->unsynced_fd = -1;
	sp->entries.elem = sizeof(struct spool_entry);
	sp->pairs.elem = sizeof(struct spool_pair);
	sp->next_seq = sp->next_segment = 1;
	sp->rec = rec;
	ret = set_options(sp, o);
	if (ret)
		goto fail;
	ret = make_dirs(sp->dir);
	if (ret) {
		log_error("spool %s: creating it: %s", sp->dir, strerror(-ret));
		goto fail;
	}
	sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sp->dirfd < 0) {
		ret = -errno;
		log_error("spool %s: %s", sp->dir, strerror(-ret));
		goto fail;
	}
	ret = lock_dir(sp);
	if (!ret)
		ret = scan_segments(sp);
	if (ret)
		goto fail;
	rec->events = sp->st.live_events;
	rec->pending = sp->st.pending;
	/* every segment so far is old: whatever is fully resolved goes */
	while (sp->nseg && sp->segs[0].live == 0)
		drop_oldest_segment(sp);
	rec->segments_deleted += sp->st.segments_deleted;
	ret = rotate(sp);
	if (ret) {
		log_error("spool %s: starting a segment: %s", sp->dir, strerror(-ret));
		goto fail;
	}
	/* resolutions read back are history, not this run's counts */
	for (i = 0; i < sp->nep; i++)
		sp->eps[i].delivered = sp->eps[i].dead = sp->eps[i].evicted = 0;
	sp->st.torn_regions = rec->torn_regions;
	sp->st.torn_bytes = rec->torn_bytes;
	sp->rec = NULL;
	if (rec->torn_regions || rec->pending)
		log_info("spool %s: %" PRIu64 " events pending (%" PRIu64 " deliveries); bad "
			 "stretches set aside: %" PRIu64 " (%" PRIu64 " bytes)", sp->dir,
			 rec->events, rec->pending, rec->torn_regions, rec->torn_bytes);
	*out = sp;
	return 0;
fail:
	spool_close(sp);
	return ret;
}

/* ---- replay ---------------------------------------------------------------------------- */

/* Read entry e's frame back into scratch; fd caches the segment last read. */
static int read_event(struct spool *sp, const struct spool_entry *e, int *fd, uint64_t *fd_id,
		      struct event_rec *ev)
{
	char name[NAME_MAX + 1];
	const uint8_t *payload;
	uint8_t type;
	size_t len;
	ssize_t n;

	segment_name(name, e->segment);
	if (*fd < 0 || *fd_id != e->segment) {
		if (*fd >= 0)
			close(*fd);
		*fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC);
		if (*fd < 0)
			return -errno;
		*fd_id = e->segment;
	}
	if (scratch_reserve(sp, e->frame_len))
		return -ENOMEM;
	do
		n = pread(*fd, sp->scratch, e->frame_len, e->off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* checked when opened: a mismatch now means someone changed the file */
	if ((size_t)n != e->frame_len ||
	    !frame_check(sp->scratch, e->frame_len, &spool_format, &type, &payload, &len) ||
	    type != REC_EVENT || !event_decode(payload, len, ev) || ev->seq != e->seq)
		return -EIO;
	return 0;
}

/* The index of the first entry whose seq is at least seq (count: none). */
static size_t entry_lower_bound(const struct spool *sp, uint64_t seq)
{
	size_t lo = 0, hi = sp->entries.count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct spool_entry *e = fifo_at(&sp->entries, mid);

		if (e->seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Hand entry e (pending) to fn, its body read back from its segment. */
static int replay_entry(struct spool *sp, const struct spool_entry *e, int *fd, uint64_t *fd_id,
			spool_pending_fn fn, void *ctx)
{
	char id[SPOOL_ID_MAX + 1];
	struct spool_pending pend;
	struct spool_pair *p;
	struct event_rec ev;
	size_t k, nt;
	int err;

	if (grow(&sp->targets, &sp->targets_cap, e->n, sizeof(*sp->targets)))
		return -ENOMEM;
	err = read_event(sp, e, fd, fd_id, &ev);
	if (err) {
		/* the others can still go: report, keep going */
		log_error("spool %s: reading back event %" PRIu64 ": %s", sp->dir, e->seq,
			  strerror(-err));
		return -EIO;
	}
	memcpy(id, ev.id, ev.id_len);
	id[ev.id_len] = '\0';
	for (k = 0, nt = 0; k < e->n; k++) {
		p = pair_at(sp, e, k);
		if (!p->outcome)
			sp->targets[nt++] = (struct spool_target){
				.endpoint_id = sp->eps[p->ep].id, .attempts = p->attempts,
				.next_due_ms = p->next_due_ms };
	}
	pend = (struct spool_pending){ .seq = e->seq, .time_ms = ev.time_ms, .webhook_id = id,
				       .body = (const char *)ev.body, .len = ev.body_len,
				       .targets = sp->targets, .target_count = nt };
	return fn(ctx, &pend);
}

int spool_replay_from(struct spool *sp, uint64_t from_seq, size_t max_events,
		      spool_pending_fn fn, void *ctx, uint64_t *next_seq)
{
	uint64_t fd_id = 0, seq = from_seq;
	size_t i, done = 0;
	int fd = -1, ret = 0, err;

	/* by seq, not by index: fn may resolve pairs, and a segment deleted
	 * under us shifts every index */
	while ((i = entry_lower_bound(sp, seq)) < sp->entries.count && done < max_events) {
		const struct spool_entry *e = fifo_at(&sp->entries, i);

		seq = e->seq + 1;
		if (!e->pending)
			continue;
		done++;
		err = replay_entry(sp, e, &fd, &fd_id, fn, ctx);
		if (err == -EIO) {
			ret = ret ? ret : err;
		} else if (err) {
			ret = err;
			seq--; /* not taken: the next batch starts with it */
			break;
		}
	}
	if (fd >= 0)
		close(fd);
	i = entry_lower_bound(sp, seq);
	*next_seq = i < sp->entries.count ? ((const struct spool_entry *)fifo_at(&sp->entries, i))->seq
					  : 0;
	return ret;
}

int spool_replay(struct spool *sp, spool_pending_fn fn, void *ctx)
{
	uint64_t next;

	return spool_replay_from(sp, 0, SIZE_MAX, fn, ctx, &next);
}

/* ---- the rest -------------------------------------------------------------------------- */

void spool_stats(struct spool *sp, struct spool_stats *st)
{
	*st = sp->st;
	st->bytes = sp->bytes;
	st->max_bytes = sp->max_bytes;
	st->segments = sp->nseg;
	st->failing = sp->episode.failing;
	st->endpoints = sp->eps;
	st->endpoint_count = sp->nep;
}

void spool_close(struct spool *sp)
{
	size_t i;

	if (!sp)
		return;
	if (sp->fd >= 0 && sp->fsync == SPOOL_FSYNC_BATCH)
		spool_sync(sp);
	if (sp->unsynced_fd >= 0)
		close(sp->unsynced_fd);
	if (sp->fd >= 0)
		close(sp->fd);
	if (sp->lockfd >= 0)
		close(sp->lockfd); /* and the lock with it */
	if (sp->dirfd >= 0)
		close(sp->dirfd);
	for (i = 0; i < sp->nep; i++)
		free((char *)sp->eps[i].id);
	free(sp->eps);
	free(sp->segs);
	free(sp->entries.items);
	free(sp->pairs.items);
	free(sp->scratch);
	free(sp->ep_index);
	free(sp->targets);
	free(sp->dir);
	free(sp);
}

const char *const spool_fsync_names[] = { "batch", "always", "none", NULL };
const char *const spool_full_policy_names[] = { "drop_oldest", "refuse_newest", NULL };

const char *spool_outcome_name(enum spool_outcome o)
{
	static const char *const names[] = { NULL, "delivered", "dead", "evicted" };

	return (unsigned int)o < sizeof(names) / sizeof(names[0]) ? names[o] : NULL;
}
