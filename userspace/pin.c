// SPDX-License-Identifier: MIT
#include "pin.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "log.h"

#define LINK_FD_TARGET "anon_inode:bpf_link"

static uint64_t fnv1a(uint64_t h, const void *data, size_t size)
{
	const unsigned char *b = data;

	for (size_t i = 0; i < size; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static int make_dir(const char *path)
{
	if (mkdir(path, 0700) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

/* dir, or the directory it would be made in, is on a bpf file system. */
static int check_bpffs(const char *dir)
{
	char parent[PATH_MAX];
	struct statfs fs;
	char *slash;

	if (statfs(dir, &fs)) {
		if (errno != ENOENT)
			return -errno;
		/* not made yet: look where it would be */
		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (!slash)
			return -EINVAL;
		slash[slash == parent] = '\0'; /* "/x" -> "/" */
		if (statfs(parent, &fs))
			return -errno;
	}
	return fs.f_type == BPF_FS_MAGIC ? 0 : -ENOTSUP;
}

int pin_open(struct pin *p, const char *dir, const void *program, size_t program_size,
	     unsigned int arg_cap)
{
	char links[sizeof(p->dir) + 8];
	int err;

	memset(p, 0, sizeof(*p));
	p->lock_fd = -1;
	if (!dir || !dir[0])
		return 0;
	if (dir[0] != '/' || strlen(dir) >= sizeof(p->dir)) {
		log_error("pin_dir %s: must be an absolute path shorter than %zu bytes", dir,
			  sizeof(p->dir));
		return -EINVAL;
	}
	snprintf(links, sizeof(links), "%s/links", dir);
	err = check_bpffs(dir);
	if (!err && !(err = make_dir(dir)))
		err = make_dir(links);
	if (err) {
		log_error("pin_dir %s: %s (mount -t bpf bpf /sys/fs/bpf)", dir,
			  err == -ENOTSUP ? "not on a bpf file system" : strerror(-err));
		return err;
	}
	/* two readers of one ring would each see part of it */
	p->lock_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (p->lock_fd < 0 || flock(p->lock_fd, LOCK_EX | LOCK_NB)) {
		err = errno == EWOULDBLOCK ? -EBUSY : -errno;
		log_error("pin_dir %s: %s", dir, err == -EBUSY ? "in use by another probehookd" :
								 strerror(-err));
		pin_close(p);
		return err;
	}
	strcpy(p->dir, dir);
	snprintf(p->program, sizeof(p->program), "%016" PRIx64 "c%u",
		 fnv1a(0xcbf29ce484222325ULL, program, program_size), arg_cap);
	return 0;
}

void pin_close(struct pin *p)
{
	if (p->lock_fd >= 0)
		close(p->lock_fd);
	p->lock_fd = -1;
	p->dir[0] = '\0';
}

/* The pinned map at path, if any, must have the shape this program expects. */
static int check_pinned_map(const char *path, const struct bpf_map *map)
{
	struct bpf_map_info info = { 0 };
	__u32 len = sizeof(info);
	int fd = bpf_obj_get(path), err = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		err = -errno;
	} else if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
		   info.value_size != bpf_map__value_size(map) ||
		   info.max_entries != bpf_map__max_entries(map)) {
		log_error("pin_dir: %s was pinned by another probehook build or config "
			  "(%u entries of %u bytes here, %u of %u there; ring_buffer_bytes "
			  "changed?): remove it to start afresh, losing what it holds",
			  path, bpf_map__max_entries(map), bpf_map__value_size(map),
			  info.max_entries, info.value_size);
		err = -EEXIST;
	}
	close(fd);
	return err;
}

int pin_maps(const struct pin *p, struct bpf_map *const *maps, size_t count)
{
	char path[PATH_MAX];
	int err;

	if (!pin_enabled(p))
		return 0;
	for (size_t i = 0; i < count; i++) {
		snprintf(path, sizeof(path), "%s/%s", p->dir, bpf_map__name(maps[i]));
		err = check_pinned_map(path, maps[i]);
		if (!err)
			err = bpf_map__set_pin_path(maps[i], path);
		if (err) {
			if (err != -EEXIST)
				log_error("pin_dir: %s: %s", path, strerror(-err));
			return err;
		}
	}
	return 0;
}

void pin_target_key(pid_t pid, const char *path, char out[PIN_KEY_LEN])
{
	uint64_t h = fnv1a(0xcbf29ce484222325ULL, &pid, sizeof(pid));

	h = fnv1a(h, path, strlen(path));
	snprintf(out, PIN_KEY_LEN, "%016" PRIx64, h);
}

static bool is_link_fd(int fd)
{
	char proc[64], target[sizeof(LINK_FD_TARGET) + 1];
	ssize_t n;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	n = readlink(proc, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return strcmp(target, LINK_FD_TARGET) == 0;
}

int pin_link_fds(struct pin_fds *out)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t cap = 0;
	int err = 0;

	out->fds = NULL;
	out->count = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] == '.' || fd == dirfd(d) || !is_link_fd(fd))
			continue;
		if (out->count == cap) {
			int *grown = realloc(out->fds, (cap = cap ? 2 * cap : 16) * sizeof(int));

			if (!grown) {
				err = -ENOMEM;
				break;
			}
			out->fds = grown;
		}
		out->fds[out->count++] = fd;
	}
	closedir(d);
	if (err)
		pin_fds_free(out);
	return err;
}

void pin_fds_free(struct pin_fds *fds)
{
	free(fds->fds);
	fds->fds = NULL;
	fds->count = 0;
}

static bool fds_has(const struct pin_fds *fds, int fd)
{
	for (size_t i = 0; i < fds->count; i++)
		if (fds->fds[i] == fd)
			return true;
	return false;
}

int pin_new_links(const struct pin *p, const struct pin_fds *before, const char *probe,
		  const char *target_key)
{
	struct pin_fds now;
	char path[PATH_MAX];
	unsigned int n = 0;
	int err = pin_link_fds(&now), pinned = 0;

	if (err)
		return err;
	for (size_t i = 0; i < now.count; i++) {
		if (fds_has(before, now.fds[i]))
			continue;
		do
			snprintf(path, sizeof(path), "%s/links/%s-%s-%s-%u", p->dir, probe,
				 target_key, p->program, n++);
		while ((err = bpf_obj_pin(now.fds[i], path)) && errno == EEXIST);
		if (err) {
			err = -errno;
			log_warn("pin_dir: cannot pin a link of %s at %s: %s (it detaches when "
				 "the collector stops)", probe, path, strerror(-err));
			continue;
		}
		pinned++;
	}
	pin_fds_free(&now);
	return pinned;
}

/* "probe-target-program-n" (bpffs refuses dots in names): splits name in place. */
static bool split_link_name(char *name, char **probe, char **target, char **program)
{
	char *sep1 = strchr(name, '-'), *sep2, *sep3;

	if (!sep1 || !(sep2 = strchr(sep1 + 1, '-')) || !(sep3 = strchr(sep2 + 1, '-')))
		return false;
	*sep1 = *sep2 = *sep3 = '\0';
	*probe = name;
	*target = sep1 + 1;
	*program = sep2 + 1;
	return true;
}

/* Calls fn for every pinned link until it returns non-zero. */
static int each_link(const struct pin *p, int (*fn)(int dirfd, const char *file, char *probe,
						    char *target, char *program, void *ctx),
		     void *ctx)
{
	char path[PATH_MAX], name[NAME_MAX + 1];
	char *probe, *target, *program;
	struct dirent *de;
	int rc = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/links", p->dir);
	if (!(d = opendir(path)))
		return -errno;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(name, sizeof(name), "%s", de->d_name);
		if (!split_link_name(name, &probe, &target, &program))
			continue; /* not ours: left alone */
		rc = fn(dirfd(d), de->d_name, probe, target, program, ctx);
	}
	closedir(d);
	return rc;
}

struct find_ctx {
	const struct pin *p;
	const char *probe, *target;
};

static int find_one(int dirfd, const char *file, char *probe, char *target, char *program,
		    void *ctx)
{
	const struct find_ctx *f = ctx;

	(void)dirfd;
	(void)file;
	return strcmp(probe, f->probe) == 0 && strcmp(target, f->target) == 0 &&
	       strcmp(program, f->p->program) == 0;
}

bool pin_has_links(const struct pin *p, const char *probe, const char *target_key)
{
	struct find_ctx f = { p, probe, target_key };

	return pin_enabled(p) && each_link(p, find_one, &f) == 1;
}

struct sweep_ctx {
	const struct pin *p;
	pin_keep_fn keep;
	void *ctx;
	int removed;
};

static int sweep_one(int dirfd, const char *file, char *probe, char *target, char *program,
		     void *ctx)
{
	struct sweep_ctx *s = ctx;

	if (strcmp(program, s->p->program) == 0 && s->keep(s->ctx, probe, target))
		return 0;
	if (unlinkat(dirfd, file, 0) == 0)
		s->removed++;
	else
		log_warn("pin_dir: cannot unpin %s/links/%s: %s", s->p->dir, file, strerror(errno));
	return 0;
}

int pin_sweep(const struct pin *p, pin_keep_fn keep, void *ctx)
{
	struct sweep_ctx s = { p, keep, ctx, 0 };
	int err;

	if (!pin_enabled(p))
		return 0;
	err = each_link(p, sweep_one, &s);
	return err ? err : s.removed;
}
