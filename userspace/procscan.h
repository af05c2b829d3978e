/* SPDX-License-Identifier: MIT */
/* Which running processes map a file: discovery for status, by /proc/PID/maps. */
#ifndef PROBEHOOK_PROCSCAN_H
#define PROBEHOOK_PROCSCAN_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Fill pids (up to max) with processes that map the file at path (compared
 * by device and inode, so /proc/PID/root/... paths and bind mounts match).
 * Returns how many were found (may exceed max), or a negative errno.
 */
int procscan_mapping(const char *path, pid_t *pids, size_t max);

#endif
