// SPDX-License-Identifier: MIT
#include "procscan.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

/* maps lines: "start-end perms offset major:minor inode path" */
static bool maps_have(pid_t pid, dev_t dev, ino_t ino)
{
	char path[64], line[4096];
	bool found = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return false; /* gone, or a kernel thread */
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned int major, minor;
		unsigned long long inode;

		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &major, &minor, &inode) == 3)
			found = inode == (unsigned long long)ino && makedev(major, minor) == dev;
	}
	fclose(f);
	return found;
}

int procscan_mapping(const char *path, pid_t *pids, size_t max)
{
	struct dirent *entry;
	struct stat st;
	int count = 0;
	DIR *proc;

	if (stat(path, &st))
		return -errno;
	proc = opendir("/proc");
	if (!proc)
		return -errno;
	while ((entry = readdir(proc))) {
		pid_t pid;

		if (!isdigit((unsigned char)entry->d_name[0]))
			continue;
		pid = (pid_t)strtol(entry->d_name, NULL, 10);
		if (!maps_have(pid, st.st_dev, st.st_ino))
			continue;
		if ((size_t)count < max)
			pids[count] = pid;
		count++;
	}
	closedir(proc);
	return count;
}
