/* SPDX-License-Identifier: MIT */
/*
 * What every fuzz target asserts about an event, whatever bytes it was built
 * from.  A failed check aborts: libFuzzer reports that as a crash with the
 * input that caused it, and the corpus replay test (a normal build) fails.
 */
#ifndef PROBEHOOK_FUZZ_CHECK_H
#define PROBEHOOK_FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

/* A realistic CLOCK_REALTIME - CLOCK_BOOTTIME (late 2026): the collector's
 * offset comes from the clocks, not from the probed process. */
#define FUZZ_BOOT_TO_UNIX_NS 1795619405123456000LL

/* The libFuzzer entry point each target defines. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Print why and abort. */
void __attribute__((noreturn)) fuzz_fail(const char *why, const char *detail);

/*
 * The webhook body built from event is valid UTF-8, parses back as JSON
 * (with cJSON, as receivers written in C do, nesting limit included), and
 * has the four top-level members.
 */
void fuzz_check_event(const cJSON *event);

#endif
