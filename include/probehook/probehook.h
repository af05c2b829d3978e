/* SPDX-License-Identifier: MIT */
/*
 * probehook: USDT probes that become webhooks.
 *
 * Fire an event where it happens:
 *
 *     PROBEHOOK_AGENT_TOOL_ATTACHED(agent_id, tool_id, tool_name);
 *
 * Guard work that only serves the probe (building JSON, formatting) with the
 * probe's semaphore, so it costs one load and a branch while nobody listens:
 *
 *     if (PROBEHOOK_AGENT_STEP_COMPLETED_ENABLED()) {
 *             char *usage = usage_to_json(u);
 *             PROBEHOOK_AGENT_STEP_COMPLETED(agent, step, "completed", usage, calls);
 *             free(usage);
 *     }
 *
 * Exactly one source file of each executable or shared library that fires
 * probes defines the semaphores, before including this header:
 *
 *     #define PROBEHOOK_DEFINE_SEMAPHORES
 *     #include <probehook/probehook.h>
 *
 * Build with -DPROBEHOOK_DISABLE to compile every probe to nothing.
 */
#ifndef PROBEHOOK_PROBEHOOK_H
#define PROBEHOOK_PROBEHOOK_H

#include <probehook/catalog.h>

#if defined(PROBEHOOK_DISABLE)

/* Arguments go to a call that is never made: no code, yet nothing "unused". */
static inline void probehook_off_(int unused, ...)
{
	(void)unused;
}
#define PROBEHOOK_PROBE_OFF_(...) do { if (0) probehook_off_(0, __VA_ARGS__); } while (0)
#define PROBEHOOK_AGENT_STEP_COMPLETED(...) PROBEHOOK_PROBE_OFF_(__VA_ARGS__)
#define PROBEHOOK_AGENT_STEP_COMPLETED_ENABLED() 0
#define PROBEHOOK_AGENT_STEP_FAILED(...) PROBEHOOK_PROBE_OFF_(__VA_ARGS__)
#define PROBEHOOK_AGENT_STEP_FAILED_ENABLED() 0
#define PROBEHOOK_AGENT_TOOL_ATTACHED(...) PROBEHOOK_PROBE_OFF_(__VA_ARGS__)
#define PROBEHOOK_AGENT_TOOL_ATTACHED_ENABLED() 0
#define PROBEHOOK_AGENT_TOOL_DETACHED(...) PROBEHOOK_PROBE_OFF_(__VA_ARGS__)
#define PROBEHOOK_AGENT_TOOL_DETACHED_ENABLED() 0
#define PROBEHOOK_AGENT_MESSAGE_SENT(...) PROBEHOOK_PROBE_OFF_(__VA_ARGS__)
#define PROBEHOOK_AGENT_MESSAGE_SENT_ENABLED() 0
#define PROBEHOOK_TOOL_EXECUTION_COMPLETED(...) PROBEHOOK_PROBE_OFF_(__VA_ARGS__)
#define PROBEHOOK_TOOL_EXECUTION_COMPLETED_ENABLED() 0
#define PROBEHOOK_AGENT_RUN_COMPLETED(...) PROBEHOOK_PROBE_OFF_(__VA_ARGS__)
#define PROBEHOOK_AGENT_RUN_COMPLETED_ENABLED() 0
#define PROBEHOOK_AGENT_JOB_COMPLETED(...) PROBEHOOK_PROBE_OFF_(__VA_ARGS__)
#define PROBEHOOK_AGENT_JOB_COMPLETED_ENABLED() 0

#else /* probes on */

/* sdt.h carries C++ templates: include it outside the C linkage block. */
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#ifdef __cplusplus
extern "C" {
#endif
/* Generated from probes/probehook.d by `dtrace -h` at build time. */
#include <probehook/probehook_probes.h>
#ifdef __cplusplus
}
#endif

#if defined(PROBEHOOK_DEFINE_SEMAPHORES)
/* The semaphores libbpf increments when the collector attaches a probe. */
#define PROBEHOOK_SEMAPHORE_(id, NAME, type, probe, ...) \
	__extension__ unsigned short probehook_##probe##_semaphore \
		__attribute__((section(".probes"))) __attribute__((used));
#ifdef __cplusplus
extern "C" {
#endif
PROBEHOOK_EVENTS(PROBEHOOK_SEMAPHORE_)
#ifdef __cplusplus
}
#endif
#undef PROBEHOOK_SEMAPHORE_
#endif /* PROBEHOOK_DEFINE_SEMAPHORES */

#endif /* PROBEHOOK_DISABLE */

#endif /* PROBEHOOK_PROBEHOOK_H */
