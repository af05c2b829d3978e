/* SPDX-License-Identifier: MIT */
/*
 * The collector's one context: everything probehookd knows lives here, and
 * every handler (ring buffer, signals, timers, control requests) gets it.
 */
#ifndef PROBEHOOK_COLLECTOR_H
#define PROBEHOOK_COLLECTOR_H

#include <stdint.h>

#include "attach.h"
#include "config.h"
#include "control.h"
#include "deliver.h"
#include "durable.h"
#include "loop.h"
#include "runtime.h"

#define BOOT_ID_LEN 40

struct ring_buffer;

struct collector_counters {
	uint64_t records;        /* read from the ring buffer */
	uint64_t malformed;      /* records that failed to decode */
	uint64_t matched;        /* events that went to at least one endpoint */
	uint64_t unmatched;      /* events no endpoint wanted */
	uint64_t build_failures; /* out of memory building an event */
	uint64_t queue_full;     /* events dropped because queue_max was reached */
	uint64_t fitted;         /* bodies cut to an endpoint's max_payload_bytes */
	uint64_t gaps;           /* loss reports the kernel sent with a record */
	uint64_t gap_records;    /* records those reports say were lost */
};

/* A config replaced by a reload, kept while retired endpoints still use it. */
struct old_config {
	struct config cfg;
	struct old_config *next;
};

struct collector {
	struct config cfg;
	const char *config_path;   /* NULL: the built-in default */
	const char *control_socket_flag; /* --control-socket, overriding the config */
	const char *spool_dir_flag;      /* --spool-dir, overriding the config */
	const char *pin_dir_flag;        /* --pin-dir, overriding the config */
	struct loop loop;
	struct attach bpf;
	struct deliver deliver;
	struct durable durable;
	struct loop_watch sync_watch;   /* fsync batch: syncs the spool on a timer */
	struct control control;
	struct runtime runtime;
	struct old_config *old_configs;
	struct ring_buffer *ring;
	struct loop_watch ring_watch;
	struct loop_watch signal_watch;
	struct loop_watch tick_watch;
	struct loop_watch linger_watch; /* re-reads the ring after a read that found records */
	struct loop_watch revert_watch; /* fires when a timed enable/disable runs out */
	int64_t boot_to_unix_ns;
	char boot_id[BOOT_ID_LEN];
	uint64_t started_ms;
	int stopping;              /* 0 running, 1 draining, 2 stop now */
	uint64_t stop_deadline_ms;
	struct collector_counters n;
	unsigned int ring_batch;   /* records handled in the current ring read */
	char print_buf[16384];     /* an event's body, before it is copied into its payload */
};

/* Attach and detach probes to match the config and the runtime overrides. */
int collector_sync_probes(struct collector *c, bool strict);
/* Re-read the config file; on error keep the running config and say why in err. */
int collector_reload(struct collector *c, char *err, size_t err_size);
/* Arm the revert timer for the next timed override. */
void collector_arm_revert(struct collector *c);

/* The control protocol's requests (commands.c). */
void commands_handle(void *collector, struct control_client *client, const cJSON *request);

#endif
