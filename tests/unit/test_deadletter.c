// SPDX-License-Identifier: MIT
/* The dead-letter store: append, list with filters, take back with the same
 * webhook-id, retention by entries and by bytes, reopening, a torn tail. */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "deadletter.h"
#include "frame.h"
#include "tmpdir.h"

static char dir[PATH_MAX];

static struct deadletter *open_dl(uint64_t max_bytes, uint64_t max_entries)
{
	struct deadletter_options o = { .dir = dir, .max_bytes = max_bytes,
					.max_entries = max_entries };
	struct deadletter *dl = NULL;

	CHECK(deadletter_open(&dl, &o) == 0);
	return dl;
}

/* Entry i: webhook-id, endpoint and body derived from i. */
static int add(struct deadletter *dl, unsigned int i, const char *endpoint, uint64_t time_ms,
	       size_t body_len, uint64_t *id)
{
	char webhook_id[32], body[2048];
	struct deadletter_entry e;

	snprintf(webhook_id, sizeof(webhook_id), "msg_%u", i);
	memset(body, 'a' + (int)(i % 26), sizeof(body));
	e = (struct deadletter_entry){ .time_ms = time_ms, .attempts = 5,
				       .webhook_id = webhook_id, .endpoint_id = endpoint,
				       .reason = "attempts exhausted: HTTP 500", .body = body,
				       .len = body_len };
	return deadletter_append(dl, &e, id);
}

struct listing {
	uint64_t ids[256];
	char webhook_ids[256][32];
	size_t count;
	int bad;
};

static int on_entry(void *ctx, const struct deadletter_entry *e)
{
	struct listing *l = ctx;

	if (l->count == 256)
		return -E2BIG;
	l->bad += e->body != NULL || e->attempts != 5 ||
		  strcmp(e->reason, "attempts exhausted: HTTP 500") != 0;
	l->ids[l->count] = e->id;
	snprintf(l->webhook_ids[l->count], 32, "%s", e->webhook_id);
	l->count++;
	return 0;
}

static struct listing list(struct deadletter *dl, const char *endpoint, uint64_t since,
			   size_t limit, bool include_replayed)
{
	struct deadletter_filter f = { .endpoint_id = endpoint, .since_ms = since, .limit = limit,
				       .include_replayed = include_replayed };
	struct listing l = { .count = 0 };

	CHECK(deadletter_list(dl, &f, on_entry, &l) == 0);
	CHECK(l.bad == 0);
	return l;
}

struct taken {
	char webhook_id[32];
	size_t len;
	int body_ok;
	int refuse; /* the caller could not re-queue it */
};

static int on_take(void *ctx, const struct deadletter_entry *e)
{
	struct taken *t = ctx;
	size_t i;

	snprintf(t->webhook_id, sizeof(t->webhook_id), "%s", e->webhook_id);
	t->len = e->len;
	t->body_ok = e->body != NULL;
	for (i = 0; t->body_ok && i < e->len; i++)
		t->body_ok = e->body[i] == e->body[0];
	return t->refuse ? -EAGAIN : 0;
}

static void test_list_and_take(void)
{
	struct deadletter_stats st;
	struct taken t = { .refuse = 1 };
	struct deadletter *dl;
	struct listing l;
	uint64_t ids[4];

	dl = open_dl(0, 0);
	CHECK(add(dl, 0, "ops", 1000, 100, &ids[0]) == 0);
	CHECK(add(dl, 1, "audit", 2000, 200, &ids[1]) == 0);
	CHECK(add(dl, 2, "ops", 3000, 0, &ids[2]) == 0);
	CHECK(add(dl, 3, "ops", 4000, 300, &ids[3]) == 0);
	CHECK(ids[0] < ids[1] && ids[1] < ids[2] && ids[2] < ids[3]);

	l = list(dl, NULL, 0, 0, false);
	CHECK(l.count == 4 && l.ids[0] == ids[0] && l.ids[3] == ids[3]);
	CHECK_STR_EQ(l.webhook_ids[1], "msg_1");
	l = list(dl, "ops", 0, 0, false);
	CHECK(l.count == 3 && l.ids[1] == ids[2]);
	l = list(dl, NULL, 2000, 0, false);
	CHECK(l.count == 3 && l.ids[0] == ids[1]);
	l = list(dl, "ops", 2000, 1, false);
	CHECK(l.count == 1 && l.ids[0] == ids[2]);

	/* the caller could not re-queue it: it stays */
	CHECK(deadletter_take(dl, ids[1], on_take, &t) == -EAGAIN);
	CHECK(list(dl, NULL, 0, 0, false).count == 4);
	t.refuse = 0;
	CHECK(deadletter_take(dl, ids[1], on_take, &t) == 0);
	CHECK_STR_EQ(t.webhook_id, "msg_1"); /* the same id: receivers deduplicate */
	CHECK(t.len == 200 && t.body_ok);
	CHECK(deadletter_take(dl, ids[1], on_take, &t) == -ENOENT);
	CHECK(deadletter_take(dl, 12345, on_take, &t) == -ENOENT);
	CHECK(deadletter_take(dl, ids[2], on_take, &t) == 0 && t.len == 0); /* empty body */
	l = list(dl, NULL, 0, 0, false);
	CHECK(l.count == 2 && l.ids[0] == ids[0] && l.ids[1] == ids[3]);
	CHECK(list(dl, NULL, 0, 0, true).count == 4);
	deadletter_stats(dl, &st);
	CHECK(st.entries == 2 && st.appended == 4 && st.replayed == 2 && st.dropped == 0);
	deadletter_close(dl);

	/* all of it survives a reopen; ids go on growing */
	dl = open_dl(0, 0);
	l = list(dl, NULL, 0, 0, false);
	CHECK(l.count == 2 && l.ids[0] == ids[0] && l.ids[1] == ids[3]);
	CHECK(deadletter_take(dl, ids[1], on_take, &t) == -ENOENT);
	CHECK(deadletter_take(dl, ids[3], on_take, &t) == 0 && t.len == 300 && t.body_ok);
	CHECK(add(dl, 4, "ops", 5000, 10, &ids[0]) == 0 && ids[0] > ids[3]);
	deadletter_stats(dl, &st);
	CHECK(st.entries == 2 && st.torn_regions == 0);
	deadletter_close(dl);
	tmpdir_empty(dir);
}

/* max_entries: the oldest go, down to three quarters; the newest stay. */
static void test_retention_entries(void)
{
	struct deadletter_stats st;
	struct taken t = { .refuse = 0 };
	struct deadletter *dl;
	struct listing l;
	uint64_t id = 0;
	unsigned int i;
	int ok = 1;

	dl = open_dl(0, 20);
	for (i = 0; i < 50; i++) {
		ok &= add(dl, i, "ops", 1000 + i, 64, &id) == 0;
		deadletter_stats(dl, &st);
		ok &= st.entries <= 20;
	}
	CHECK(ok);
	CHECK(deadletter_take(dl, id, on_take, &t) == 0); /* the newest */
	deadletter_stats(dl, &st);
	CHECK(st.compactions >= 2 && st.dropped > 0);
	CHECK(st.appended == 50 && st.entries + st.dropped + st.replayed == 50);
	l = list(dl, NULL, 0, 0, false);
	CHECK(l.count == st.entries);
	CHECK_STR_EQ(l.webhook_ids[l.count - 1], "msg_48");
	deadletter_close(dl);

	dl = open_dl(0, 20);
	CHECK(list(dl, NULL, 0, 0, false).count == st.entries);
	deadletter_close(dl);
	tmpdir_empty(dir);
}

/* max_bytes: the file stays under it; what is left reads back whole. */
static void test_retention_bytes(void)
{
	const uint64_t max = DEADLETTER_MAX_BYTES_MIN;
	struct deadletter_stats st;
	struct taken t = { .refuse = 0 };
	struct deadletter *dl;
	struct listing l;
	uint64_t id;
	unsigned int i;
	int ok = 1;

	dl = open_dl(max, 0);
	for (i = 0; i < 300; i++) {
		ok &= add(dl, i, i % 2 ? "ops" : "audit", 1000 + i, 1000, &id) == 0;
		deadletter_stats(dl, &st);
		ok &= st.bytes <= max &&
		      (long long)st.bytes == tmpdir_file_size(dir, DEADLETTER_FILE);
	}
	CHECK(ok);
	CHECK(st.dropped > 200 && st.entries > 40);
	l = list(dl, NULL, 0, 0, false);
	CHECK(l.count == st.entries);
	CHECK_STR_EQ(l.webhook_ids[l.count - 1], "msg_299");
	for (i = 0; i < l.count; i++)
		ok &= deadletter_take(dl, l.ids[i], on_take, &t) == 0 && t.len == 1000 && t.body_ok;
	CHECK(ok);
	CHECK(add(dl, 0, "ops", 1, 50000, &id) == -EMSGSIZE); /* could never fit */
	deadletter_close(dl);
	tmpdir_empty(dir);
}

/* A crash mid-append: the torn entry is set aside, the others stay. */
static void test_torn_tail(void)
{
	struct deadletter_stats st;
	char path[PATH_MAX];
	struct deadletter *dl;
	long long size;
	uint64_t id;

	dl = open_dl(0, 0);
	CHECK(add(dl, 0, "ops", 1000, 500, &id) == 0);
	CHECK(add(dl, 1, "ops", 2000, 500, &id) == 0);
	deadletter_close(dl);
	size = tmpdir_file_size(dir, DEADLETTER_FILE);
	CHECK(tmpdir_path(path, dir, DEADLETTER_FILE) == 0 && truncate(path, size - 10) == 0);

	dl = open_dl(0, 0);
	deadletter_stats(dl, &st);
	CHECK(st.torn_regions == 1 && st.entries == 1);
	CHECK(tmpdir_count(dir, "torn-" DEADLETTER_FILE, ".bin") == 1);
	/* appending goes on after the good part */
	CHECK(add(dl, 2, "ops", 3000, 500, &id) == 0);
	deadletter_close(dl);
	dl = open_dl(0, 0);
	deadletter_stats(dl, &st);
	CHECK(st.torn_regions == 0 && st.entries == 2);
	CHECK(list(dl, NULL, 0, 0, false).ids[1] == id);
	deadletter_close(dl);
	tmpdir_empty(dir);
}

static void test_misuse(void)
{
	struct deadletter_options o = { .dir = dir, .max_bytes = 1000 };
	struct deadletter_entry e = { .webhook_id = "msg_1", .endpoint_id = "" };
	struct deadletter *dl = NULL;
	char long_reason[DEADLETTER_REASON_MAX + 100];
	uint64_t id;

	CHECK(deadletter_open(&dl, &o) == -EINVAL && !dl);
	dl = open_dl(0, 0);
	CHECK(deadletter_append(dl, &e, &id) == -EINVAL);
	e.endpoint_id = "ops";
	e.webhook_id = NULL;
	CHECK(deadletter_append(dl, &e, &id) == -EINVAL);
	/* a long reason is cut, not refused */
	memset(long_reason, 'r', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	e.webhook_id = "msg_1";
	e.reason = long_reason;
	CHECK(deadletter_append(dl, &e, &id) == 0);
	deadletter_close(dl);
	tmpdir_empty(dir);
}

int main(void)
{
	CHECK(tmpdir_make(dir, "test_deadletter") != NULL);
	test_list_and_take();
	test_retention_entries();
	test_retention_bytes();
	test_torn_tail();
	test_misuse();
	tmpdir_remove(dir);
	return check_summary("test_deadletter");
}
