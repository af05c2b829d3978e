/* SPDX-License-Identifier: MIT */
/*
 * The ring-buffer record: the only thing the BPF program and the collector
 * exchange.  Shared verbatim by both sides; fixed-width types only.  Change
 * PH_RECORD_VERSION whenever the layout changes.
 *
 * A record is a struct ph_record followed by the bytes of its string
 * arguments, packed in argument order, each without its NUL.  arg_len[i] is
 * the byte length of string argument i; integer arguments live in
 * arg_int[i] and have arg_len[i] == 0.
 */
#ifndef PROBEHOOK_BPF_RECORD_H
#define PROBEHOOK_BPF_RECORD_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif
#include <probehook/catalog.h>

#define PH_RECORD_VERSION 2
#define PH_COMM_LEN 16

/* Bounds on the per-string cap an operator may set (max_arg_bytes).  The
 * upper bound keeps the sum of every argument's copy inside the BPF scratch
 * area (PH_MAX_ARGS * (PH_ARG_CAP_MAX + 2) <= PH_DATA_MAX). */
#define PH_ARG_CAP_MIN 16
#define PH_ARG_CAP_MAX 2700
#define PH_ARG_CAP_DEFAULT 2048
#define PH_DATA_MAX 16384 /* a power of two: the BPF side masks offsets with it */

/* flags */
#define PH_F_ARG_COUNT_MISMATCH (1u << 0) /* probe site had a different number of args */

struct ph_record {
	__u16 version;
	__u16 probe_id;
	__u16 nargs;
	__u16 data_len;        /* bytes of string data after the header */
	__u32 pid;             /* tgid */
	__u32 tid;
	__u64 boot_ns;         /* CLOCK_BOOTTIME when the probe fired */
	__u64 seq;             /* per-process, from 1; gaps are lost records */
	__u64 lost_before;     /* this process's records lost (ring full) and not yet
				* reported; reported here at most once a second */
	__u32 flags;
	__u8 truncated_mask;   /* bit i: string arg i was cut at the cap */
	__u8 null_mask;        /* bit i: string arg i was a NULL pointer */
	__u8 fault_mask;       /* bit i: string arg i could not be read */
	__u8 reserved;
	char comm[PH_COMM_LEN];
	__u32 arg_len[PROBEHOOK_MAX_ARGS];
	__s64 arg_int[PROBEHOOK_MAX_ARGS];
	char data[];
};

/* Per probe counters, one slot per CPU; the collector sums them. */
struct ph_probe_stats {
	__u64 hits;    /* times the probe fired while attached */
	__u64 drops;   /* records lost because the ring buffer was full */
};

#endif /* PROBEHOOK_BPF_RECORD_H */
