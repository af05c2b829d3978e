/* SPDX-License-Identifier: MIT */
/* Time conversions: the kernel's boot clock to wall time, and RFC 3339. */
#ifndef PROBEHOOK_TIMEFMT_H
#define PROBEHOOK_TIMEFMT_H

#include <stdint.h>

/* "2026-11-25T15:10:05.123456Z" plus NUL */
#define RFC3339_LEN 32

/* Unix ns → RFC 3339 UTC with microseconds.  Returns 0 or -ERANGE for
 * times outside years 0001..9999 (out is then "1970-01-01T00:00:00Z"). */
int rfc3339_from_unix_ns(int64_t unix_ns, char out[RFC3339_LEN]);

/* CLOCK_REALTIME - CLOCK_BOOTTIME now, in ns: add it to a BPF boot timestamp
 * to get wall time.  Re-read it periodically: the wall clock can be stepped. */
int64_t boot_to_unix_offset_ns(void);

/* CLOCK_MONOTONIC in milliseconds, for timers and schedules. */
uint64_t now_ms(void);

#endif
