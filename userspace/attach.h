/* SPDX-License-Identifier: MIT */
/*
 * The BPF side of the collector: load the program, attach one USDT link per
 * (target, wanted event type), read the per-probe counters.  Attaching a
 * probe makes libbpf raise its semaphore in every process of the target;
 * detaching lowers it again.
 */
#ifndef PROBEHOOK_ATTACH_H
#define PROBEHOOK_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "pin.h"
#include "record.h"

struct probehook_bpf;
struct bpf_link;

struct attach {
	struct probehook_bpf *skel;
	/* links[target * PROBEHOOK_EVENT_COUNT + event id], NULL when not attached */
	struct bpf_link **links;
	/* same index: attached by a previous collector, its links pinned under pin_dir */
	bool *adopted;
	size_t target_count;
	struct pin pin;
};

/* Open and load the BPF program with the config's caps and ring size. */
int attach_load(struct attach *a, const struct config *cfg);
/*
 * Make the links match wanted[event id] on every target: attach what is
 * wanted and missing, detach what is attached and unwanted.  With strict,
 * a target that carries none of the wanted probes is an error (start-up);
 * otherwise it is logged.  *changed counts links made or destroyed.
 */
int attach_sync(struct attach *a, const struct config *cfg, const bool wanted[PROBEHOOK_EVENT_COUNT],
		bool strict, unsigned int *changed);
/* Follow a reloaded target list: links of targets still present (same path
 * and pid) are kept, links of removed targets destroyed.  Call attach_sync
 * after it to attach what the new targets want. */
int attach_retarget(struct attach *a, const struct config *old_cfg, const struct config *new_cfg);
/* Detach every probe (their semaphores drop back). */
void attach_detach_all(struct attach *a);
void attach_unload(struct attach *a);

int attach_ring_fd(const struct attach *a);
bool attach_is_attached(const struct attach *a, unsigned int event_id);
/* Links of one event on one target (0 or 1). */
bool attach_target_has(const struct attach *a, size_t target, unsigned int event_id);
/* Sum the per-CPU counters of every probe. */
int attach_read_stats(const struct attach *a, struct ph_probe_stats stats[PROBEHOOK_EVENT_COUNT]);

#endif
