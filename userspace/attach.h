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
#include "record.h"

struct probehook_bpf;
struct bpf_link;

struct attach {
	struct probehook_bpf *skel;
	/* links[target * PROBEHOOK_EVENT_COUNT + event id], NULL when not attached */
	struct bpf_link **links;
	size_t target_count;
};

/* Open and load the BPF program with the config's caps and ring size. */
int attach_load(struct attach *a, const struct config *cfg);
/* Attach the probes that some subscription wants, on every target.  Fails
 * when a target carries none of the probehook probes. */
int attach_probes(struct attach *a, const struct config *cfg);
/* Detach every probe (their semaphores drop back). */
void attach_detach_all(struct attach *a);
void attach_unload(struct attach *a);

int attach_ring_fd(const struct attach *a);
bool attach_is_attached(const struct attach *a, unsigned int event_id);
/* Sum the per-CPU counters of every probe. */
int attach_read_stats(const struct attach *a, struct ph_probe_stats stats[PROBEHOOK_EVENT_COUNT]);

#endif
