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

int attach_load(struct attach *a, const struct config *cfg)
{
	int err;

	memset(a, 0, sizeof(*a));
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
	err = probehook_bpf__load(a->skel);
	if (err) {
		log_error("cannot load the BPF program: %s (are we root, with BTF in the kernel?)",
			  strerror(-err));
		goto fail;
	}
	a->target_count = cfg->target_count;
	a->links = calloc(cfg->target_count * PROBEHOOK_EVENT_COUNT, sizeof(*a->links));
	if (!a->links) {
		err = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	attach_unload(a);
	return err;
}

static int attach_target(struct attach *a, const struct config *cfg, size_t t,
			 const bool wanted[PROBEHOOK_EVENT_COUNT], bool strict, unsigned int *changed)
{
	const struct config_target *target = &cfg->targets[t];
	unsigned int id, attached = 0, want = 0, before = *changed;
	int missing_err = 0;

	for (id = 0; id < PROBEHOOK_EVENT_COUNT; id++) {
		const struct catalog_event *ev = catalog_by_id(id);
		LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = id);
		struct bpf_link **slot = &a->links[t * PROBEHOOK_EVENT_COUNT + id];

		if (!wanted[id]) {
			if (*slot) {
				bpf_link__destroy(*slot);
				*slot = NULL;
				(*changed)++;
			}
			continue;
		}
		want++;
		if (*slot) {
			attached++;
			continue;
		}
		*slot = bpf_program__attach_usdt(a->skel->progs.probehook_fire, target->pid,
						 target->path, PROVIDER, ev->probe, &opts);
		if (!*slot) {
			missing_err = -errno;
			log_debug("targets[%zu] %s: probe %s not attached: %s", t, target->path,
				  ev->probe, strerror(-missing_err));
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
	if (strict || *changed != before)
		log_info("targets[%zu] %s%s: %u of %u wanted probes attached", t, target->path,
			 target->pid > 0 ? " (one pid)" : "", attached, want);
	return 0;
}

int attach_sync(struct attach *a, const struct config *cfg, const bool wanted[PROBEHOOK_EVENT_COUNT],
		bool strict, unsigned int *changed)
{
	*changed = 0;
	for (size_t t = 0; t < cfg->target_count; t++) {
		int err = attach_target(a, cfg, t, wanted, strict, changed);

		if (err)
			return err;
	}
	return 0;
}

static bool same_target(const struct config_target *a, const struct config_target *b)
{
	return a->pid == b->pid && strcmp(a->path, b->path) == 0;
}

int attach_retarget(struct attach *a, const struct config *old_cfg, const struct config *new_cfg)
{
	struct bpf_link **links = calloc(new_cfg->target_count * PROBEHOOK_EVENT_COUNT,
					 sizeof(*links));

	if (!links)
		return -ENOMEM;
	for (size_t t = 0; t < new_cfg->target_count; t++) {
		for (size_t o = 0; o < old_cfg->target_count; o++) {
			if (!same_target(&new_cfg->targets[t], &old_cfg->targets[o]))
				continue;
			memcpy(&links[t * PROBEHOOK_EVENT_COUNT], &a->links[o * PROBEHOOK_EVENT_COUNT],
			       PROBEHOOK_EVENT_COUNT * sizeof(*links));
			memset(&a->links[o * PROBEHOOK_EVENT_COUNT], 0,
			       PROBEHOOK_EVENT_COUNT * sizeof(*links));
			break;
		}
	}
	attach_detach_all(a); /* what is left belongs to removed targets */
	free(a->links);
	a->links = links;
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
	}
}

void attach_unload(struct attach *a)
{
	attach_detach_all(a);
	free(a->links);
	a->links = NULL;
	probehook_bpf__destroy(a->skel);
	a->skel = NULL;
}

int attach_ring_fd(const struct attach *a)
{
	return bpf_map__fd(a->skel->maps.events);
}

bool attach_target_has(const struct attach *a, size_t target, unsigned int event_id)
{
	return a->links[target * PROBEHOOK_EVENT_COUNT + event_id] != NULL;
}

bool attach_is_attached(const struct attach *a, unsigned int event_id)
{
	for (size_t t = 0; t < a->target_count; t++)
		if (a->links[t * PROBEHOOK_EVENT_COUNT + event_id])
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
