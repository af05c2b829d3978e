/* SPDX-License-Identifier: MIT */
/*
 * A decoded record becomes a webhook event:
 *   {"type", "timestamp", "data": {agent_id, payload fields},
 *    "source": {"pid", "tid", "comm", "seq"}, "flags": {...}}
 * "flags" appears only when an argument was truncated, unreadable, not
 * valid UTF-8 (bytes replaced by U+FFFD), not valid JSON or nested deeper
 * than EVENT_JSON_DEPTH_MAX (both embedded as a string instead) or out of
 * range; each lists the affected fields ("timestamp" when the record's own
 * boot time cannot be a real one).
 */
#ifndef PROBEHOOK_EVENT_H
#define PROBEHOOK_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "decode.h"

/* Deeper JSON arguments are embedded as strings: receivers' parsers have
 * nesting limits (cJSON's is 1000, the whole body included). */
#define EVENT_JSON_DEPTH_MAX 128

#define EVENT_TYPE_GAP "probehook.gap"

/* "msg_" + 32 hex digits + NUL */
#define EVENT_ID_LEN 37

/* The event object, or NULL when out of memory. */
cJSON *event_build(const struct decoded_event *ev, int64_t boot_to_unix_ns);

/*
 * The event printed (unformatted) in at most max_bytes: while it is larger,
 * the largest field of "data" but agent_id (a string, or JSON printed as text) is cut
 * into a shorter string, at a UTF-8 boundary, and listed in
 * flags.truncated, so the body stays valid JSON and says what it lost.
 * Changes event.  Returns the printed body (malloc'd) in *out: 0 when it
 * fits, -E2BIG when nothing is left to cut (*out is then the smallest
 * body), -ENOMEM.
 */
int event_fit(cJSON *event, size_t max_bytes, char **out);

/*
 * A body printed from an event (a spooled one), parsed back so that it
 * prints as it was and event_fit() cuts it as it would have cut the event
 * it came from: numbers stay the literals they were, as raw items, where a
 * double would round 64-bit integers, print 1.500 as 1.5 and 1e999 as null.
 * (Strings inside JSON arguments print with cJSON's escapes, which may
 * spell them differently, to the same value.)  0, -EINVAL when body is not
 * one JSON object, or -ENOMEM.
 */
int event_parse(const char *body, size_t len, cJSON **out);

/* The agent id as the event's data.agent_id will carry it (UTF-8 sanitised),
 * malloc'ed; NULL when the argument was NULL or unreadable. */
char *event_agent_id(const struct decoded_event *ev);

/*
 * The webhook-id: derived from the record's identity (boot, pid, seq, time,
 * probe), so the same record read twice yields the same id and receivers
 * deduplicate it.  boot_id is /proc/sys/kernel/random/boot_id.
 */
void event_id(const struct ph_record *rec, const char *boot_id, char out[EVENT_ID_LEN]);

/*
 * The collector's own event for records a process lost to a full ring
 * buffer, reported by the kernel with the process's next record (rec):
 *   {"type": "probehook.gap", "timestamp", "data": {"lost": N,
 *    "reason": "ring_buffer_full"}, "source": {pid, tid, comm, seq}}
 * Its id is derived from rec like event_id's, distinct from rec's own.
 */
cJSON *event_build_gap(const struct ph_record *rec, int64_t boot_to_unix_ns);
void event_gap_id(const struct ph_record *rec, const char *boot_id, char out[EVENT_ID_LEN]);

#endif
