/* SPDX-License-Identifier: MIT */
/*
 * libprobehook.so: the probes as plain C functions, for callers that cannot
 * use the macros (Python through ctypes, other languages through their FFI).
 *
 * Each function fires its probe inside the library, so the collector targets
 * the library's path.  Every function is safe to call with the probe off (it
 * returns at once) and never fails.  Strings may be NULL where the catalog
 * allows (run_id of agent.message.sent); elsewhere NULL is sent as "".
 */
#ifndef PROBEHOOK_LIBPROBEHOOK_H
#define PROBEHOOK_LIBPROBEHOOK_H

#include <stdint.h>

#include <probehook/catalog.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Probe ids, as in include/probehook/catalog.h. */
#define PROBEHOOK_ID_(id, NAME, ...) PROBEHOOK_ID_##NAME = id,
enum probehook_event_id {
	PROBEHOOK_EVENTS(PROBEHOOK_ID_)
};
#undef PROBEHOOK_ID_

/* Nonzero when a collector has attached the event's probe in this library. */
int probehook_enabled(int event_id);
/* The same, by event type ("agent.step.completed"); 0 for unknown types. */
int probehook_enabled_type(const char *event_type);
/* The event type of an id, or NULL. */
const char *probehook_event_type(int event_id);

void probehook_agent_step_completed(const char *agent_id, const char *step_id, const char *status,
				    const char *usage_json, const char *tool_calls_json);
void probehook_agent_step_failed(const char *agent_id, const char *step_id, const char *error,
				 const char *error_type);
void probehook_agent_tool_attached(const char *agent_id, const char *tool_id, const char *tool_name);
void probehook_agent_tool_detached(const char *agent_id, const char *tool_id);
void probehook_agent_message_sent(const char *agent_id, const char *run_id, int64_t message_count,
				  const char *usage_json);
void probehook_tool_execution_completed(const char *agent_id, const char *tool_name,
					const char *tool_args_json, const char *status,
					int64_t execution_time_us);
void probehook_agent_run_completed(const char *agent_id, const char *run_id, const char *status,
				   int64_t completed_at_unix_ns, const char *usage_json);
void probehook_agent_job_completed(const char *agent_id, const char *job_id, const char *status,
				   int64_t completed_at_unix_ns);

#ifdef __cplusplus
}
#endif

#endif /* PROBEHOOK_LIBPROBEHOOK_H */
