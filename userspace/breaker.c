// SPDX-License-Identifier: MIT
#include "breaker.h"

#include <string.h>

void breaker_config_default(struct breaker_config *cfg)
{
	cfg->failure_ratio = 0.5;
	cfg->min_attempts = 10;
	cfg->window = 20;
	cfg->cooldown_ms = 30 * 1000;
	cfg->disable_after_ms = 5ull * 24 * 3600 * 1000;
}

void breaker_init(struct breaker *b, const struct breaker_config *cfg)
{
	memset(b, 0, sizeof(*b));
	b->cfg = *cfg;
	if (b->cfg.window > BREAKER_WINDOW_MAX)
		b->cfg.window = BREAKER_WINDOW_MAX;
	if (b->cfg.window == 0)
		b->cfg.window = 1;
	b->state = BREAKER_CLOSED;
}

static bool bit_get(const struct breaker *b, unsigned int i)
{
	return b->outcome[i / 8] & (1u << (i % 8));
}

static void bit_set(struct breaker *b, unsigned int i, bool v)
{
	if (v)
		b->outcome[i / 8] |= (uint8_t)(1u << (i % 8));
	else
		b->outcome[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static void window_clear(struct breaker *b)
{
	b->count = b->failures = b->next = 0;
	memset(b->outcome, 0, sizeof(b->outcome));
}

/* Push one outcome into the ring, evicting the oldest once it is full. */
static void window_push(struct breaker *b, bool failed)
{
	if (b->count == b->cfg.window) {
		b->failures -= bit_get(b, b->next);
	} else {
		b->count++;
	}
	bit_set(b, b->next, failed);
	b->failures += failed;
	b->next = (b->next + 1) % b->cfg.window;
}

static void open_for_cooldown(struct breaker *b, uint64_t now)
{
	b->state = BREAKER_OPEN;
	b->open_until_ms = now + b->cfg.cooldown_ms;
	b->probe_out = false;
	b->opened_failures = b->failures;
	b->opened_count = b->count;
	window_clear(b);
}

bool breaker_allow(struct breaker *b, uint64_t now, bool *probe)
{
	*probe = false;
	switch (b->state) {
	case BREAKER_CLOSED:
		return true;
	case BREAKER_OPEN:
		if (now < b->open_until_ms)
			return false;
		b->state = BREAKER_HALF_OPEN;
		b->probe_out = false;
		/* the first request after the cool-down is the probe */
		__attribute__((fallthrough));
	case BREAKER_HALF_OPEN:
		if (b->probe_out)
			return false;
		b->probe_out = true;
		*probe = true;
		return true;
	}
	return false;
}

enum breaker_state breaker_record(struct breaker *b, bool ok, bool probe, uint64_t now)
{
	if (ok) {
		b->failing = false;
	} else if (!b->failing) {
		b->failing = true;
		b->failing_since_ms = now;
	}
	switch (b->state) {
	case BREAKER_CLOSED:
		window_push(b, !ok);
		/* compare counts, with slack for the ratio's binary rounding:
		 * 7 of 10 at 0.7 must open */
		if (b->count >= b->cfg.min_attempts &&
		    (double)b->failures >= b->cfg.failure_ratio * (double)b->count - 1e-9)
			open_for_cooldown(b, now);
		break;
	case BREAKER_HALF_OPEN:
		if (!probe)
			break;
		if (ok) {
			b->state = BREAKER_CLOSED;
			b->probe_out = false;
			window_clear(b);
		} else {
			open_for_cooldown(b, now);
		}
		break;
	case BREAKER_OPEN:
		break;
	}
	return b->state;
}

void breaker_probe_cancel(struct breaker *b)
{
	if (b->state == BREAKER_HALF_OPEN)
		b->probe_out = false;
}

uint64_t breaker_wake_ms(const struct breaker *b)
{
	return b->state == BREAKER_OPEN ? b->open_until_ms : 0;
}

bool breaker_expired(const struct breaker *b, uint64_t now)
{
	return b->cfg.disable_after_ms && b->failing &&
	       now - b->failing_since_ms >= b->cfg.disable_after_ms;
}

const char *breaker_state_name(enum breaker_state state)
{
	switch (state) {
	case BREAKER_CLOSED: return "closed";
	case BREAKER_OPEN: return "open";
	case BREAKER_HALF_OPEN: return "half-open";
	}
	return "?";
}
