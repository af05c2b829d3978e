/* SPDX-License-Identifier: MIT */
/* Scratch directories for the storage tests: made under /tmp, emptied and
 * removed at the end.  They hold flat files only. */
#ifndef PROBEHOOK_TEST_TMPDIR_H
#define PROBEHOOK_TEST_TMPDIR_H

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* dir/name into path[PATH_MAX]; 0, or -1 when it does not fit. */
static inline int tmpdir_path(char *path, const char *dir, const char *name)
{
	int n = snprintf(path, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

/* dir must hold PATH_MAX bytes; returns dir, or NULL. */
static inline char *tmpdir_make(char *dir, const char *name)
{
	snprintf(dir, PATH_MAX, "/tmp/%s.XXXXXX", name);
	return mkdtemp(dir);
}

/* Remove every file in dir; keep dir. */
static inline void tmpdir_empty(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *d;
	DIR *dp = opendir(dir);

	while (dp && (d = readdir(dp))) {
		if (d->d_name[0] != '.' && tmpdir_path(path, dir, d->d_name) == 0)
			unlink(path);
	}
	if (dp)
		closedir(dp);
}

static inline void tmpdir_remove(const char *dir)
{
	tmpdir_empty(dir);
	rmdir(dir);
}

/* Files in dir whose names start with prefix and end with suffix. */
static inline int tmpdir_count(const char *dir, const char *prefix, const char *suffix)
{
	struct dirent *d;
	DIR *dp = opendir(dir);
	size_t len;
	int n = 0;

	while (dp && (d = readdir(dp))) {
		len = strlen(d->d_name);
		if (strncmp(d->d_name, prefix, strlen(prefix)) == 0 && len >= strlen(suffix) &&
		    strcmp(d->d_name + len - strlen(suffix), suffix) == 0)
			n++;
	}
	if (dp)
		closedir(dp);
	return n;
}

/* Size of dir/name, or -1. */
static inline long long tmpdir_file_size(const char *dir, const char *name)
{
	char path[PATH_MAX];
	struct stat st;

	if (tmpdir_path(path, dir, name) || stat(path, &st))
		return -1;
	return (long long)st.st_size;
}

#endif
