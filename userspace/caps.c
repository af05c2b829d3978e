// SPDX-License-Identifier: MIT
#include "caps.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "log.h"

struct cap_sets {
	uint64_t effective, permitted, inheritable;
};

static int caps_get(struct cap_sets *sets)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = { 0 };

	if (syscall(SYS_capget, &header, data))
		return -errno;
	sets->effective = ((uint64_t)data[1].effective << 32) | data[0].effective;
	sets->permitted = ((uint64_t)data[1].permitted << 32) | data[0].permitted;
	sets->inheritable = ((uint64_t)data[1].inheritable << 32) | data[0].inheritable;
	return 0;
}

static int caps_set(const struct cap_sets *sets)
{
	struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)sets->effective, (uint32_t)sets->permitted, (uint32_t)sets->inheritable },
		{ (uint32_t)(sets->effective >> 32), (uint32_t)(sets->permitted >> 32),
		  (uint32_t)(sets->inheritable >> 32) },
	};

	return syscall(SYS_capset, &header, data) ? -errno : 0;
}

static int last_cap(void)
{
	FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "re");
	int last = 40;

	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 40;
		fclose(f);
	}
	return last;
}

int caps_drop_to_kept(void)
{
	const uint64_t kept = CAPS_EFFECTIVE | CAPS_ATTACH;
	struct cap_sets sets;
	int cap, err;

	if ((err = caps_get(&sets)))
		return err;
	/* the bounding set first: dropping from it needs CAP_SETPCAP, which goes next */
	for (cap = 0; cap <= last_cap(); cap++)
		if (!(kept & CAP_BIT(cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) &&
		    errno != EINVAL && errno != EPERM)
			return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		return -errno;
	sets.permitted &= kept;
	sets.effective = sets.permitted & CAPS_EFFECTIVE;
	sets.inheritable = 0;
	if ((err = caps_set(&sets)))
		return err;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -errno;
	log_info("capabilities reduced: effective 0x%llx, permitted 0x%llx",
		 (unsigned long long)sets.effective, (unsigned long long)sets.permitted);
	return 0;
}

int caps_for_attach(int raise)
{
	struct cap_sets sets;
	int err = caps_get(&sets);

	if (err || !(sets.permitted & CAPS_ATTACH))
		return err;
	if (raise)
		sets.effective |= CAPS_ATTACH;
	else
		sets.effective &= ~CAPS_ATTACH;
	return caps_set(&sets);
}
