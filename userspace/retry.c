// SPDX-License-Identifier: MIT
#define _GNU_SOURCE /* strptime */
#include "retry.h"

#include <errno.h>
#include <string.h>

static const uint32_t default_schedule_ms[] = {
	0, 5 * 1000, 5 * 60 * 1000, 30 * 60 * 1000, 2 * 3600 * 1000,
	5 * 3600 * 1000, 10 * 3600 * 1000, 10 * 3600 * 1000,
};

#define DEFAULT_STEPS (sizeof(default_schedule_ms) / sizeof(default_schedule_ms[0]))

void retry_policy_default(struct retry_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->kind = RETRY_SCHEDULE;
	p->max_attempts = DEFAULT_STEPS;
	p->jitter_pct = RETRY_JITTER_PCT_DEFAULT;
	p->retry_after_max_ms = RETRY_AFTER_MAX_MS_DEFAULT;
	p->schedule_len = DEFAULT_STEPS;
	memcpy(p->schedule_ms, default_schedule_ms, sizeof(default_schedule_ms));
}

enum retry_verdict retry_classify(long status)
{
	if (status >= 200 && status < 300)
		return RETRY_DELIVERED;
	if (status == 410)
		return RETRY_GONE;
	if (status == 429 || status == 503)
		return RETRY_THROTTLED;
	return RETRY_AGAIN;
}

uint64_t retry_nominal_ms(const struct retry_policy *p, unsigned int attempt)
{
	uint64_t delay;

	if (attempt <= 1)
		return 0;
	if (p->kind == RETRY_SCHEDULE) {
		if (!p->schedule_len)
			return 0;
		return p->schedule_ms[attempt <= p->schedule_len ? attempt - 1 : p->schedule_len - 1];
	}
	delay = p->base_ms;
	/* doubling stops at the cap, so the shift can never overflow */
	for (unsigned int i = 2; i < attempt && delay < p->cap_ms; i++)
		delay *= 2;
	return delay < p->cap_ms ? delay : p->cap_ms;
}

uint64_t retry_delay_ms(const struct retry_policy *p, unsigned int attempt, uint64_t rnd)
{
	uint64_t nominal = retry_nominal_ms(p, attempt);
	uint64_t spread = nominal * p->jitter_pct / 100;

	return nominal - spread + rnd % (2 * spread + 1);
}

bool retry_has_next(const struct retry_policy *p, unsigned int attempts)
{
	return attempts < p->max_attempts;
}

/* HTTP-date forms, tried in order; all are GMT by definition. */
static const char *const http_date_formats[] = {
	"%a, %d %b %Y %H:%M:%S GMT", /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
	"%A, %d-%b-%y %H:%M:%S GMT", /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
	"%a %b %e %H:%M:%S %Y",      /* asctime: Sun Nov  6 08:49:37 1994 */
};

static int parse_http_date(const char *value, time_t *out)
{
	for (size_t i = 0; i < sizeof(http_date_formats) / sizeof(http_date_formats[0]); i++) {
		struct tm tm;
		const char *end;

		memset(&tm, 0, sizeof(tm));
		end = strptime(value, http_date_formats[i], &tm);
		if (!end)
			continue;
		end += strspn(end, " \t");
		if (*end)
			continue;
		*out = timegm(&tm);
		return *out == (time_t)-1 ? -EINVAL : 0;
	}
	return -EINVAL;
}

int retry_after_parse(const char *value, time_t now_unix, uint64_t max_ms, uint64_t *out_ms)
{
	uint64_t seconds = 0;
	const char *p;
	time_t when;

	if (!value)
		return -EINVAL;
	value += strspn(value, " \t");
	p = value;
	if (*p >= '0' && *p <= '9') {
		/* delta-seconds; saturate rather than overflow, the clamp follows */
		for (; *p >= '0' && *p <= '9'; p++)
			seconds = seconds > UINT64_MAX / 10000 ? UINT64_MAX / 1000 :
								   seconds * 10 + (uint64_t)(*p - '0');
		p += strspn(p, " \t");
		if (*p)
			return -EINVAL;
	} else {
		if (parse_http_date(value, &when))
			return -EINVAL;
		seconds = when > now_unix ? (uint64_t)(when - now_unix) : 0;
	}
	*out_ms = seconds > max_ms / 1000 ? max_ms : seconds * 1000;
	return 0;
}
