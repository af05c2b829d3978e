// SPDX-License-Identifier: MIT
#include "attach.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "catalog.h"
#include "log.h"
#include "pin.h"
#include "probehook.skel.h"

#define PROVIDER "probehook"

static int libbpf_log(enum libbpf_print_level level, const char *fmt, va_list args)
{
	char line[1024];
	size_t len;

	vsnprintf(line, sizeof(line), fmt, args);
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	if (level == LIBBPF_WARN)
		log_warn("libbpf: %s", line);
	else
		log_debug("libbpf: %s", line);
	return 0;
}

/* With pin_dir, the maps that carry state across a restart live in bpffs. */
static int setup_pinning(struct attach *a, const struct config *cfg)
{
	struct bpf_map *const maps[] = { a->skel->maps.events, a->skel->maps.probe_stats,
					 a->skel->maps.seqs };
	size_t program_size;
	const void *program = probehook_bpf__elf_bytes(&program_size);
	int err = pin_open(&a->pin, cfg->pin_dir, program, program_size, cfg->max_arg_bytes);

	return err ? err : pin_maps(&a->pin, maps, sizeof(maps) / sizeof(maps[0]));
}

int attach_load(struct attach *a, const struct config *cfg)
{
	int err;

	memset(a, 0, sizeof(*a));
	a->pin.lock_fd = -1;
	libbpf_set_print(libbpf_log);
	a->skel = probehook_bpf__open();
	if (!a->skel) {
		err = -errno;
		log_error("cannot open the BPF program: %s", strerror(-err));
		return err;
	}
	a->skel->rodata->arg_cap = cfg->max_arg_bytes;
	err = bpf_map__set_max_entries(a->skel->maps.events, cfg->ring_buffer_bytes);
	if (err)
		goto fail;
	err = setup_pinning(a, cfg);
	if (err)
		goto fail;
	err = probehook_bpf__load(a->skel);
	if (err) {
		log_error("cannot load the BPF program: %s (are we root, with BTF in the kernel?)",
			  strerror(-err));
		goto fail;
	}
	if (pin_enabled(&a->pin))
		log_info("pin_dir %s: the ring buffer, counters and probe links stay in the kernel "
			 "across restarts", a->pin.dir);
	a->target_count = cfg->target_count;
	a->links = calloc(cfg->target_count * PROBEHOOK_EVENT_COUNT, sizeof(*a->links));
	a->adopted = calloc(cfg->target_count * PROBEHOOK_EVENT_COUNT, sizeof(*a->adopted));
	if (!a->links || !a->adopted) {
		err = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	attach_unload(a);
	return err;
}

static void target_key(const struct config_target *target, char key[PIN_KEY_LEN])
{
	pin_target_key(target->pid, target->path, key);
}

/* One USDT attachment; with pinning, its uprobe links are pinned too. */
static struct bpf_link *attach_one(struct attach *a, const struct config_target *target,
				   unsigned int id, const char *key)
{
	const struct catalog_event *ev = catalog_by_id(id);
	LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = id);
	struct pin_fds before = { 0 };
	struct bpf_link *link;
	int err;

	if (pin_enabled(&a->pin) && (err = pin_link_fds(&before))) {
		errno = -err;
		return NULL;
	}
	link = bpf_program__attach_usdt(a->skel->progs.probehook_fire, target->pid, target->path,
					PROVIDER, ev->probe, &opts);
	if (link && pin_enabled(&a->pin))
		pin_new_links(&a->pin, &before, ev->probe, key);
	pin_fds_free(&before);
	return link;
}

/*
 * A link pinned by the previous collector (same program, same target) is
 * adopted as it is: it never stopped recording, and attaching a second one
 * would record every firing twice.
 */
static bool adopt_pinned(struct attach *a, size_t slot, unsigned int id, const char *key)
{
	if (!pin_has_links(&a->pin, catalog_by_id(id)->probe, key))
		return false;
	a->adopted[slot] = true;
	return true;
}

static int attach_target(struct attach *a, const struct config *cfg, size_t t,
			 const bool wanted[PROBEHOOK_EVENT_COUNT], bool strict, unsigned int *changed)
{
	const struct config_target *target = &cfg->targets[t];
	unsigned int id, attached = 0, want = 0, adopted = 0, before = *changed;
	char key[PIN_KEY_LEN];
	int missing_err = 0;

	target_key(target, key);
	for (id = 0; id < PROBEHOOK_EVENT_COUNT; id++) {
		size_t slot = t * PROBEHOOK_EVENT_COUNT + id;

		if (!wanted[id]) {
			if (a->links[slot] || a->adopted[slot]) {
				bpf_link__destroy(a->links[slot]);
				a->links[slot] = NULL;
				a->adopted[slot] = false; /* its pins go in the sweep */
				(*changed)++;
			}
			continue;
		}
		want++;
		if (a->links[slot] || a->adopted[slot]) {
			attached++;
			continue;
		}
		if (adopt_pinned(a, slot, id, key)) {
			attached++;
			adopted++;
			continue;
		}
		a->links[slot] = attach_one(a, target, id, key);
		if (!a->links[slot]) {
			missing_err = -errno;
			log_debug("targets[%zu] %s: probe %s not attached: %s", t, target->path,
				  catalog_by_id(id)->probe, strerror(-missing_err));
			continue;
		}
		attached++;
		(*changed)++;
	}
	if (want && !attached) {
		log_msg(strict ? LOG_ERROR : LOG_WARN,
			"targets[%zu].path: %s: no probehook USDT probe could be attached (%s)", t,
			target->path, strerror(-missing_err));
		if (strict)
			return missing_err ? missing_err : -ENOENT;
	}
	if (adopted)
		log_info("targets[%zu] %s: %u probes kept recording while the collector was away "
			 "(pinned links adopted)", t, target->path, adopted);
	if (strict || *changed != before)
		log_info("targets[%zu] %s%s: %u of %u wanted probes attached", t, target->path,
			 target->pid > 0 ? " (one pid)" : "", attached, want);
	return 0;
}

struct keep_ctx {
	const struct attach *a;
	const struct config *cfg;
};

/* A pinned link stays while its slot is attached (by us or adopted). */
static bool keep_pinned(void *ctx, const char *probe, const char *key)
{
	const struct keep_ctx *k = ctx;
	const struct catalog_event *ev = catalog_by_probe(probe);
	char mine[PIN_KEY_LEN];

	if (!ev)
		return false;
	for (size_t t = 0; t < k->a->target_count; t++) {
		size_t slot = t * PROBEHOOK_EVENT_COUNT + ev->id;

		target_key(&k->cfg->targets[t], mine);
		if (strcmp(mine, key) == 0 && (k->a->links[slot] || k->a->adopted[slot]))
			return true;
	}
	return false;
}

int attach_sync(struct attach *a, const struct config *cfg, const bool wanted[PROBEHOOK_EVENT_COUNT],
		bool strict, unsigned int *changed)
{
	struct keep_ctx keep = { a, cfg };
	int removed;

	*changed = 0;
	for (size_t t = 0; t < cfg->target_count; t++) {
		int err = attach_target(a, cfg, t, wanted, strict, changed);

		if (err)
			return err;
	}
	/* after attaching: a replaced link goes only once its successor records */
	removed = pin_sweep(&a->pin, keep_pinned, &keep);
	if (removed > 0)
		log_info("pin_dir %s: %d pinned links no longer wanted were unpinned", a->pin.dir,
			 removed);
	return 0;
}

static bool same_target(const struct config_target *a, const struct config_target *b)
{
	return a->pid == b->pid && strcmp(a->path, b->path) == 0;
}

int attach_retarget(struct attach *a, const struct config *old_cfg, const struct config *new_cfg)
{
	size_t slots = new_cfg->target_count * PROBEHOOK_EVENT_COUNT, row = PROBEHOOK_EVENT_COUNT;
	struct bpf_link **links = calloc(slots, sizeof(*links));
	bool *adopted = calloc(slots, sizeof(*adopted));

	if (!links || !adopted) {
		free(links);
		free(adopted);
		return -ENOMEM;
	}
	for (size_t t = 0; t < new_cfg->target_count; t++) {
		for (size_t o = 0; o < old_cfg->target_count; o++) {
			if (!same_target(&new_cfg->targets[t], &old_cfg->targets[o]))
				continue;
			memcpy(&links[t * row], &a->links[o * row], row * sizeof(*links));
			memcpy(&adopted[t * row], &a->adopted[o * row], row * sizeof(*adopted));
			memset(&a->links[o * row], 0, row * sizeof(*links));
			break;
		}
	}
	attach_detach_all(a); /* what is left belongs to removed targets; the sync sweeps its pins */
	free(a->links);
	free(a->adopted);
	a->links = links;
	a->adopted = adopted;
	a->target_count = new_cfg->target_count;
	return 0;
}

void attach_detach_all(struct attach *a)
{
	if (!a->links)
		return;
	for (size_t i = 0; i < a->target_count * PROBEHOOK_EVENT_COUNT; i++) {
		bpf_link__destroy(a->links[i]);
		a->links[i] = NULL;
		a->adopted[i] = false;
	}
}

void attach_unload(struct attach *a)
{
	attach_detach_all(a);
	free(a->links);
	free(a->adopted);
	a->links = NULL;
	a->adopted = NULL;
	probehook_bpf__destroy(a->skel);
	a->skel = NULL;
	pin_close(&a->pin);
}

int attach_ring_fd(const struct attach *a)
{
	return bpf_map__fd(a->skel->maps.events);
}

bool attach_target_has(const struct attach *a, size_t target, unsigned int event_id)
{
	size_t slot = target * PROBEHOOK_EVENT_COUNT + event_id;

	return a->links[slot] || a->adopted[slot];
}

bool attach_is_attached(const struct attach *a, unsigned int event_id)
{
	for (size_t t = 0; t < a->target_count; t++)
		if (attach_target_has(a, t, event_id))
			return true;
	return false;
}

int attach_read_stats(const struct attach *a, struct ph_probe_stats stats[PROBEHOOK_EVENT_COUNT])
{
	int ncpu = libbpf_num_possible_cpus();
	int fd = bpf_map__fd(a->skel->maps.probe_stats);
	struct ph_probe_stats *per_cpu;
	int err = 0;

	if (ncpu <= 0)
		return ncpu ? ncpu : -EINVAL;
	per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
	if (!per_cpu)
		return -ENOMEM;
	for (__u32 id = 0; id < PROBEHOOK_EVENT_COUNT; id++) {
		memset(&stats[id], 0, sizeof(stats[id]));
		if (bpf_map_lookup_elem(fd, &id, per_cpu)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++) {
			stats[id].hits += per_cpu[c].hits;
			stats[id].drops += per_cpu[c].drops;
		}
	}
	free(per_cpu);
	return err;
}
