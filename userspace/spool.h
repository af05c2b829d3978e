/* SPDX-License-Identifier: MIT */
/*
 * The spool: a write-ahead log that makes every accepted event durable until
 * each endpoint it must reach has either got it or given up on it.
 *
 * Files, in the spool directory (mode 0700):
 *   <20-digit segment number>.seg   segments, written in order, one at a time
 *   torn-<segment>-<offset>.bin     bad stretches found by recovery, set aside
 *   spool.lock                      flock()ed while a collector owns the spool
 * Other files (the dead-letter store, the attempt log) may share the
 * directory: the spool only reads the names above.
 *
 * Each segment is a framed record file (frame.h: a 40-byte header with magic
 * "PHSPOOL\0", version 1, the segment number and the first sequence number
 * it may hold, then frames of len, CRC-32C, type, payload).  Payloads,
 * little-endian:
 *
 *   EVENT (type 1): an accepted event and the endpoints it must reach
 *      0  u64 seq            assigned by the spool, increasing
 *      8  u64 time_ms        Unix ms when spooled
 *     16  u32 body_len
 *     20  u16 endpoint_count (>= 1)
 *     22  u8  id_len         webhook-id, 1..255 bytes
 *     23  u8  reserved (0)
 *     24  id[id_len]
 *         endpoint_count times: u8 len (1..255), endpoint id[len]
 *         body[body_len]
 *   ATTEMPT (type 2): retry state after a failed attempt
 *      0  u64 seq
 *      8  u64 next_due_ms    Unix ms of the next attempt
 *     16  u32 attempts       made so far
 *     20  u8  len, endpoint id[len]
 *   RESOLVED (type 3): one (event, endpoint) pair is done
 *      0  u64 seq
 *      8  u8  outcome        enum spool_outcome
 *      9  u8  len, endpoint id[len]
 *
 * A record about an event is always in the event's segment or a later one,
 * and segments are deleted oldest first, only once every event in them is
 * resolved: so whatever segments exist hold everything about every live
 * event.  Opening the spool always starts a new segment; the old ones are
 * only read (and deleted) from then on.
 *
 * Not thread-safe: one event loop owns a spool.
 */
#ifndef PROBEHOOK_SPOOL_H
#define PROBEHOOK_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_DIR_DEFAULT "/var/lib/probehook/spool"
#define SPOOL_MAX_BYTES_DEFAULT (1024ull * 1024 * 1024)
#define SPOOL_MAX_BYTES_MIN (1024ull * 1024)
#define SPOOL_SEGMENT_BYTES_DEFAULT (8ull * 1024 * 1024)
#define SPOOL_FSYNC_INTERVAL_MS_DEFAULT 200u
#define SPOOL_ID_MAX 255           /* webhook-ids and endpoint ids, bytes */
#define SPOOL_BODY_MAX (16u << 20) /* one event's body */

enum spool_fsync {
	SPOOL_FSYNC_BATCH,  /* the caller calls spool_sync() every fsync_interval_ms */
	SPOOL_FSYNC_ALWAYS, /* fdatasync() after every record, before returning */
	SPOOL_FSYNC_NONE,   /* the kernel writes back when it likes */
};

enum spool_full_policy {
	SPOOL_DROP_OLDEST,   /* evict the oldest segment's events to make room */
	SPOOL_REFUSE_NEWEST, /* refuse the new event with -ENOSPC */
};

enum spool_outcome {
	SPOOL_DELIVERED = 1,
	SPOOL_DEAD,    /* gave up: retries exhausted or endpoint disabled (dead-lettered) */
	SPOOL_EVICTED, /* dropped: by drop_oldest, or by the caller (endpoint removed) */
};

/* drop_oldest evicted this pair: the caller drops its delivery.  Called from
 * inside spool_append_event(): it must not call back into the spool. */
typedef void (*spool_evict_fn)(void *ctx, uint64_t seq, const char *endpoint_id);

struct spool_options {
	const char *dir;                   /* created (0700) with missing parents */
	uint64_t max_bytes;                /* segments on disk; 0: default */
	uint64_t segment_bytes;            /* 0: 8 MiB, at most max_bytes / 16 */
	enum spool_fsync fsync;
	enum spool_full_policy full_policy;
	spool_evict_fn on_evict;           /* may be NULL */
	void *evict_ctx;
};

/* What spool_open() found. */
struct spool_recovery {
	uint64_t segments;       /* segment files scanned */
	uint64_t records;        /* valid records read */
	uint64_t events;         /* events with a pending endpoint */
	uint64_t pending;        /* (event, endpoint) pairs to deliver */
	uint64_t torn_regions;   /* bad stretches (torn tails, corrupt middles, bad files) */
	uint64_t torn_bytes;
	uint64_t stale_records;  /* about events whose segment is gone: normal */
	uint64_t segments_deleted; /* fully resolved, deleted on open */
};

/* One event to resume, with the endpoints it still has to reach. */
struct spool_target {
	const char *endpoint_id;
	unsigned int attempts;  /* made so far */
	uint64_t next_due_ms;   /* Unix ms; 0: due now */
};

struct spool_pending {
	uint64_t seq;
	uint64_t time_ms;        /* when it was spooled */
	const char *webhook_id;  /* NUL-terminated */
	const char *body;
	size_t len;
	const struct spool_target *targets;
	size_t target_count;
};

/* Everything points into the spool and is valid during the call only.
 * A nonzero return stops the replay and is returned by it. */
typedef int (*spool_pending_fn)(void *ctx, const struct spool_pending *p);

/* Counters per endpoint id ever named to this spool (since open, except pending). */
struct spool_endpoint_stats {
	const char *id;
	uint64_t pending;      /* pairs not resolved yet, recovered ones included */
	uint64_t appended;     /* pairs accepted */
	uint64_t delivered, dead, evicted;
	uint64_t refused;      /* not accepted: the spool was full (refuse_newest) */
	uint64_t write_failed; /* not accepted: the write failed (disk full, I/O error) */
};

struct spool_stats {
	uint64_t bytes;          /* segments on disk */
	uint64_t max_bytes;
	uint64_t segments;
	uint64_t live_events;    /* events with a pending pair */
	uint64_t pending;        /* pairs */
	uint64_t appended;       /* events accepted since open */
	uint64_t refused;        /* events refused (refuse_newest) */
	uint64_t evicted_events; /* events dropped by drop_oldest */
	uint64_t evicted;        /* pairs dropped by drop_oldest */
	uint64_t write_errors;   /* failed writes and syncs */
	uint64_t syncs;          /* fdatasync() calls */
	uint64_t segments_deleted;
	uint64_t torn_regions;   /* set aside when opened */
	uint64_t torn_bytes;
	bool failing;            /* the last write failed: in a disk-full episode */
	const struct spool_endpoint_stats *endpoints; /* valid until the next spool call */
	size_t endpoint_count;
};

struct spool;

/*
 * Open (or create) the spool in o->dir: lock it, scan every segment, set
 * aside what is torn or corrupt (counted in *rec, logged), delete what is
 * fully resolved and start a new segment.  -EBUSY: another process holds it;
 * -EPROTONOSUPPORT: a segment of a newer format version.
 */
int spool_open(struct spool **sp, const struct spool_options *o, struct spool_recovery *rec);

/* Every event with a pending endpoint, in the order they were appended, each
 * with its pending endpoints and their retry state.  Bodies are read back from
 * the segments.  Call it once after spool_open(), before appending. */
int spool_replay(struct spool *sp, spool_pending_fn fn, void *ctx);
/*
 * The same from the first event whose seq is at least from_seq, for at most
 * max_events pending events: how a backlog that memory could not hold is
 * read back a batch at a time (appends in between are fine).  *next_seq is
 * where the next batch starts, or 0 when none is left: every event there
 * is now was handed to fn.
 */
int spool_replay_from(struct spool *sp, uint64_t from_seq, size_t max_events,
		      spool_pending_fn fn, void *ctx, uint64_t *next_seq);

/*
 * Accept an event for endpoint_ids[0..n) (distinct ids).  On success *seq
 * names it in later calls; with drop_oldest, on_evict may have been called
 * first.  Errors, after which nothing was accepted: -ENOSPC full under
 * refuse_newest (stats: refused); -ENOSPC, -EFBIG, -EIO... the write failed
 * (stats: write_errors; logged once per episode, frame.h; the next append tries
 * again); -EMSGSIZE larger than the spool could ever hold; -EINVAL bad
 * arguments; -ENOMEM.
 */
int spool_append_event(struct spool *sp, const char *webhook_id, const char *body, size_t len,
		       const char *const *endpoint_ids, size_t n, uint64_t *seq);

/*
 * Record the retry state of a pair after a failed attempt, and that a pair
 * is done.  -ENOENT: no such pending pair (already resolved, evicted, or
 * unknown).  A failed write is counted and logged but not returned: the
 * state in memory moves on, and after a crash the pair is merely delivered
 * again (or retried sooner), which at-least-once allows.
 */
int spool_note_attempt(struct spool *sp, uint64_t seq, const char *endpoint_id,
		       unsigned int attempts, uint64_t next_due_unix_ms);
int spool_resolve(struct spool *sp, uint64_t seq, const char *endpoint_id,
		  enum spool_outcome outcome);

/* fdatasync() what was written since the last sync (batch: on a timer;
 * always: nothing left to do; none: does nothing).  0 or a negative errno. */
int spool_sync(struct spool *sp);

void spool_stats(struct spool *sp, struct spool_stats *st);

/* Syncs (unless fsync is none), unlocks and frees.  NULL is fine. */
void spool_close(struct spool *sp);

/* Names by enum value, as the config spells them; NULL-terminated. */
extern const char *const spool_fsync_names[];
extern const char *const spool_full_policy_names[];
const char *spool_outcome_name(enum spool_outcome o);

#endif
