// SPDX-License-Identifier: MIT
/* Retry policy: the default schedule, jitter bounds, max_attempts, the
 * exponential form and Retry-After parsing (seconds and the three HTTP-date
 * forms). */
#include <errno.h>
#include <stdint.h>

#include "check.h"
#include "retry.h"

#define S 1000ull
#define MIN (60 * S)
#define H (60 * MIN)

static uint64_t xorshift(uint64_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 7;
	*state ^= *state << 17;
	return *state;
}

static void test_default_schedule(void)
{
	static const uint64_t want[] = { 0, 5 * S, 5 * MIN, 30 * MIN, 2 * H, 5 * H, 10 * H, 10 * H };
	struct retry_policy p;

	retry_policy_default(&p);
	CHECK(p.kind == RETRY_SCHEDULE);
	CHECK(p.max_attempts == 8);
	CHECK(p.jitter_pct == 20);
	CHECK(p.retry_after_max_ms == 1 * H);
	for (unsigned int i = 0; i < 8; i++)
		CHECK(retry_nominal_ms(&p, i + 1) == want[i]);
	/* 8 attempts, then dead-lettered */
	CHECK(retry_has_next(&p, 7));
	CHECK(!retry_has_next(&p, 8));
	/* max_attempts past the schedule repeats its last delay */
	p.max_attempts = 10;
	CHECK(retry_nominal_ms(&p, 9) == 10 * H);
	CHECK(retry_nominal_ms(&p, 10) == 10 * H);
	CHECK(retry_has_next(&p, 9));
	CHECK(!retry_has_next(&p, 10));
	/* and below it cuts the schedule short */
	p.max_attempts = 3;
	CHECK(retry_has_next(&p, 2));
	CHECK(!retry_has_next(&p, 3));
}

static void test_jitter_bounds(void)
{
	struct retry_policy p;
	uint64_t rng = 0x1234567887654321ull, lo = UINT64_MAX, hi = 0, sum = 0;
	const int n = 20000;

	retry_policy_default(&p);
	/* the first attempt is immediate, jitter or not */
	CHECK(retry_delay_ms(&p, 1, 12345) == 0);
	for (int i = 0; i < n; i++) {
		uint64_t d = retry_delay_ms(&p, 2, xorshift(&rng));

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += d;
	}
	CHECK(lo >= 4000 && hi <= 6000);
	/* the whole band is used, and it is centred */
	CHECK(lo < 4100 && hi > 5900);
	CHECK(sum / n > 4950 && sum / n < 5050);
	/* the extremes of rnd land on the band's edges */
	CHECK(retry_delay_ms(&p, 2, 0) == 4000);
	CHECK(retry_delay_ms(&p, 2, 2000) == 6000);
	CHECK(retry_delay_ms(&p, 2, 2001) == 4000);
	CHECK(retry_delay_ms(&p, 8, UINT64_MAX) <= 12 * H);
	CHECK(retry_delay_ms(&p, 8, UINT64_MAX) >= 8 * H);
	p.jitter_pct = 0;
	CHECK(retry_delay_ms(&p, 3, 987654321) == 5 * MIN);
}

static void test_explicit_schedule(void)
{
	struct retry_policy p;

	retry_policy_default(&p);
	p.schedule_len = 3;
	p.schedule_ms[0] = 0;
	p.schedule_ms[1] = 100;
	p.schedule_ms[2] = 250;
	p.max_attempts = 5;
	CHECK(retry_nominal_ms(&p, 1) == 0);
	CHECK(retry_nominal_ms(&p, 2) == 100);
	CHECK(retry_nominal_ms(&p, 3) == 250);
	CHECK(retry_nominal_ms(&p, 4) == 250);
	CHECK(retry_nominal_ms(&p, 5) == 250);
}

static void test_exponential(void)
{
	struct retry_policy p;

	retry_policy_default(&p);
	p.kind = RETRY_EXPONENTIAL;
	p.base_ms = 1000;
	p.cap_ms = 60000;
	p.max_attempts = 100;
	CHECK(retry_nominal_ms(&p, 1) == 0);
	CHECK(retry_nominal_ms(&p, 2) == 1000);
	CHECK(retry_nominal_ms(&p, 3) == 2000);
	CHECK(retry_nominal_ms(&p, 4) == 4000);
	CHECK(retry_nominal_ms(&p, 7) == 32000);
	CHECK(retry_nominal_ms(&p, 8) == 60000);
	/* far past the cap: no overflow, still the cap */
	CHECK(retry_nominal_ms(&p, 100) == 60000);
	p.base_ms = 0xffffffffu;
	p.cap_ms = 0xffffffffu;
	CHECK(retry_nominal_ms(&p, 100) == 0xffffffffu);
}

static void test_retry_after(void)
{
	const time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	const uint64_t max = 3600 * S;
	uint64_t ms = 0;

	CHECK(retry_after_parse("2", now, max, &ms) == 0 && ms == 2000);
	CHECK(retry_after_parse("0", now, max, &ms) == 0 && ms == 0);
	CHECK(retry_after_parse(" 120 ", now, max, &ms) == 0 && ms == 120000);
	/* clamped to the maximum, including absurd values */
	CHECK(retry_after_parse("7200", now, max, &ms) == 0 && ms == max);
	CHECK(retry_after_parse("99999999999999999999999999", now, max, &ms) == 0 && ms == max);
	/* HTTP-date, all three forms, 60 s after now */
	CHECK(retry_after_parse("Sun, 06 Nov 1994 08:50:37 GMT", now, max, &ms) == 0 &&
	      ms == 60000);
	CHECK(retry_after_parse("Sunday, 06-Nov-94 08:50:37 GMT", now, max, &ms) == 0 &&
	      ms == 60000);
	CHECK(retry_after_parse("Sun Nov  6 08:50:37 1994", now, max, &ms) == 0 && ms == 60000);
	/* a date in the past means now; far future is clamped */
	CHECK(retry_after_parse("Sun, 06 Nov 1994 08:00:00 GMT", now, max, &ms) == 0 && ms == 0);
	CHECK(retry_after_parse("Fri, 31 Dec 2100 23:59:59 GMT", now, max, &ms) == 0 &&
	      ms == max);
	/* not a Retry-After */
	ms = 42;
	CHECK(retry_after_parse("", now, max, &ms) == -EINVAL);
	CHECK(retry_after_parse("soon", now, max, &ms) == -EINVAL);
	CHECK(retry_after_parse("-5", now, max, &ms) == -EINVAL);
	CHECK(retry_after_parse("1.5", now, max, &ms) == -EINVAL);
	CHECK(retry_after_parse("5 s", now, max, &ms) == -EINVAL);
	CHECK(retry_after_parse("Sun, 06 Nov 1994 08:50:37 CET", now, max, &ms) == -EINVAL);
	CHECK(retry_after_parse("Sun, 06 Nov 1994 08:50:37 GMT junk", now, max, &ms) == -EINVAL);
	CHECK(retry_after_parse(NULL, now, max, &ms) == -EINVAL);
	CHECK(ms == 42);
}

static void test_classify(void)
{
	CHECK(retry_classify(200) == RETRY_DELIVERED);
	CHECK(retry_classify(201) == RETRY_DELIVERED);
	CHECK(retry_classify(204) == RETRY_DELIVERED);
	CHECK(retry_classify(299) == RETRY_DELIVERED);
	CHECK(retry_classify(0) == RETRY_AGAIN);   /* no answer */
	CHECK(retry_classify(100) == RETRY_AGAIN);
	CHECK(retry_classify(301) == RETRY_AGAIN); /* redirects are failures */
	CHECK(retry_classify(302) == RETRY_AGAIN);
	CHECK(retry_classify(308) == RETRY_AGAIN);
	CHECK(retry_classify(400) == RETRY_AGAIN);
	CHECK(retry_classify(404) == RETRY_AGAIN);
	CHECK(retry_classify(500) == RETRY_AGAIN);
	CHECK(retry_classify(502) == RETRY_AGAIN);
	CHECK(retry_classify(504) == RETRY_AGAIN);
	CHECK(retry_classify(429) == RETRY_THROTTLED);
	CHECK(retry_classify(503) == RETRY_THROTTLED);
	CHECK(retry_classify(410) == RETRY_GONE);
}

int main(void)
{
	test_classify();
	test_default_schedule();
	test_jitter_bounds();
	test_explicit_schedule();
	test_exponential();
	test_retry_after();
	return check_summary("test_retry");
}
