/* SPDX-License-Identifier: MIT */
/*
 * The attempt log: one JSON line per delivery attempt, for answering "what
 * happened to this event / this endpoint" after the fact.
 *
 * <dir>/attempts.log, rotated to <dir>/attempts.log.1 (replacing it) when it
 * would pass half of max_bytes, so both together stay under max_bytes.  A
 * line (one write(); not fsync()ed: this is a record for people, the spool
 * is what keeps events):
 *
 *   {"time":"2026-11-25T15:10:05.123000Z","time_ms":1795619405123,
 *    "webhook_id":"msg_...","endpoint":"ops","attempt":2,"status":503,
 *    "error":"...","latency_us":8123,"outcome":"retry"}
 *
 * "status" is null when no HTTP response came back; "error" is present only
 * when there is one (cut to ATTEMPTLOG_ERROR_MAX bytes, made valid UTF-8).
 * A line torn by a crash is closed with a newline on open and skipped by
 * queries.  Not thread-safe.
 */
#ifndef PROBEHOOK_ATTEMPTLOG_H
#define PROBEHOOK_ATTEMPTLOG_H

#include <stddef.h>
#include <stdint.h>

#define ATTEMPTLOG_FILE "attempts.log"
#define ATTEMPTLOG_OLD_FILE "attempts.log.1"
#define ATTEMPTLOG_MAX_BYTES_DEFAULT (16ull * 1024 * 1024)
#define ATTEMPTLOG_MAX_BYTES_MIN (64ull * 1024)
#define ATTEMPTLOG_ERROR_MAX 256
#define ATTEMPTLOG_ID_MAX 255

enum attempt_outcome {
	ATTEMPT_ANY,       /* queries only: no filter */
	ATTEMPT_DELIVERED, /* 2xx */
	ATTEMPT_RETRY,     /* failed; another attempt is scheduled */
	ATTEMPT_DEAD,      /* failed for good: dead-lettered or endpoint disabled */
};

struct attempt {
	const char *webhook_id;
	const char *endpoint_id;
	uint64_t time_ms;       /* Unix ms when the attempt started */
	unsigned int attempt;   /* 1 for the first */
	int status;             /* HTTP status; 0: no response */
	const char *error;      /* NULL, or what went wrong (curl's message, ...) */
	uint64_t latency_us;
	enum attempt_outcome outcome;
};

struct attemptlog_options {
	const char *dir;        /* must exist */
	uint64_t max_bytes;     /* both files; 0: default */
};

struct attemptlog_query {
	const char *webhook_id; /* NULL: any */
	const char *endpoint_id;
	enum attempt_outcome outcome;
	size_t limit;           /* 0: no limit */
};

/* Fields point into the log and are valid during the call only; a nonzero
 * return stops the query and is returned by it. */
typedef int (*attempt_fn)(void *ctx, const struct attempt *a);

struct attemptlog_stats {
	uint64_t appended, rotations, write_errors;
	uint64_t bytes; /* the current file */
};

struct attemptlog;

int attemptlog_open(struct attemptlog **al, const struct attemptlog_options *o);
void attemptlog_close(struct attemptlog *al);

/* 0, -EINVAL (ids missing or longer than ATTEMPTLOG_ID_MAX, no outcome), or
 * the write's error (counted, logged once per episode). */
int attemptlog_append(struct attemptlog *al, const struct attempt *a);

/* Matching attempts, newest first, across both files. */
int attemptlog_query(struct attemptlog *al, const struct attemptlog_query *q, attempt_fn fn,
		     void *ctx);

void attemptlog_stats(const struct attemptlog *al, struct attemptlog_stats *st);

const char *attempt_outcome_name(enum attempt_outcome o);
/* ATTEMPT_ANY when name is none of them. */
enum attempt_outcome attempt_outcome_parse(const char *name);

#endif
