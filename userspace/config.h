/* SPDX-License-Identifier: MIT */
/*
 * The collector's configuration: one JSON file (or the built-in default).
 * Parsing validates everything up front and names the offending key, so a
 * config that loads is one the collector can run.
 */
#ifndef PROBEHOOK_CONFIG_H
#define PROBEHOOK_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "breaker.h"
#include "retry.h"
#include "sign.h"
#include "spool.h"

#define CONFIG_MAX_SECRETS 4
#define CONFIG_CONTROL_SOCKET_DEFAULT "/run/probehook/probehookd.sock"
#define CONFIG_CONTROL_SOCKET_MAX 108 /* sun_path */
#define CONFIG_MAX_HEADERS 32
#define CONFIG_MAX_IN_FLIGHT_DEFAULT 32 /* an endpoint's max_in_flight when unset */

struct config_target {
	char *path;  /* absolute path of an executable or shared library */
	int pid;     /* -1: every process mapping path, now and later */
};

/* A list of event-type or agent patterns: "*", "prefix.*" or an exact name. */
struct config_patterns {
	char **items;
	size_t count;
};

struct config_endpoint {
	char *id;
	char *url;                     /* http:// or https:// */
	/* from "secret"/"secrets", then "secret_file", then "secret_env" */
	struct sign_key secrets[CONFIG_MAX_SECRETS];
	size_t secret_count;           /* >= 1 */
	struct config_patterns events; /* default ["*"] */
	struct config_patterns agents; /* default ["*"] */
	bool allow_private_networks;   /* default false */
	bool ordered;                  /* per agent, one event at a time; default false */
	unsigned int timeout_ms;       /* default 15000 */
	unsigned int max_in_flight;    /* concurrent requests; default 32 */
	unsigned int max_payload_bytes; /* larger bodies get fields truncated; default 256 KiB */
	struct retry_policy retry;     /* "retry", and "max_attempts" overriding it */
	struct breaker_config breaker; /* "breaker", and "disable_after_ms" */
	char *ca_bundle;               /* absolute path, or NULL: the system's CAs */
	char **headers;                /* "Name: value" lines; values are secrets */
	size_t header_count;
};

struct config_agent {
	char *agent_id;
	bool webhook_enabled;
	struct config_patterns events; /* webhook_events; default ["*"] */
};

struct config {
	struct config_target *targets;
	size_t target_count;
	struct config_endpoint *endpoints;
	size_t endpoint_count;
	struct config_agent *agents;
	size_t agent_count;
	struct config_agent default_agent; /* agent_id NULL; default disabled */
	unsigned int max_arg_bytes;        /* per string argument; PH_ARG_CAP_* */
	unsigned int ring_buffer_bytes;    /* power of two, >= page size */
	unsigned int queue_max;            /* undelivered events held in memory */
	char *control_socket;              /* probehookctl's Unix socket */
	/* bpffs directory for the ring, counters and probe links; NULL: no pinning */
	char *pin_dir;
	/* durability: the spool, dead letters and the attempt log, all in spool_dir */
	char *spool_dir;                   /* absolute */
	uint64_t spool_max_bytes;
	enum spool_fsync spool_fsync;
	unsigned int spool_fsync_interval_ms; /* batch: how often to call spool_sync() */
	enum spool_full_policy spool_full_policy;
	uint64_t dead_letter_max_bytes;
	uint64_t attempt_log_max_bytes;
	/* things that load but deserve a look, e.g. a group-readable secret
	 * file; one line each, key path first, never a secret */
	char **warnings;
	size_t warning_count;
};

/*
 * Parse a config from JSON text.  Relative target paths are resolved against
 * base_dir (an error when base_dir is NULL).  On error returns a negative
 * errno and writes a one-line message naming the key (like
 * "endpoints[0].url: must start with http:// or https://") into err.
 */
int config_parse(const char *json, const char *base_dir, struct config *cfg, char *err,
		 size_t err_size);
/* Read and parse a file; relative paths are relative to the file's directory;
 * the message names the file. */
int config_load(const char *path, struct config *cfg, char *err, size_t err_size);
/*
 * The built-in default config's JSON text, used when no --config is given:
 * the demo agent and libprobehook.so (relative paths, resolved against the
 * collector's own directory) delivering every event of every agent to the
 * local receiver at http://127.0.0.1:9000/hooks with a demo secret.
 */
const char *config_default_json(void);
void config_free(struct config *cfg);

#endif
