// SPDX-License-Identifier: MIT
/*
 * libprobehook.so: every probe of the catalog as a plain C function.
 *
 * Callers that cannot expand the macros (Python through ctypes, other FFIs)
 * fire probes through these functions, so the probe sites and their
 * semaphores live in this library and the collector targets its path.
 *
 * Each function is called on the caller's hot path: while its probe is off it
 * must cost a load of the semaphore and a branch, nothing more.  So the only
 * work done before the test is none, and the NULL fix-ups happen after it.
 *
 * Built with -fvisibility=hidden: only what carries PH_API is exported.  The
 * semaphores stay hidden; libbpf finds them through the stapsdt notes.
 */
#define PROBEHOOK_DEFINE_SEMAPHORES
#include <probehook/probehook.h>
#include <probehook/libprobehook.h>

#include <stddef.h>
#include <string.h>

#define PH_API __attribute__((visibility("default")))

/* A NULL pointer would reach the collector as an unreadable argument. */
static inline const char *text(const char *s)
{
	return s ? s : "";
}

/* Missing JSON is JSON null, which the collector embeds as is. */
static inline const char *json(const char *s)
{
	return s ? s : "null";
}

/* Indexed by probe id: ids are dense and start at 0 (see catalog.h). */
#define PH_TYPE_(id, NAME, type, ...) [id] = type,
static const char *const event_types[PROBEHOOK_EVENT_COUNT] = { PROBEHOOK_EVENTS(PH_TYPE_) };
#undef PH_TYPE_

PH_API int probehook_enabled(int event_id)
{
	/* Generated from the catalog, so a new event cannot be forgotten here. */
#define PH_CASE_(id, NAME, ...)                                  \
	case id:                                                 \
		return PROBEHOOK_##NAME##_ENABLED() != 0;
	switch (event_id) {
		PROBEHOOK_EVENTS(PH_CASE_)
	}
#undef PH_CASE_
	return 0;
}

PH_API int probehook_enabled_type(const char *event_type)
{
	int id;

	if (!event_type)
		return 0;
	for (id = 0; id < PROBEHOOK_EVENT_COUNT; id++)
		if (strcmp(event_types[id], event_type) == 0)
			return probehook_enabled(id);
	return 0;
}

PH_API const char *probehook_event_type(int event_id)
{
	if ((unsigned int)event_id >= PROBEHOOK_EVENT_COUNT)
		return NULL;
	return event_types[event_id];
}

PH_API void probehook_agent_step_completed(const char *agent_id, const char *step_id,
					   const char *status, const char *usage_json,
					   const char *tool_calls_json)
{
	if (PROBEHOOK_AGENT_STEP_COMPLETED_ENABLED())
		PROBEHOOK_AGENT_STEP_COMPLETED(text(agent_id), text(step_id), text(status),
					       json(usage_json), json(tool_calls_json));
}

PH_API void probehook_agent_step_failed(const char *agent_id, const char *step_id,
					const char *error, const char *error_type)
{
	if (PROBEHOOK_AGENT_STEP_FAILED_ENABLED())
		PROBEHOOK_AGENT_STEP_FAILED(text(agent_id), text(step_id), text(error),
					    text(error_type));
}

PH_API void probehook_agent_tool_attached(const char *agent_id, const char *tool_id,
					  const char *tool_name)
{
	if (PROBEHOOK_AGENT_TOOL_ATTACHED_ENABLED())
		PROBEHOOK_AGENT_TOOL_ATTACHED(text(agent_id), text(tool_id), text(tool_name));
}

PH_API void probehook_agent_tool_detached(const char *agent_id, const char *tool_id)
{
	if (PROBEHOOK_AGENT_TOOL_DETACHED_ENABLED())
		PROBEHOOK_AGENT_TOOL_DETACHED(text(agent_id), text(tool_id));
}

/* run_id is the one nullable argument: the collector sends NULL as JSON null. */
PH_API void probehook_agent_message_sent(const char *agent_id, const char *run_id,
					 int64_t message_count, const char *usage_json)
{
	if (PROBEHOOK_AGENT_MESSAGE_SENT_ENABLED())
		PROBEHOOK_AGENT_MESSAGE_SENT(text(agent_id), run_id, message_count,
					     json(usage_json));
}

PH_API void probehook_tool_execution_completed(const char *agent_id, const char *tool_name,
					       const char *tool_args_json, const char *status,
					       int64_t execution_time_us)
{
	if (PROBEHOOK_TOOL_EXECUTION_COMPLETED_ENABLED())
		PROBEHOOK_TOOL_EXECUTION_COMPLETED(text(agent_id), text(tool_name),
						   json(tool_args_json), text(status),
						   execution_time_us);
}

PH_API void probehook_agent_run_completed(const char *agent_id, const char *run_id,
					  const char *status, int64_t completed_at_unix_ns,
					  const char *usage_json)
{
	if (PROBEHOOK_AGENT_RUN_COMPLETED_ENABLED())
		PROBEHOOK_AGENT_RUN_COMPLETED(text(agent_id), text(run_id), text(status),
					      completed_at_unix_ns, json(usage_json));
}

PH_API void probehook_agent_job_completed(const char *agent_id, const char *job_id,
					  const char *status, int64_t completed_at_unix_ns)
{
	if (PROBEHOOK_AGENT_JOB_COMPLETED_ENABLED())
		PROBEHOOK_AGENT_JOB_COMPLETED(text(agent_id), text(job_id), text(status),
					      completed_at_unix_ns);
}
