/* SPDX-License-Identifier: MIT */
/*
 * A circuit breaker for one endpoint.  CLOSED: requests go; when, over the
 * last `window` outcomes, at least `min_attempts` were seen and the share of
 * failures reaches `failure_ratio`, it OPENs.  OPEN: nothing goes (events
 * wait, they are never dropped) until `cooldown_ms` has passed; then
 * HALF_OPEN lets exactly one probe request go.  The probe's success closes
 * the breaker; its failure opens it again for another cool-down.
 *
 * Separately it tracks how long the endpoint has been failing without a
 * single success, so a long-dead endpoint can be disabled.
 *
 * A pure state machine: the caller passes the time in, so tests drive it
 * with a fake clock.
 */
#ifndef PROBEHOOK_BREAKER_H
#define PROBEHOOK_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

#define BREAKER_WINDOW_MAX 1000

struct breaker_config {
	double failure_ratio;      /* 0 < ratio <= 1 */
	unsigned int min_attempts; /* 1..window */
	unsigned int window;       /* 1..BREAKER_WINDOW_MAX last outcomes */
	uint32_t cooldown_ms;
	uint64_t disable_after_ms; /* failing this long without a success; 0: never */
};

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
	struct breaker_config cfg;
	enum breaker_state state;
	uint64_t open_until_ms;    /* OPEN: when the probe may go */
	bool probe_out;            /* HALF_OPEN: the probe is in flight */
	bool failing;              /* no success since failing_since_ms */
	uint64_t failing_since_ms;
	unsigned int opened_failures, opened_count; /* the window when it last opened */
	unsigned int count;        /* outcomes in the window */
	unsigned int failures;     /* failures among them */
	unsigned int next;         /* ring position of the next outcome */
	uint8_t outcome[(BREAKER_WINDOW_MAX + 7) / 8]; /* bit set: failure */
};

/* Sensible defaults: ratio 0.5, 10 attempts minimum, window 20, 30 s cool-down, 5 days. */
void breaker_config_default(struct breaker_config *cfg);

void breaker_init(struct breaker *b, const struct breaker_config *cfg);

/*
 * May a request start at `now`?  CLOSED: yes.  OPEN: no until the cool-down
 * has passed, then the breaker turns HALF_OPEN and this request is the probe
 * (*probe set).  HALF_OPEN: no while the probe is out.
 */
bool breaker_allow(struct breaker *b, uint64_t now, bool *probe);

/*
 * An attempt ended: ok or not, and whether it was the probe.  Outcomes of
 * requests that were already in flight when the breaker opened change
 * nothing but the failing-since clock.  Returns the state afterwards.
 */
enum breaker_state breaker_record(struct breaker *b, bool ok, bool probe, uint64_t now);

/* The probe ended without an outcome (never sent): let another one go. */
void breaker_probe_cancel(struct breaker *b);

/* OPEN: when to look again (open_until_ms); otherwise 0. */
uint64_t breaker_wake_ms(const struct breaker *b);

/* Failing without a success for disable_after_ms or more. */
bool breaker_expired(const struct breaker *b, uint64_t now);

const char *breaker_state_name(enum breaker_state state);

#endif
