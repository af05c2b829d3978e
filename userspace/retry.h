/* SPDX-License-Identifier: MIT */
/*
 * Retry policy: when each attempt of a delivery may start, and when to stop
 * (dead-letter).  Either an explicit schedule (the default follows the
 * well-known hosted webhook services: immediately, 5 s, 5 min, 30 min, 2 h,
 * 5 h, 10 h, 10 h) or exponential backoff with a cap; every delay gets
 * +-jitter so receivers that failed together are not retried in lockstep.
 * Pure functions: randomness and the clock come from the caller.
 */
#ifndef PROBEHOOK_RETRY_H
#define PROBEHOOK_RETRY_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define RETRY_ATTEMPTS_MAX 100
#define RETRY_JITTER_PCT_DEFAULT 20
#define RETRY_AFTER_MAX_MS_DEFAULT (3600u * 1000)

enum retry_kind { RETRY_SCHEDULE, RETRY_EXPONENTIAL };

struct retry_policy {
	enum retry_kind kind;
	unsigned int max_attempts;          /* attempts in all; then dead-lettered */
	unsigned int jitter_pct;            /* each delay is nominal +- this percent */
	uint32_t retry_after_max_ms;        /* clamp for a receiver's Retry-After */
	/* RETRY_SCHEDULE: schedule_ms[i] is the delay before attempt i + 1,
	 * schedule_ms[0] is 0; past the end the last delay repeats. */
	unsigned int schedule_len;
	uint32_t schedule_ms[RETRY_ATTEMPTS_MAX];
	/* RETRY_EXPONENTIAL: base_ms before attempt 2, doubling, at most cap_ms */
	uint32_t base_ms, cap_ms;
};

/* What an answer means for the delivery. */
enum retry_verdict {
	RETRY_DELIVERED, /* 2xx */
	RETRY_AGAIN,     /* 3xx (redirects are not followed), other 4xx/5xx, no answer */
	RETRY_THROTTLED, /* 429, 503: again, not before the answer's Retry-After */
	RETRY_GONE,      /* 410: the endpoint is gone; disable it */
};

/* status is the HTTP status, or 0 when there was no answer (timeout,
 * connection error). */
enum retry_verdict retry_classify(long status);

/* The default schedule (8 attempts, +-20%, Retry-After clamped to 1 h). */
void retry_policy_default(struct retry_policy *p);

/* Delay without jitter before attempt number `attempt` (1 is the first
 * attempt, always 0). */
uint64_t retry_nominal_ms(const struct retry_policy *p, unsigned int attempt);

/* The same with jitter: nominal +- jitter_pct, chosen by rnd (any 64-bit
 * random value; uniform in, uniform out). */
uint64_t retry_delay_ms(const struct retry_policy *p, unsigned int attempt, uint64_t rnd);

/* After `attempts` failed attempts, is there another one? */
bool retry_has_next(const struct retry_policy *p, unsigned int attempts);

/*
 * A Retry-After header value (RFC 9110: delta-seconds, or an HTTP-date in
 * IMF-fixdate, RFC 850 or asctime form) as milliseconds from now_unix,
 * clamped to max_ms; a date in the past is 0.  -EINVAL when it is neither.
 */
int retry_after_parse(const char *value, time_t now_unix, uint64_t max_ms, uint64_t *out_ms);

#endif
