// SPDX-License-Identifier: MIT
/*
 * The spool: append and replay across segments and reopens, resolution and
 * segment deletion, torn and corrupt records, both full policies, a full
 * disk (a real one: RLIMIT_FSIZE makes the kernel fail writes part-way with
 * EFBIG, as a full filesystem fails them with ENOSPC), fsync policies, and
 * random garbage where a segment should be.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>

#include "check.h"
#include "crc32c.h"
#include "frame.h"
#include "spool.h"
#include "tmpdir.h"

#define BODY_LEN 600
#define SEG_BYTES (64 * 1024)
#define MIB (1024 * 1024)

static char dir[PATH_MAX];
static const char *const ep_a[] = { "ops" };
static const char *const ep_ab[] = { "ops", "audit" };
static const char *const ep_b[] = { "audit" };

/* ---- helpers ---------------------------------------------------------------------------- */

static void webhook_id(char out[32], unsigned int i)
{
	snprintf(out, 32, "msg_%08u", i);
}

/* Event i's body: its number, then letters that differ per event and byte. */
static void make_body(char *buf, unsigned int i, size_t len)
{
	int n = snprintf(buf, len, "{\"n\":%u,\"pad\":\"", i);
	size_t j;

	for (j = (size_t)n; j < len - 2; j++)
		buf[j] = (char)('a' + (i + j) % 26);
	memcpy(buf + len - 2, "\"}", 2);
}

static int append(struct spool *sp, unsigned int i, const char *const *eps, size_t n,
		  uint64_t *seq)
{
	char id[32], body[BODY_LEN];

	webhook_id(id, i);
	make_body(body, i, sizeof(body));
	return spool_append_event(sp, id, body, sizeof(body), eps, n, seq);
}

struct evictions {
	uint64_t count;
	uint64_t max_seq;
};

static void on_evict(void *ctx, uint64_t seq, const char *endpoint_id)
{
	struct evictions *ev = ctx;

	(void)endpoint_id;
	ev->count++;
	if (seq > ev->max_seq)
		ev->max_seq = seq;
}

static struct evictions evicted;

static struct spool *open_with(enum spool_fsync fsync, enum spool_full_policy policy,
			       uint64_t max_bytes, struct spool_recovery *rec)
{
	struct spool_options o = { .dir = dir, .max_bytes = max_bytes, .segment_bytes = SEG_BYTES,
				   .fsync = fsync, .full_policy = policy, .on_evict = on_evict,
				   .evict_ctx = &evicted };
	struct spool *sp = NULL;
	int ret = spool_open(&sp, &o, rec);

	CHECK(ret == 0);
	if (ret)
		fprintf(stderr, "  spool_open: %s\n", strerror(-ret));
	return sp;
}

static struct spool *open_default(struct spool_recovery *rec)
{
	return open_with(SPOOL_FSYNC_BATCH, SPOOL_DROP_OLDEST, 8 * MIB, rec);
}

/* What replay handed over, checked against what was appended. */
struct seen {
	uint64_t seq;
	unsigned int n;         /* the event number in its webhook-id */
	size_t targets;
	char ep[2][16];
	unsigned int attempts[2];
	uint64_t due[2];
};

struct replayed {
	struct seen items[5000];
	size_t count;
	int bad;                /* bodies or ids that do not match */
	int out_of_order;
	struct spool *sp;       /* for on_pending_resolve */
};

static int on_pending(void *ctx, const struct spool_pending *p)
{
	struct replayed *r = ctx;
	char body[BODY_LEN], id[32];
	struct seen *s;
	unsigned int n = 0;
	size_t k;

	if (r->count == sizeof(r->items) / sizeof(r->items[0]))
		return -E2BIG;
	s = &r->items[r->count];
	if (sscanf(p->webhook_id, "msg_%u", &n) != 1)
		r->bad++;
	webhook_id(id, n);
	make_body(body, n, sizeof(body));
	if (strcmp(id, p->webhook_id) || p->len != BODY_LEN || memcmp(body, p->body, BODY_LEN))
		r->bad++;
	if (r->count && p->seq <= r->items[r->count - 1].seq)
		r->out_of_order++;
	*s = (struct seen){ .seq = p->seq, .n = n, .targets = p->target_count };
	for (k = 0; k < p->target_count && k < 2; k++) {
		snprintf(s->ep[k], sizeof(s->ep[k]), "%s", p->targets[k].endpoint_id);
		s->attempts[k] = p->targets[k].attempts;
		s->due[k] = p->targets[k].next_due_ms;
	}
	r->count++;
	return 0;
}

static struct replayed *replay(struct spool *sp)
{
	struct replayed *r = calloc(1, sizeof(*r));

	CHECK(spool_replay(sp, on_pending, r) == 0);
	CHECK(r->bad == 0);
	CHECK(r->out_of_order == 0);
	return r;
}

/* The name of the n-th (0: oldest) segment file in dir. */
static int segment_file(int n, char name[64])
{
	struct dirent **list;
	int count, i, found = -1;

	count = scandir(dir, &list, NULL, alphasort);
	for (i = 0; i < count; i++) {
		size_t len = strlen(list[i]->d_name);

		if (found < n && len > 4 && len < 64 &&
		    strcmp(list[i]->d_name + len - 4, ".seg") == 0 &&
		    list[i]->d_name[0] != 't' && ++found == n)
			memcpy(name, list[i]->d_name, len + 1);
		free(list[i]);
	}
	free(list);
	return found == n ? 0 : -ENOENT;
}

static void file_path(char *path, const char *name)
{
	CHECK(tmpdir_path(path, dir, name) == 0);
}

static void truncate_file(const char *name, long long size)
{
	char path[PATH_MAX];

	file_path(path, name);
	CHECK(truncate(path, size) == 0);
}

static void flip_byte(const char *name, long long off)
{
	char path[PATH_MAX];
	unsigned char c;
	int fd;

	file_path(path, name);
	fd = open(path, O_RDWR);
	CHECK(fd >= 0 && pread(fd, &c, 1, off) == 1);
	c ^= 0x5a;
	CHECK(pwrite(fd, &c, 1, off) == 1);
	close(fd);
}

static int segments_on_disk(void)
{
	return tmpdir_count(dir, "0", ".seg");
}

/* Every event is the same size here: ids and bodies have fixed lengths. */
static long long event_frame_len(size_t n_eps, size_t ep_bytes)
{
	return FRAME_HEAD_LEN + 24 + 12 + (long long)(n_eps + ep_bytes) + BODY_LEN;
}

/* A spool holding events 0..n-1, closed again; name gets its oldest segment,
 * and the return value that segment's size. */
static long long fill(unsigned int n, const char *const *eps, size_t n_eps, char name[64])
{
	struct spool *sp = open_with(SPOOL_FSYNC_NONE, SPOOL_DROP_OLDEST, 8 * MIB, NULL);
	unsigned int i;
	uint64_t seq;
	int ok = 1;

	for (i = 0; i < n; i++)
		ok &= append(sp, i, eps, n_eps, &seq) == 0;
	CHECK(ok);
	spool_close(sp);
	CHECK(segment_file(0, name) == 0);
	return tmpdir_file_size(dir, name);
}

/* ---- tests ------------------------------------------------------------------------------ */

static const char *const *eps_for(unsigned int i, size_t *n)
{
	*n = i % 3 == 1 ? 2 : 1;
	return i % 3 == 0 ? ep_a : i % 3 == 1 ? ep_ab : ep_b;
}

/* Append, resolve some, retry others; after reopening, replay gives back
 * exactly what is pending, in order, with ids, bodies and retry state. */
static void test_round_trip(void)
{
	struct spool_recovery rec;
	struct spool_stats st;
	struct replayed *r;
	uint64_t seqs[500], seq;
	size_t n, expect_pending = 0, expect_events = 0, k;
	const char *const *eps;
	struct spool *sp;
	unsigned int i;
	int ok = 1;

	sp = open_default(&rec);
	CHECK(rec.segments == 0 && rec.pending == 0);
	for (i = 0; i < 500; i++) {
		eps = eps_for(i, &n);
		ok &= append(sp, i, eps, n, &seqs[i]) == 0;
		ok &= i == 0 || seqs[i] > seqs[i - 1];
	}
	CHECK(ok);
	spool_stats(sp, &st);
	CHECK(st.appended == 500);
	CHECK(st.segments >= 4); /* ~330 KB in 64 KiB segments */
	CHECK(st.live_events == 500);
	for (i = 0; i < 500; i++) {
		eps = eps_for(i, &n);
		if (i % 5 == 0) {
			for (k = 0; k < n; k++)
				ok &= spool_resolve(sp, seqs[i], eps[k], SPOOL_DELIVERED) == 0;
		} else if (i % 5 == 1) {
			/* the latest retry state wins */
			ok &= spool_note_attempt(sp, seqs[i], eps[0], 2, 1000 + i) == 0;
			ok &= spool_note_attempt(sp, seqs[i], eps[0], 3, 2000 + i) == 0;
		} else if (i % 5 == 2 && n == 2) {
			ok &= spool_resolve(sp, seqs[i], "ops", SPOOL_DEAD) == 0;
		}
		if (i % 5 == 0)
			continue;
		expect_events++;
		expect_pending += i % 5 == 2 && n == 2 ? 1 : n;
	}
	CHECK(ok);
	CHECK(spool_resolve(sp, seqs[0], "ops", SPOOL_DELIVERED) == -ENOENT); /* twice */
	CHECK(spool_resolve(sp, seqs[2], "ops", SPOOL_DELIVERED) == -ENOENT); /* not its endpoint */
	CHECK(spool_note_attempt(sp, 999999, "ops", 1, 1) == -ENOENT);
	spool_stats(sp, &st);
	CHECK(st.pending == expect_pending);
	CHECK(st.live_events == expect_events);
	spool_close(sp);

	sp = open_default(&rec);
	CHECK(rec.events == expect_events);
	CHECK(rec.pending == expect_pending);
	CHECK(rec.torn_regions == 0);
	r = replay(sp);
	CHECK(r->count == expect_events);
	for (k = 0, ok = 1; k < r->count; k++) {
		struct seen *s = &r->items[k];

		i = s->n;
		eps = eps_for(i, &n);
		ok &= s->seq == seqs[i] && i % 5 != 0;
		if (i % 5 == 1) {
			ok &= s->targets == n && strcmp(s->ep[0], eps[0]) == 0;
			ok &= s->attempts[0] == 3 && s->due[0] == 2000 + i;
		} else if (i % 5 == 2 && n == 2) {
			ok &= s->targets == 1 && strcmp(s->ep[0], "audit") == 0;
		} else {
			ok &= s->targets == n && s->attempts[0] == 0 && s->due[0] == 0;
		}
	}
	CHECK(ok);
	free(r);
	/* sequence numbers keep growing across opens */
	CHECK(append(sp, 500, ep_a, 1, &seq) == 0);
	CHECK(seq > seqs[499]);
	spool_close(sp);
	tmpdir_empty(dir);
}

/* Resolves the event it is handed, as a collector resuming a delivery to a
 * removed endpoint does: the oldest segment may go while the batch runs. */
static int on_pending_resolve(void *ctx, const struct spool_pending *p)
{
	struct replayed *r = ctx;
	int err = on_pending(r, p);

	for (size_t k = 0; k < p->target_count && !err; k++)
		spool_resolve(r->sp, p->seq, p->targets[k].endpoint_id, SPOOL_DEAD);
	return err;
}

/* The backlog: read back in batches from a seq, appends in between. */
static void test_replay_batches(void)
{
	struct replayed *r = calloc(1, sizeof(*r));
	uint64_t seqs[400], from, next = 0;
	unsigned int i, batches = 0;
	struct spool *sp;
	int ok = 1;

	sp = open_with(SPOOL_FSYNC_NONE, SPOOL_DROP_OLDEST, 8 * MIB, NULL);
	for (i = 0; i < 300; i++)
		ok &= append(sp, i, ep_a, 1, &seqs[i]) == 0;
	for (i = 0; i < 300; i += 3) /* a third delivered: skipped */
		ok &= spool_resolve(sp, seqs[i], "ops", SPOOL_DELIVERED) == 0;
	CHECK(ok);
	/* from the middle, 25 at a time, while new events keep coming */
	from = seqs[150];
	do {
		size_t before = r->count;

		CHECK(spool_replay_from(sp, from, 25, on_pending, r, &next) == 0);
		CHECK(r->count - before <= 25);
		if (batches < 4)
			ok &= append(sp, 300 + batches, ep_a, 1, &seqs[300 + batches]) == 0;
		batches++;
		from = next;
	} while (next && batches < 100);
	CHECK(ok && next == 0);
	CHECK(r->bad == 0 && r->out_of_order == 0);
	/* events 150..299 not delivered (100), then the 4 appended meanwhile */
	CHECK(r->count == 104);
	CHECK(r->items[0].n == 151 && r->items[99].n == 299 && r->items[103].n == 303);
	/* past the end: nothing, and done */
	CHECK(spool_replay_from(sp, seqs[303] + 1, 25, on_pending, r, &next) == 0 && next == 0);
	CHECK(r->count == 104);

	/* a handler that resolves what it is given deletes segments under the
	 * replay: every pending event is still handed over exactly once */
	r->count = 0;
	r->sp = sp;
	CHECK(spool_replay_from(sp, 0, SIZE_MAX, on_pending_resolve, r, &next) == 0 && next == 0);
	CHECK(r->count == 200 + 4);
	CHECK(r->bad == 0 && r->out_of_order == 0);
	free(r);
	spool_close(sp);
	tmpdir_empty(dir);
}

/* A segment goes once every event in it is resolved, oldest first; the one
 * being written stays. */
static void test_segment_deletion(void)
{
	struct spool_recovery rec;
	struct spool_stats st;
	uint64_t seqs[300];
	struct spool *sp;
	char name[64];
	unsigned int i;
	size_t before;
	int ok = 1;

	sp = open_default(NULL);
	for (i = 0; i < 300; i++)
		ok &= append(sp, i, ep_a, 1, &seqs[i]) == 0;
	CHECK(ok);
	spool_stats(sp, &st);
	before = st.segments;
	CHECK(before >= 3);
	CHECK(segments_on_disk() == (int)before);

	/* the newer half first: the oldest segment still holds live events */
	for (i = 150; i < 300; i++)
		ok &= spool_resolve(sp, seqs[i], "ops", SPOOL_DELIVERED) == 0;
	spool_stats(sp, &st);
	CHECK(st.segments >= before && st.segments_deleted == 0); /* resolutions take room too */
	CHECK(segment_file(0, name) == 0 && strcmp(name, "00000000000000000001.seg") == 0);
	for (i = 0; i < 150; i++)
		ok &= spool_resolve(sp, seqs[i], "ops", SPOOL_DELIVERED) == 0;
	CHECK(ok);
	before = st.segments;
	spool_stats(sp, &st);
	CHECK(st.segments == 1);
	CHECK(st.segments_deleted >= before - 1);
	CHECK(st.live_events == 0 && st.pending == 0);
	CHECK(segments_on_disk() == 1);
	CHECK(st.endpoint_count == 1 && st.endpoints[0].delivered == 300);
	spool_close(sp);

	/* reopening: nothing pending, the resolved segment goes, a new one starts */
	sp = open_default(&rec);
	CHECK(rec.pending == 0 && rec.segments == 1 && rec.segments_deleted == 1);
	CHECK(segments_on_disk() == 1);
	spool_close(sp);
	/* and restarts with nothing to do leave nothing behind */
	sp = open_default(&rec);
	spool_close(sp);
	CHECK(segments_on_disk() == 1);
	tmpdir_empty(dir);
}

/* A crash mid-write: the last frame is cut short. */
static void test_torn_tail(void)
{
	long long frame = event_frame_len(1, 3), size, want_off;
	struct spool_recovery rec;
	char name[64], torn[128];
	struct replayed *r;
	struct spool *sp;
	unsigned int i;
	int ok = 1;

	size = fill(20, ep_a, 1, name);
	CHECK(size == FRAME_HEADER_LEN + 20 * frame);
	truncate_file(name, size - 100);

	sp = open_default(&rec);
	CHECK(rec.torn_regions == 1);
	CHECK(rec.torn_bytes == (uint64_t)(frame - 100));
	CHECK(rec.events == 19 && rec.pending == 19);
	want_off = FRAME_HEADER_LEN + 19 * frame;
	snprintf(torn, sizeof(torn), "torn-%s-%lld.bin", name, want_off);
	CHECK(tmpdir_file_size(dir, torn) == frame - 100);
	CHECK(tmpdir_file_size(dir, name) == want_off); /* cut there */
	r = replay(sp);
	CHECK(r->count == 19);
	for (i = 0; i < r->count; i++)
		ok &= r->items[i].n == i;
	CHECK(ok);
	free(r);
	spool_close(sp);

	/* set aside once: the next open finds a clean file */
	sp = open_default(&rec);
	CHECK(rec.torn_regions == 0 && rec.pending == 19);
	spool_close(sp);
	tmpdir_empty(dir);
}

/* Corruption inside a file: only the damaged record is lost; the ones after
 * it are found again and kept. */
static void test_corrupt_middle(void)
{
	long long frame = event_frame_len(1, 3), size;
	struct spool_recovery rec;
	char name[64], torn_name[64];
	struct replayed *r;
	struct spool *sp;
	unsigned int i;
	int ok = 1;

	/* the last segment */
	size = fill(20, ep_a, 1, name);
	flip_byte(name, FRAME_HEADER_LEN + 10 * frame + 300);
	sp = open_default(&rec);
	CHECK(rec.torn_regions == 1 && rec.torn_bytes == (uint64_t)frame);
	CHECK(rec.pending == 19);
	CHECK(tmpdir_file_size(dir, name) == size); /* nothing cut */
	r = replay(sp);
	CHECK(r->count == 19);
	for (i = 0; i < r->count; i++)
		ok &= r->items[i].n == (i < 10 ? i : i + 1);
	CHECK(ok);
	free(r);
	spool_close(sp);
	tmpdir_empty(dir);

	/* an older segment, and a damaged length field this time */
	fill(250, ep_a, 1, name);
	CHECK(segment_file(1, torn_name) == 0); /* there are two */
	flip_byte(name, FRAME_HEADER_LEN + 5 * frame + 1);
	sp = open_default(&rec);
	CHECK(rec.torn_regions == 1 && rec.pending == 249);
	r = replay(sp);
	CHECK(r->count == 249 && r->items[4].n == 4 && r->items[5].n == 6);
	free(r);
	spool_close(sp);

	/* a damaged header: the whole file is set aside, the others replay */
	CHECK(segment_file(0, name) == 0);
	size = tmpdir_file_size(dir, name);
	flip_byte(name, 3);
	sp = open_default(&rec);
	CHECK(rec.torn_regions == 1 && rec.torn_bytes == (uint64_t)size);
	CHECK(rec.pending > 0 && rec.pending < 249);
	CHECK(tmpdir_count(dir, "torn-", "-0.bin") == 1);
	r = replay(sp);
	CHECK(r->count == rec.pending && r->items[r->count - 1].n == 249);
	free(r);
	spool_close(sp);
	tmpdir_empty(dir);
}

/* refuse_newest: a full spool refuses, counts per endpoint, and accepts again
 * once deliveries free a segment. */
static void test_refuse_newest(void)
{
	struct spool_stats st;
	uint64_t seqs[2000], seq;
	struct spool *sp;
	unsigned int i, accepted = 0;
	int ret = 0, ok = 1;

	sp = open_with(SPOOL_FSYNC_NONE, SPOOL_REFUSE_NEWEST, MIB, NULL);
	for (i = 0; i < 2000 && ret == 0; i++) {
		ret = append(sp, i, ep_ab, 2, &seqs[i]);
		accepted += ret == 0;
	}
	CHECK(ret == -ENOSPC);
	CHECK(accepted > 1000 && accepted < 2000); /* ~1500 events of 650 bytes in 1 MiB */
	CHECK(append(sp, 9999, ep_ab, 2, &seq) == -ENOSPC);
	spool_stats(sp, &st);
	CHECK(st.refused == 2 && st.appended == accepted);
	CHECK(st.bytes <= MIB);
	CHECK(st.endpoint_count == 2);
	CHECK(st.endpoints[0].refused == 2 && st.endpoints[1].refused == 2);
	CHECK(st.endpoints[0].appended == accepted && st.endpoints[0].pending == accepted);
	CHECK(st.evicted == 0 && st.write_errors == 0);

	for (i = 0; i < 300; i++) {
		ok &= spool_resolve(sp, seqs[i], "ops", SPOOL_DELIVERED) == 0;
		ok &= spool_resolve(sp, seqs[i], "audit", SPOOL_DELIVERED) == 0;
	}
	CHECK(ok);
	CHECK(append(sp, 2000, ep_ab, 2, &seqs[0]) == 0);
	spool_stats(sp, &st);
	CHECK(st.bytes <= MIB && st.refused == 2);
	spool_close(sp);
	tmpdir_empty(dir);
}

/* drop_oldest: every append succeeds; the oldest segment's events are
 * evicted, reported and counted, and stay gone after a reopen. */
static void test_drop_oldest(void)
{
	struct spool_recovery rec;
	struct spool_stats st;
	uint64_t seq, first_seq = 0, max_bytes = 0;
	struct replayed *r;
	struct spool *sp;
	unsigned int i;
	int ok = 1;

	memset(&evicted, 0, sizeof(evicted));
	sp = open_with(SPOOL_FSYNC_NONE, SPOOL_DROP_OLDEST, MIB, NULL);
	for (i = 0; i < 4000; i++) {
		ok &= append(sp, i, ep_ab, 2, &seq) == 0;
		first_seq = first_seq ? first_seq : seq;
		spool_stats(sp, &st);
		max_bytes = st.bytes > max_bytes ? st.bytes : max_bytes;
	}
	CHECK(ok);
	CHECK(max_bytes <= MIB);
	spool_stats(sp, &st);
	CHECK(st.appended == 4000 && st.refused == 0);
	CHECK(st.evicted_events > 2000 && st.evicted == 2 * st.evicted_events);
	CHECK(evicted.count == st.evicted);
	/* the oldest went, and only they */
	CHECK(evicted.max_seq == first_seq + st.evicted_events - 1);
	CHECK(st.endpoints[0].evicted == st.evicted_events);
	CHECK(st.endpoints[1].evicted == st.evicted_events);
	CHECK(st.endpoints[0].pending == 4000 - st.evicted_events);
	CHECK(spool_resolve(sp, first_seq, "ops", SPOOL_DELIVERED) == -ENOENT);
	spool_close(sp);

	sp = open_with(SPOOL_FSYNC_NONE, SPOOL_DROP_OLDEST, MIB, &rec);
	CHECK(rec.events == 4000 - st.evicted_events);
	CHECK(rec.pending == 2 * rec.events);
	r = replay(sp);
	CHECK(r->count == rec.events);
	CHECK(r->count && r->items[0].seq == evicted.max_seq + 1 && r->items[0].targets == 2);
	free(r);
	spool_close(sp);
	tmpdir_empty(dir);
}

/* The log (stderr) goes to a file for a while, to count its lines. */
struct capture {
	char path[PATH_MAX];
	int fd, saved;
};

static void capture_start(struct capture *c)
{
	file_path(c->path, "stderr.txt");
	c->fd = open(c->path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	c->saved = dup(STDERR_FILENO);
	dup2(c->fd, STDERR_FILENO);
}

/* Back to stderr; lines holding a and b are counted in *na and *nb. */
static void capture_end(struct capture *c, const char *a, int *na, const char *b, int *nb)
{
	char line[512];
	FILE *f;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	f = fdopen(c->fd, "r");
	rewind(f);
	*na = *nb = 0;
	while (fgets(line, sizeof(line), f)) {
		*na += strstr(line, a) != NULL;
		*nb += strstr(line, b) != NULL;
		if (strstr(line, "CHECK"))
			fputs(line, stderr); /* a check failed while the log was captured */
	}
	fclose(f);
	unlink(c->path);
}

/*
 * A full disk: writes fail (here EFBIG from RLIMIT_FSIZE, part-way through
 * the frame), the error is returned, counted and logged once, the file keeps
 * no partial frame, and appends work again once there is room.
 */
static void test_disk_full(void)
{
	struct spool_recovery rec;
	struct spool_stats st;
	struct rlimit old, lim;
	struct capture log;
	char name[64];
	long long size;
	struct spool *sp;
	unsigned int i;
	int errors_logged, ok_logged, ok = 1;
	uint64_t seq;

	signal(SIGXFSZ, SIG_IGN);
	sp = open_default(NULL);
	for (i = 0; i < 5; i++)
		ok &= append(sp, i, ep_a, 1, &seq) == 0;
	CHECK(ok);
	CHECK(segment_file(0, name) == 0);
	size = tmpdir_file_size(dir, name);

	capture_start(&log);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	lim = old;
	lim.rlim_cur = (rlim_t)size + 300; /* room for part of one frame */
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	CHECK(append(sp, 5, ep_a, 1, &seq) == -EFBIG);
	CHECK(tmpdir_file_size(dir, name) == size); /* the partial frame was cut off */
	for (i = 6; i < 16; i++)
		ok &= append(sp, i, ep_a, 1, &seq) == -EFBIG;
	CHECK(ok);
	CHECK(tmpdir_file_size(dir, name) == size);
	lim.rlim_cur = (rlim_t)size; /* not a byte left */
	CHECK(setrlimit(RLIMIT_FSIZE, &lim) == 0);
	CHECK(spool_resolve(sp, 1, "ops", SPOOL_DELIVERED) == 0); /* not durable, not an error */
	spool_stats(sp, &st);
	CHECK(st.failing);
	CHECK(st.write_errors == 12);
	CHECK(st.appended == 5 && st.endpoints[0].write_failed == 11);
	CHECK(st.pending == 4);
	CHECK(tmpdir_file_size(dir, name) == size);

	CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0); /* space is back */
	CHECK(append(sp, 16, ep_a, 1, &seq) == 0);
	spool_stats(sp, &st);
	CHECK(!st.failing && st.appended == 6);

	capture_end(&log, " error: spool", &errors_logged, "works again", &ok_logged);
	CHECK(errors_logged == 1); /* once per episode, not per event */
	CHECK(ok_logged == 0);     /* one success, right after failures, proves little */
	spool_close(sp);

	/* nothing torn; the resolution that could not be written comes back */
	sp = open_default(&rec);
	CHECK(rec.torn_regions == 0);
	CHECK(rec.pending == 6);
	spool_close(sp);
	tmpdir_empty(dir);
}

/*
 * A disk that takes a write now and then, as a full one does into a file's
 * last page: one line says writing failed and none says it works again
 * while failures keep coming, yet every failure and success is counted.
 */
static void test_disk_flapping(void)
{
	struct spool_stats st;
	struct rlimit old, lim;
	struct capture log;
	char name[64];
	struct spool *sp;
	unsigned int i;
	int errors_logged, ok_logged, ok = 1;
	uint64_t seq;

	signal(SIGXFSZ, SIG_IGN);
	sp = open_default(NULL);
	CHECK(append(sp, 0, ep_a, 1, &seq) == 0);
	CHECK(segment_file(0, name) == 0);
	CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
	capture_start(&log);
	for (i = 1; i <= 10; i++) {
		lim = old;
		lim.rlim_cur = (rlim_t)tmpdir_file_size(dir, name) + 300;
		ok &= setrlimit(RLIMIT_FSIZE, &lim) == 0;
		ok &= append(sp, 2 * i - 1, ep_a, 1, &seq) == -EFBIG;
		ok &= setrlimit(RLIMIT_FSIZE, &old) == 0;
		ok &= append(sp, 2 * i, ep_a, 1, &seq) == 0;
	}
	spool_stats(sp, &st);
	capture_end(&log, " error: spool", &errors_logged, "works again", &ok_logged);
	CHECK(ok);
	CHECK(errors_logged == 1 && ok_logged == 0);
	CHECK(st.write_errors == 10 && st.endpoints[0].write_failed == 10);
	CHECK(st.appended == 11 && !st.failing);
	spool_close(sp);
	tmpdir_empty(dir);
}

/* When an episode ends, on a clock of our own rather than waiting for it. */
static void test_write_episode(void)
{
	struct write_episode ep = { 0 }, ended = { 0 };
	const uint64_t t = 1000000;

	CHECK(!episode_ok(&ep, t, &ended));                /* none under way */
	CHECK(episode_fail(&ep, t) && ep.failing);         /* starts one: log it */
	CHECK(!episode_ok(&ep, t + 1, &ended) && !ep.failing);
	CHECK(!episode_fail(&ep, t + 2));                  /* the same one: not again */
	CHECK(!episode_ok(&ep, t + 2 + EPISODE_SETTLE_MS - 1, &ended));
	CHECK(episode_ok(&ep, t + 2 + EPISODE_SETTLE_MS, &ended)); /* quiet long enough */
	CHECK(ended.errors == 2 && ended.successes == 2);
	CHECK(!episode_ok(&ep, t + 3 + EPISODE_SETTLE_MS, &ended)); /* ended once */
	CHECK(episode_fail(&ep, t + 4 + EPISODE_SETTLE_MS) && ep.errors == 1);
}

/* always: a sync per record; batch: only in spool_sync(), only when dirty;
 * none: never. */
static void test_fsync_policies(void)
{
	struct spool_stats st;
	struct spool *sp;
	unsigned int i;
	uint64_t seq;
	int ok = 1;

	sp = open_with(SPOOL_FSYNC_ALWAYS, SPOOL_DROP_OLDEST, 8 * MIB, NULL);
	spool_stats(sp, &st);
	CHECK(st.syncs == 1); /* the new segment's header */
	for (i = 0; i < 10; i++)
		ok &= append(sp, i, ep_a, 1, &seq) == 0;
	ok &= spool_resolve(sp, seq, "ops", SPOOL_DELIVERED) == 0;
	CHECK(spool_sync(sp) == 0);
	spool_stats(sp, &st);
	CHECK(st.syncs == 12);
	spool_close(sp);
	tmpdir_empty(dir);

	sp = open_with(SPOOL_FSYNC_BATCH, SPOOL_DROP_OLDEST, 8 * MIB, NULL);
	spool_stats(sp, &st);
	CHECK(st.syncs == 0);
	CHECK(spool_sync(sp) == 0 && spool_sync(sp) == 0);
	spool_stats(sp, &st);
	CHECK(st.syncs == 1); /* the header, once */
	for (i = 0; i < 10; i++)
		ok &= append(sp, i, ep_a, 1, &seq) == 0;
	spool_stats(sp, &st);
	CHECK(st.syncs == 1);
	CHECK(spool_sync(sp) == 0 && spool_sync(sp) == 0);
	spool_stats(sp, &st);
	CHECK(st.syncs == 2);
	/* rotating leaves the previous segment for the next sync */
	for (i = 0; i < 200; i++)
		ok &= append(sp, i, ep_a, 1, &seq) == 0;
	spool_stats(sp, &st);
	CHECK(st.segments >= 3);
	CHECK(spool_sync(sp) == 0);
	spool_stats(sp, &st);
	CHECK(st.syncs >= 4);
	spool_close(sp);
	tmpdir_empty(dir);

	sp = open_with(SPOOL_FSYNC_NONE, SPOOL_DROP_OLDEST, 8 * MIB, NULL);
	for (i = 0; i < 10; i++)
		ok &= append(sp, i, ep_a, 1, &seq) == 0;
	CHECK(spool_sync(sp) == 0);
	spool_stats(sp, &st);
	CHECK(st.syncs == 0);
	spool_close(sp);
	CHECK(ok);
	tmpdir_empty(dir);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void write_random(const char *name, long long off, size_t len)
{
	char path[PATH_MAX];
	unsigned char buf[8192];
	size_t i;
	int fd;

	for (i = 0; i < len; i++)
		buf[i] = (unsigned char)rnd();
	file_path(path, name);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && pwrite(fd, buf, len, off) == (ssize_t)len);
	close(fd);
}

/* Garbage where a segment should be: never a crash, and what precedes the
 * garbage comes back whole. */
static void test_fuzz(void)
{
	const struct frame_format fmt = { .magic = "PHSPOOL" };
	struct spool_recovery rec;
	uint8_t header[FRAME_HEADER_LEN];
	int iter, mode, fd, ok = 1, recovered_all = 1;
	char name[64], path[PATH_MAX];
	struct replayed *r;
	struct spool *sp;
	long long size;
	unsigned int m;

	for (iter = 0; iter < 150; iter++) {
		mode = iter % 3;
		m = 0;
		if (mode < 2) {
			m = 1 + (unsigned int)(rnd() % 30);
			size = fill(m, ep_ab, 2, name);
			if (mode == 0) /* garbage after the records */
				write_random(name, size, 1 + rnd() % 4096);
			else /* garbage over some of them */
				write_random(name, FRAME_HEADER_LEN + (long long)(rnd() % (uint64_t)
								(size - FRAME_HEADER_LEN)),
					     1 + rnd() % 200);
		} else {
			/* no segment at all, or one that only has a valid header */
			snprintf(name, sizeof(name), "00000000000000000001.seg");
			write_random(name, 0, rnd() % 8192);
			if (iter % 2) {
				frame_header_encode(header, &fmt, 1, 1);
				file_path(path, name);
				fd = open(path, O_WRONLY);
				ok &= pwrite(fd, header, sizeof(header), 0) == sizeof(header);
				close(fd);
			}
		}
		sp = open_with(SPOOL_FSYNC_NONE, SPOOL_DROP_OLDEST, 8 * MIB, &rec);
		if (!sp)
			break;
		r = replay(sp); /* checks every body that comes back */
		ok &= r->count == rec.events && rec.events <= m;
		if (mode == 0)
			recovered_all &= rec.events == m && rec.pending == 2 * m &&
					 rec.torn_regions >= 1;
		free(r);
		spool_close(sp);
		tmpdir_empty(dir);
	}
	CHECK(ok);
	CHECK(recovered_all);
}

static void test_misuse(void)
{
	const char *const empty[] = { "" };
	struct spool_options o = { .dir = dir };
	char long_id[300], path[PATH_MAX];
	uint8_t header[FRAME_HEADER_LEN];
	const struct frame_format fmt = { .magic = "PHSPOOL" };
	struct spool *sp, *other = NULL;
	uint64_t seq;
	int fd;

	sp = open_default(NULL);
	/* one owner at a time */
	CHECK(spool_open(&other, &o, NULL) == -EBUSY && other == NULL);
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	CHECK(spool_append_event(sp, "id", "{}", 2, ep_a, 0, &seq) == -EINVAL);
	CHECK(spool_append_event(sp, "", "{}", 2, ep_a, 1, &seq) == -EINVAL);
	CHECK(spool_append_event(sp, long_id, "{}", 2, ep_a, 1, &seq) == -EINVAL);
	CHECK(spool_append_event(sp, "id", "{}", 2, empty, 1, &seq) == -EINVAL);
	CHECK(spool_append_event(sp, "id", NULL, 2, ep_a, 1, &seq) == -EINVAL);
	CHECK(spool_append_event(sp, "id", "", 0, ep_a, 1, &seq) == 0); /* an empty body is fine */
	CHECK(spool_resolve(sp, seq, "ops", 0) == -EINVAL);
	spool_close(sp);
	tmpdir_empty(dir);

	o = (struct spool_options){ .dir = "relative/dir" };
	CHECK(spool_open(&sp, &o, NULL) == -EINVAL);
	o = (struct spool_options){ .dir = dir, .max_bytes = 1000 };
	CHECK(spool_open(&sp, &o, NULL) == -EINVAL);
	o = (struct spool_options){ .dir = dir, .max_bytes = MIB, .segment_bytes = MIB };
	CHECK(spool_open(&sp, &o, NULL) == -EINVAL);

	/* a newer format is left alone, not set aside */
	frame_header_encode(header, &fmt, 1, 1);
	header[8] = 2;
	put_le32(header + 36, crc32c(0, header, 36)); /* re-sealed: only the version is new */
	file_path(path, "00000000000000000001.seg");
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0 && write(fd, header, sizeof(header)) == sizeof(header));
	close(fd);
	o = (struct spool_options){ .dir = dir };
	CHECK(spool_open(&sp, &o, NULL) == -EPROTONOSUPPORT);
	CHECK(tmpdir_file_size(dir, "00000000000000000001.seg") == FRAME_HEADER_LEN);
	tmpdir_empty(dir);
}

int main(void)
{
	CHECK(tmpdir_make(dir, "test_spool") != NULL);
	test_round_trip();
	test_replay_batches();
	test_segment_deletion();
	test_torn_tail();
	test_corrupt_middle();
	test_refuse_newest();
	test_drop_oldest();
	test_disk_full();
	test_disk_flapping();
	test_write_episode();
	test_fsync_policies();
	test_fuzz();
	test_misuse();
	tmpdir_remove(dir);
	return check_summary("test_spool");
}
