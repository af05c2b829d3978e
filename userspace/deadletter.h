/* SPDX-License-Identifier: MIT */
/*
 * The dead-letter store: events an endpoint will not get by retrying (the
 * attempts ran out, or the endpoint was disabled), kept so that an operator
 * can list them and send them again later, with the same webhook-id.
 *
 * One framed record file, <dir>/deadletter.log (frame.h: magic "PHDEADL\0",
 * version 1; the header's first_seq is the next id to assign).  Payloads,
 * little-endian:
 *
 *   DEAD (type 1)
 *      0  u64 id            assigned by the store, increasing
 *      8  u64 time_ms       Unix ms when dead-lettered
 *     16  u32 attempts
 *     20  u32 body_len
 *     24  u8  webhook_id_len (1..255)
 *     25  u8  endpoint_len   (1..255)
 *     26  u16 reason_len     (0..DEADLETTER_REASON_MAX)
 *     28  webhook_id, endpoint id, reason, body
 *   REPLAYED (type 2): the entry was taken back for delivery
 *      0  u64 id
 *      8  u64 time_ms
 *
 * Every record is fdatasync()ed before the call returns: dead letters are
 * rare, and this file is the last place such an event exists.  Retention:
 * when an append would pass max_bytes or max_entries, the file is rewritten
 * (to a temporary file, then renamed over it) without replayed entries and
 * without the oldest ones, down to three quarters of the bound, so the cost
 * is paid once per quarter of the store; entries dropped are counted.
 *
 * Not thread-safe; the directory's owner (the collector holding the spool
 * lock) is its only user.
 */
#ifndef PROBEHOOK_DEADLETTER_H
#define PROBEHOOK_DEADLETTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DEADLETTER_FILE "deadletter.log"
#define DEADLETTER_MAX_BYTES_DEFAULT (64ull * 1024 * 1024)
#define DEADLETTER_MAX_BYTES_MIN (64ull * 1024)
#define DEADLETTER_REASON_MAX 1024
#define DEADLETTER_ID_MAX 255

struct deadletter_options {
	const char *dir;       /* must exist */
	uint64_t max_bytes;    /* the file; 0: default */
	uint64_t max_entries;  /* 0: bounded by bytes only */
};

struct deadletter_entry {
	uint64_t id;           /* assigned by the store; ignored by append */
	uint64_t time_ms;      /* Unix ms when dead-lettered */
	unsigned int attempts;
	const char *webhook_id;
	const char *endpoint_id;
	const char *reason;    /* why: "attempts exhausted: HTTP 500", "endpoint disabled: 410" */
	const char *body;      /* NULL when listing; the body when taking */
	size_t len;            /* body bytes, in both */
	bool replayed;         /* listed with include_replayed only */
};

struct deadletter_filter {
	const char *endpoint_id; /* NULL: any */
	uint64_t since_ms;       /* entries dead-lettered at or after; 0: any */
	size_t limit;            /* 0: no limit */
	bool include_replayed;
};

/* Everything points into the store and is valid during the call only; a
 * nonzero return stops and is returned. */
typedef int (*deadletter_fn)(void *ctx, const struct deadletter_entry *e);

struct deadletter_stats {
	uint64_t entries;    /* not replayed */
	uint64_t bytes;      /* the file */
	uint64_t appended, replayed;
	uint64_t dropped;    /* not-yet-replayed entries removed by retention */
	uint64_t compactions;
	uint64_t write_errors;
	uint64_t torn_regions, torn_bytes; /* set aside when opened */
};

struct deadletter;

int deadletter_open(struct deadletter **dl, const struct deadletter_options *o);
void deadletter_close(struct deadletter *dl);

/* Store e (id and body included); *id names it from now on.  -EMSGSIZE: larger
 * than the store can keep; -EINVAL: ids missing or too long. */
int deadletter_append(struct deadletter *dl, const struct deadletter_entry *e, uint64_t *id);

/* Entries in the order they were dead-lettered (oldest first), bodies not
 * read; since_ms and the id give a next page. */
int deadletter_list(struct deadletter *dl, const struct deadletter_filter *f, deadletter_fn fn,
		    void *ctx);

/*
 * Take entry id back for delivery: fn gets it with its body and re-queues it
 * (with the same webhook-id); only when fn returns 0 is the entry marked
 * replayed, so a crash in between yields a duplicate, never a loss.
 * -ENOENT: no such entry, or already replayed.
 */
int deadletter_take(struct deadletter *dl, uint64_t id, deadletter_fn fn, void *ctx);

void deadletter_stats(const struct deadletter *dl, struct deadletter_stats *st);

#endif
