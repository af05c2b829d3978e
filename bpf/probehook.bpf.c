// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One generic USDT handler for every probehook probe.  The attach cookie is
 * the probe id; the catalog tells which arguments are strings.  Each firing
 * becomes one ring-buffer record (struct ph_record + string bytes), or one
 * counted drop.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>
#include "record.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the collector before load. */
const volatile __u32 arg_cap = PH_ARG_CAP_DEFAULT;
/* Wake the reader early once this many bytes wait in the ring. */
const volatile __u64 wakeup_bytes = 64 * 1024;
/* At most one wake-up per this many ns (see the end of probehook_fire). */
const volatile __u64 wakeup_gap_ns = 200 * 1000;

/* At most one loss report per process per this many ns. */
const volatile __u64 loss_report_gap_ns = 1000 * 1000 * 1000;

/* When the last wake-up was asked for.  Shared by all CPUs without a lock:
 * a lost update costs one wake-up more or one less, never a record. */
__u64 last_wakeup_ns;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by the collector */
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PROBEHOOK_EVENT_COUNT);
	__type(key, __u32);
	__type(value, struct ph_probe_stats);
} probe_stats SEC(".maps");

/* A process's numbering, and what it has lost since it last said so. */
struct seq_state {
	__u64 last;        /* the last sequence number handed out */
	__u64 lost;        /* records lost and not yet reported */
	__u64 reported_ns; /* when a record last carried a loss report */
};

/* Per process (tgid).  The collector may pin this map with the ring, so
 * numbering and loss counts outlive a collector restart. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct seq_state);
} seqs SEC(".maps");

struct scratch {
	char bytes[sizeof(struct ph_record) + PH_DATA_MAX + PH_ARG_CAP_MAX + 2];
};

/* Records are built here, then copied into the ring at their real size. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

#define KIND_ROW(id, NAME, type, probe, k0, f0, k1, f1, k2, f2, k3, f3, k4, f4, k5, f5) \
	[id] = { PROBEHOOK_ARG_##k0, PROBEHOOK_ARG_##k1, PROBEHOOK_ARG_##k2,                  \
		 PROBEHOOK_ARG_##k3, PROBEHOOK_ARG_##k4, PROBEHOOK_ARG_##k5 },
static const __u8 arg_kinds[PROBEHOOK_EVENT_COUNT][PROBEHOOK_MAX_ARGS] = {
	PROBEHOOK_EVENTS(KIND_ROW)
};

static __always_inline struct seq_state *seq_state_of(__u32 pid)
{
	struct seq_state zero = {}, *st;

	st = bpf_map_lookup_elem(&seqs, &pid);
	if (!st) {
		bpf_map_update_elem(&seqs, &pid, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&seqs, &pid);
	}
	return st;
}

SEC("usdt")
int probehook_fire(struct pt_regs *ctx)
{
	__u64 id = bpf_usdt_cookie(ctx);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 key = 0, cap = arg_cap, off = 0;
	struct ph_probe_stats *stats;
	struct seq_state *st;
	struct ph_record *rec;
	struct scratch *s;
	char *data;
	int i, have;

	if (id >= PROBEHOOK_EVENT_COUNT)
		return 0;
	key = id;
	stats = bpf_map_lookup_elem(&probe_stats, &key);
	key = 0;
	s = bpf_map_lookup_elem(&scratch, &key);
	if (!stats || !s)
		return 0;
	rec = (struct ph_record *)s->bytes;
	data = s->bytes + sizeof(*rec);
	stats->hits++;
	if (cap > PH_ARG_CAP_MAX)
		cap = PH_ARG_CAP_MAX;

	__builtin_memset(rec, 0, sizeof(*rec));
	rec->version = PH_RECORD_VERSION;
	rec->probe_id = id;
	rec->pid = pid_tgid >> 32;
	rec->tid = (__u32)pid_tgid;
	rec->boot_ns = bpf_ktime_get_boot_ns();
	/* Taken before the ring is tried, so a drop shows as a gap. */
	st = seq_state_of(rec->pid);
	rec->seq = st ? __sync_fetch_and_add(&st->last, 1) + 1 : 0;
	bpf_get_current_comm(rec->comm, sizeof(rec->comm));

	have = bpf_usdt_arg_cnt(ctx);
#pragma unroll
	for (i = 0; i < PROBEHOOK_MAX_ARGS; i++) {
		__u8 kind = arg_kinds[id][i];
		long value = 0, n;

		if (kind == PROBEHOOK_ARG_NONE)
			break;
		rec->nargs = i + 1;
		if (i >= have || bpf_usdt_arg(ctx, i, &value)) {
			rec->fault_mask |= 1 << i;
			continue;
		}
		if (!PROBEHOOK_ARG_IS_STRING(kind)) {
			rec->arg_int[i] = value;
			continue;
		}
		if (!value) {
			rec->null_mask |= 1 << i;
			continue;
		}
		/* Read one byte past the cap: a string that fills it was cut. */
		n = bpf_probe_read_user_str(&data[off & (PH_DATA_MAX - 1)], cap + 2,
					    (const void *)value);
		if (n <= 0) {
			rec->fault_mask |= 1 << i;
			continue;
		}
		n -= 1; /* the NUL */
		if (n > cap) {
			n = cap;
			rec->truncated_mask |= 1 << i;
		}
		rec->arg_len[i] = n;
		off += n;
	}
	if (have != rec->nargs)
		rec->flags |= PH_F_ARG_COUNT_MISMATCH;
	off &= PH_DATA_MAX - 1; /* never changes it: at most 6 caps fit */
	rec->data_len = off;

	/*
	 * Batch wake-ups: wake the reader when the ring was empty (it may be
	 * asleep) or has filled past the threshold; otherwise it is already
	 * busy draining, and a wake-up per record would cost more than the copy.
	 * A reader that keeps up finds the ring empty at every record, so wake
	 * it at most once per wakeup_gap_ns: a wake-up is an irq_work self-IPI,
	 * several µs of the probed thread's time in a VM.  A record left
	 * without one is picked up by the collector's linger poll, which
	 * follows every read that found records.
	 */
	__u64 queued = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA);
	__u64 flags = BPF_RB_NO_WAKEUP;

	if ((queued == 0 || queued >= wakeup_bytes) &&
	    rec->boot_ns - last_wakeup_ns >= wakeup_gap_ns) {
		flags = BPF_RB_FORCE_WAKEUP;
		last_wakeup_ns = rec->boot_ns;
	}

	/*
	 * Losses travel in the ring with the process's next record, so the
	 * report survives a collector restart exactly as the record does.  At
	 * most one report a second per process: a ring that stays full would
	 * otherwise put a report on nearly every record that fits.
	 */
	if (st && st->lost && rec->boot_ns - st->reported_ns >= loss_report_gap_ns)
		rec->lost_before = __sync_lock_test_and_set(&st->lost, 0);

	if (bpf_ringbuf_output(&events, rec, sizeof(*rec) + off, flags)) {
		stats->drops++;
		if (st)
			__sync_fetch_and_add(&st->lost, rec->lost_before + 1);
	} else if (st && rec->lost_before) {
		st->reported_ns = rec->boot_ns;
	}
	return 0;
}
