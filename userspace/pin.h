/* SPDX-License-Identifier: MIT */
/*
 * Pinning in bpffs (the pin_dir setting): the ring buffer, the per-probe
 * counters, the per-process sequence numbers and every probe link outlive
 * the collector.  While it restarts the kernel keeps recording into the
 * ring, and the next collector reads on from where the last one stopped.
 *
 * Layout under pin_dir:
 *   events, probe_stats, seqs                 the maps
 *   links/<probe>-<target>-<program>-<n>      one file per kernel link (a
 *                                             USDT attachment is one uprobe
 *                                             link per probe site)
 * <target> names the config target (path and pid), <program> the BPF
 * program and string cap that record through the link: a link made by a
 * different program is replaced, never adopted.
 */
#ifndef PROBEHOOK_PIN_H
#define PROBEHOOK_PIN_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct bpf_map;

#define PIN_KEY_LEN 17 /* 16 hex digits and a NUL */

struct pin {
	char dir[PATH_MAX - NAME_MAX]; /* "" when pinning is off */
	char program[PIN_KEY_LEN + 8]; /* program hash and string cap */
	int lock_fd;                   /* dir, flock()ed: one collector per pinned ring */
};

/* The bpf_link file descriptors open in this process, to tell which ones an
 * attach call made. */
struct pin_fds {
	int *fds;
	size_t count;
};

/* Off when dir is NULL or empty.  Otherwise dir must be on a bpf file
 * system; it and dir/links are made (0700) if missing, and dir is locked:
 * a second collector on it is refused (-EBUSY). */
int pin_open(struct pin *p, const char *dir, const void *program, size_t program_size,
	     unsigned int arg_cap);
/* Unlocks; the pins stay. */
void pin_close(struct pin *p);
static inline bool pin_enabled(const struct pin *p)
{
	return p->dir[0] != '\0';
}
/* Before load: reuse each map pinned under dir, or pin it there.  A pinned
 * map of another shape (another build, another ring_buffer_bytes) is an
 * error naming it. */
int pin_maps(const struct pin *p, struct bpf_map *const *maps, size_t count);
void pin_target_key(pid_t pid, const char *path, char out[PIN_KEY_LEN]);

int pin_link_fds(struct pin_fds *out);
void pin_fds_free(struct pin_fds *fds);
/* Pin every bpf_link fd open now that was not in before; returns how many. */
int pin_new_links(const struct pin *p, const struct pin_fds *before, const char *probe,
		  const char *target_key);
/* Whether links this program made for probe on target are pinned. */
bool pin_has_links(const struct pin *p, const char *probe, const char *target_key);
/*
 * Unpin (and so detach, unless this process still holds them) every pinned
 * link that keep() rejects or that another program made.  Returns how many.
 */
typedef bool (*pin_keep_fn)(void *ctx, const char *probe, const char *target_key);
int pin_sweep(const struct pin *p, pin_keep_fn keep, void *ctx);

#endif
