/* SPDX-License-Identifier: MIT */
/*
 * The event catalog: the one list every part of probehook is built from.
 *
 * This header is plain preprocessor data so that it can be included by the
 * BPF program, the collector, libprobehook and user programs alike.  Each row:
 *
 *   X(ID, NAME, "event.type", probe_name,
 *     KIND0, "field0", KIND1, "field1", ... six argument slots)
 *
 * ID is the probe id carried in every ring-buffer record (and the cookie of
 * the attached USDT program); never reuse or renumber an id.  probe_name is
 * the name in probes/probehook.d, whose argument order and types a test checks
 * against this table.  Unused slots are NONE with field NULL.
 *
 * Argument kinds:
 *   TEXT      const char *, NUL-terminated, becomes a JSON string
 *   TEXT_NULL like TEXT, but a NULL pointer becomes JSON null
 *   JSON      const char * holding JSON text, embedded as JSON (or as a
 *             string, flagged, when it does not parse)
 *   INT       int64_t, a JSON number
 *   TIME_NS   int64_t Unix time in nanoseconds, an RFC 3339 string
 *   DURATION_US int64_t microseconds, a fractional number of milliseconds
 */
#ifndef PROBEHOOK_CATALOG_H
#define PROBEHOOK_CATALOG_H

#define PROBEHOOK_EVENTS(X)                                                              \
	X(0, AGENT_STEP_COMPLETED, "agent.step.completed", agent__step__completed,       \
	  TEXT, "agent_id", TEXT, "step_id", TEXT, "status", JSON, "usage",              \
	  JSON, "tool_calls", NONE, 0)                                                   \
	X(1, AGENT_STEP_FAILED, "agent.step.failed", agent__step__failed,                \
	  TEXT, "agent_id", TEXT, "step_id", TEXT, "error", TEXT, "error_type",          \
	  NONE, 0, NONE, 0)                                                              \
	X(2, AGENT_TOOL_ATTACHED, "agent.tool.attached", agent__tool__attached,          \
	  TEXT, "agent_id", TEXT, "tool_id", TEXT, "tool_name",                          \
	  NONE, 0, NONE, 0, NONE, 0)                                                     \
	X(3, AGENT_TOOL_DETACHED, "agent.tool.detached", agent__tool__detached,          \
	  TEXT, "agent_id", TEXT, "tool_id",                                             \
	  NONE, 0, NONE, 0, NONE, 0, NONE, 0)                                            \
	X(4, AGENT_MESSAGE_SENT, "agent.message.sent", agent__message__sent,             \
	  TEXT, "agent_id", TEXT_NULL, "run_id", INT, "message_count", JSON, "usage",    \
	  NONE, 0, NONE, 0)                                                              \
	X(5, TOOL_EXECUTION_COMPLETED, "tool.execution.completed",                       \
	  tool__execution__completed,                                                    \
	  TEXT, "agent_id", TEXT, "tool_name", JSON, "tool_args", TEXT, "status",        \
	  DURATION_US, "execution_time_ms", NONE, 0)                                     \
	X(6, AGENT_RUN_COMPLETED, "agent.run.completed", agent__run__completed,          \
	  TEXT, "agent_id", TEXT, "run_id", TEXT, "status", TIME_NS, "completed_at",     \
	  JSON, "usage", NONE, 0)                                                        \
	X(7, AGENT_JOB_COMPLETED, "agent.job.completed", agent__job__completed,          \
	  TEXT, "agent_id", TEXT, "job_id", TEXT, "status", TIME_NS, "completed_at",     \
	  NONE, 0, NONE, 0)

#define PROBEHOOK_EVENT_COUNT 8
#define PROBEHOOK_MAX_ARGS 6

/* Numeric values are part of the record format: append only. */
#define PROBEHOOK_ARG_NONE 0
#define PROBEHOOK_ARG_TEXT 1
#define PROBEHOOK_ARG_TEXT_NULL 2
#define PROBEHOOK_ARG_JSON 3
#define PROBEHOOK_ARG_INT 4
#define PROBEHOOK_ARG_TIME_NS 5
#define PROBEHOOK_ARG_DURATION_US 6

#define PROBEHOOK_ARG_IS_STRING(kind) ((kind) >= PROBEHOOK_ARG_TEXT && (kind) <= PROBEHOOK_ARG_JSON)

#endif /* PROBEHOOK_CATALOG_H */
