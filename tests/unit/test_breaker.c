// SPDX-License-Identifier: MIT
/* The circuit breaker as a state machine on a fake clock: opening on the
 * failure ratio over the window, holding while open, one probe when
 * half-open, closing and re-opening, and the failing-since clock. */
#include <stdbool.h>

#include "breaker.h"
#include "check.h"

static struct breaker_config small(void)
{
	struct breaker_config cfg = {
		.failure_ratio = 0.5, .min_attempts = 4, .window = 6, .cooldown_ms = 1000,
		.disable_after_ms = 10000,
	};
	return cfg;
}

static void record_n(struct breaker *b, int n, bool ok, uint64_t now)
{
	for (int i = 0; i < n; i++)
		breaker_record(b, ok, false, now);
}

static void test_defaults(void)
{
	struct breaker_config cfg;

	breaker_config_default(&cfg);
	CHECK(cfg.failure_ratio == 0.5);
	CHECK(cfg.min_attempts == 10);
	CHECK(cfg.window == 20);
	CHECK(cfg.cooldown_ms == 30000);
	CHECK(cfg.disable_after_ms == 5ull * 24 * 3600 * 1000);
}

static void test_opens_on_ratio(void)
{
	struct breaker_config cfg = small();
	struct breaker b;
	bool probe;

	breaker_init(&b, &cfg);
	CHECK(b.state == BREAKER_CLOSED);
	CHECK(breaker_allow(&b, 0, &probe) && !probe);
	/* below min_attempts nothing opens, even at 100% failures */
	record_n(&b, 3, false, 10);
	CHECK(b.state == BREAKER_CLOSED);
	/* the 4th failure reaches min_attempts */
	CHECK(breaker_record(&b, false, false, 20) == BREAKER_OPEN);
	CHECK(breaker_wake_ms(&b) == 1020);
	CHECK(!breaker_allow(&b, 500, &probe));
	CHECK(!breaker_allow(&b, 1019, &probe));

	/* successes keep the ratio under the threshold */
	breaker_init(&b, &cfg);
	record_n(&b, 3, true, 0);
	record_n(&b, 2, false, 0);
	CHECK(b.state == BREAKER_CLOSED); /* 2 of 5 */
	CHECK(breaker_record(&b, false, false, 0) == BREAKER_OPEN); /* 3 of 6 = 0.5 */
	CHECK(b.opened_failures == 3 && b.opened_count == 6);
}

static void test_window_slides(void)
{
	struct breaker_config cfg = small();
	struct breaker b;

	breaker_init(&b, &cfg);
	/* F S S S S S: 1 of 6 */
	breaker_record(&b, false, false, 0);
	record_n(&b, 5, true, 0);
	CHECK(b.count == 6 && b.failures == 1);
	/* the next outcome evicts the oldest, the failure */
	breaker_record(&b, false, false, 0); /* S S S S S F : 1 of 6 */
	CHECK(b.count == 6 && b.failures == 1);
	breaker_record(&b, false, false, 0); /* S S S S F F : 2 of 6 */
	CHECK(b.failures == 2 && b.state == BREAKER_CLOSED);
	breaker_record(&b, false, false, 0); /* S S S F F F : 3 of 6 */
	CHECK(b.state == BREAKER_OPEN);

	/* ratio 0.7 opens at 7 of 10 exactly, despite binary rounding */
	cfg.failure_ratio = 0.7;
	cfg.window = 10;
	cfg.min_attempts = 10;
	breaker_init(&b, &cfg);
	record_n(&b, 3, true, 0);
	record_n(&b, 6, false, 0);
	CHECK(b.state == BREAKER_CLOSED);
	CHECK(breaker_record(&b, false, false, 0) == BREAKER_OPEN);
}

static void test_half_open(void)
{
	struct breaker_config cfg = small();
	struct breaker b;
	bool probe;

	breaker_init(&b, &cfg);
	record_n(&b, 4, false, 0);
	CHECK(b.state == BREAKER_OPEN);
	/* late outcomes of requests already in flight change nothing */
	CHECK(breaker_record(&b, true, false, 10) == BREAKER_OPEN);
	CHECK(breaker_record(&b, false, false, 10) == BREAKER_OPEN);
	/* after the cool-down exactly one probe goes */
	CHECK(breaker_allow(&b, 1000, &probe) && probe);
	CHECK(b.state == BREAKER_HALF_OPEN);
	CHECK(!breaker_allow(&b, 1001, &probe) && !probe);
	CHECK(!breaker_allow(&b, 5000, &probe));
	/* a non-probe outcome does not decide */
	CHECK(breaker_record(&b, true, false, 1100) == BREAKER_HALF_OPEN);
	/* the probe fails: open again, for a full cool-down from now */
	CHECK(breaker_record(&b, false, true, 1200) == BREAKER_OPEN);
	CHECK(breaker_wake_ms(&b) == 2200);
	CHECK(!breaker_allow(&b, 2199, &probe));
	CHECK(breaker_allow(&b, 2200, &probe) && probe);
	/* a probe that never went lets another go */
	breaker_probe_cancel(&b);
	CHECK(breaker_allow(&b, 2201, &probe) && probe);
	/* the probe succeeds: closed, with a fresh window */
	CHECK(breaker_record(&b, true, true, 2300) == BREAKER_CLOSED);
	CHECK(b.count == 0 && b.failures == 0);
	CHECK(breaker_wake_ms(&b) == 0);
	CHECK(breaker_allow(&b, 2301, &probe) && !probe);
	CHECK(breaker_allow(&b, 2301, &probe) && !probe);
	/* a fresh window: three failures are not enough again */
	record_n(&b, 3, false, 2400);
	CHECK(b.state == BREAKER_CLOSED);
}

static void test_failing_since(void)
{
	struct breaker_config cfg = small();
	struct breaker b;
	bool probe;

	breaker_init(&b, &cfg);
	CHECK(!breaker_expired(&b, 1000000));
	breaker_record(&b, false, false, 100);
	CHECK(!breaker_expired(&b, 10099));
	CHECK(breaker_expired(&b, 10100));
	/* a success restarts the clock */
	breaker_record(&b, true, false, 5000);
	CHECK(!breaker_expired(&b, 20000));
	breaker_record(&b, false, false, 6000);
	CHECK(!breaker_expired(&b, 15999));
	CHECK(breaker_expired(&b, 16000));
	/* 0 disables it */
	cfg.disable_after_ms = 0;
	breaker_init(&b, &cfg);
	breaker_record(&b, false, false, 0);
	CHECK(!breaker_expired(&b, UINT64_MAX));
	/* a success while open (a request from before) still counts for it */
	cfg = small();
	breaker_init(&b, &cfg);
	record_n(&b, 4, false, 0);
	breaker_record(&b, true, false, 1);
	CHECK(!breaker_expired(&b, 50000));
	CHECK(b.state == BREAKER_OPEN);
	CHECK(!breaker_allow(&b, 2, &probe));
}

int main(void)
{
	test_defaults();
	test_opens_on_ratio();
	test_window_slides();
	test_half_open();
	test_failing_since();
	CHECK(breaker_state_name(BREAKER_HALF_OPEN)[0] == 'h');
	return check_summary("test_breaker");
}
