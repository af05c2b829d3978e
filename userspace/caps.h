/* SPDX-License-Identifier: MIT */
/*
 * Least privilege: once the collector is set up it keeps only what attaching
 * probes at runtime still needs, and can never regain the rest.
 */
#ifndef PROBEHOOK_CAPS_H
#define PROBEHOOK_CAPS_H

#include <stdint.h>

#define CAP_BIT(n) (1ull << (n))
/*
 * Effective after start-up: CAP_BPF (39) and CAP_PERFMON (38) for maps and
 * links, CAP_SYS_RESOURCE (24) for locked memory on older kernels,
 * CAP_SYS_PTRACE (19) and CAP_DAC_READ_SEARCH (2) to reach other
 * containers' binaries through /proc/PID/root.
 */
#define CAPS_EFFECTIVE (CAP_BIT(39) | CAP_BIT(38) | CAP_BIT(24) | CAP_BIT(19) | CAP_BIT(2))
/*
 * Permitted but not effective: CAP_SYS_ADMIN (21), which creating a uprobe
 * perf event needs on the kernels we run on (CAP_PERFMON alone gets EACCES).
 * It is raised only around attaching a probe.
 */
#define CAPS_ATTACH CAP_BIT(21)

/* Drop every capability but those two sets, from every set (ambient and
 * bounding too), and set no_new_privs. */
int caps_drop_to_kept(void);
/* Raise or lower CAPS_ATTACH in the effective set (no-op if not permitted). */
int caps_for_attach(int raise);

#endif
