// SPDX-License-Identifier: MIT
/*
 * ring_reader: the ring buffer alone, without the collector's event work.
 *
 * Loads probehookd's own BPF program (the same skeleton, caps and ring
 * size), attaches it to agent.step.completed in --target, and drains the
 * ring with a reader that only counts records and checks their sequence
 * numbers -- the transport's ceiling, to compare with what probehookd
 * (decode, build the event JSON, match) sustains.  The BPF side
 * rate-limits wake-ups, so the reader also polls every millisecond.
 *
 * Prints "attached" on stderr when ready; on SIGINT/SIGTERM prints one JSON
 * object: records, probe hits, ring drops, sequence gaps.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <probehook/libprobehook.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bench_common.h"
#include "probehook.skel.h"
#include "record.h"

static volatile sig_atomic_t stop;

struct counts {
	uint64_t records, gaps, last_seq;
};

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct counts *c = ctx;
	const struct ph_record *rec = data;

	if (size < sizeof(*rec))
		return 0;
	c->records++;
	if (c->last_seq && rec->seq != c->last_seq + 1)
		c->gaps++;
	c->last_seq = rec->seq;
	return 0;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list args)
{
	return level == LIBBPF_WARN ? vfprintf(stderr, fmt, args) : 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "target", required_argument, NULL, 't' },
		{ "ring-bytes", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	LIBBPF_OPTS(bpf_usdt_opts, opts, .usdt_cookie = PROBEHOOK_ID_AGENT_STEP_COMPLETED);
	unsigned long long ring_bytes = 4 << 20;
	struct counts counts = { 0 };
	struct probehook_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *link;
	const char *target = NULL;
	uint64_t hits = 0, drops = 0;
	int opt, ncpu, fd;

	while ((opt = getopt_long(argc, argv, "t:r:h", options, NULL)) != -1) {
		switch (opt) {
		case 't': target = optarg; break;
		case 'r': ring_bytes = bench_ull(optarg, "--ring-bytes"); break;
		case 'h': printf("usage: ring_reader --target BINARY [--ring-bytes N]\n"); return 0;
		default: return 2;
		}
	}
	if (!target) {
		fprintf(stderr, "ring_reader: --target is required\n");
		return 2;
	}
	libbpf_set_print(silent);
	skel = probehook_bpf__open();
	if (!skel)
		return 1;
	skel->rodata->arg_cap = PH_ARG_CAP_DEFAULT;
	if (bpf_map__set_max_entries(skel->maps.events, (__u32)ring_bytes) || probehook_bpf__load(skel)) {
		fprintf(stderr, "ring_reader: cannot load the BPF program\n");
		return 1;
	}
	link = bpf_program__attach_usdt(skel->progs.probehook_fire, -1, target, "probehook",
					"agent__step__completed", &opts);
	rb = ring_buffer__new(bpf_map__fd(skel->maps.events), on_record, &counts, NULL);
	if (!link || !rb) {
		fprintf(stderr, "ring_reader: cannot attach to %s: %s\n", target, strerror(errno));
		return 1;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	fprintf(stderr, "ring_reader: attached\n");
	while (!stop)
		ring_buffer__poll(rb, 1);
	bpf_link__destroy(link);
	ring_buffer__consume(rb);

	ncpu = libbpf_num_possible_cpus();
	fd = bpf_map__fd(skel->maps.probe_stats);
	if (ncpu > 0) {
		struct ph_probe_stats per_cpu[ncpu];
		__u32 key = PROBEHOOK_ID_AGENT_STEP_COMPLETED;

		if (bpf_map_lookup_elem(fd, &key, per_cpu) == 0)
			for (int i = 0; i < ncpu; i++) {
				hits += per_cpu[i].hits;
				drops += per_cpu[i].drops;
			}
	}
	printf("{\"records\": %llu, \"hits\": %llu, \"ring_drops\": %llu, \"seq_gaps\": %llu}\n",
	       (unsigned long long)counts.records, (unsigned long long)hits,
	       (unsigned long long)drops, (unsigned long long)counts.gaps);
	ring_buffer__free(rb);
	probehook_bpf__destroy(skel);
	return 0;
}
