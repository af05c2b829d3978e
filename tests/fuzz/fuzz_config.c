// SPDX-License-Identifier: MIT
/*
 * Arbitrary bytes as a config file: config_parse either accepts them with
 * every invariant the collector relies on, or refuses them with a one-line
 * message, and never leaks what it allocated on the way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fuzz_check.h"

/* Relative target paths resolve against this directory, which holds one
 * probed program, "agent", so that inputs can get past target checks. */
static char base_dir[] = "/tmp/probehook-fuzz-config.XXXXXX";
static char agent_path[sizeof(base_dir) + 8];

static void remove_base_dir(void)
{
	unlink(agent_path);
	rmdir(base_dir);
}

static void make_base_dir(void)
{
	FILE *f;

	if (!mkdtemp(base_dir))
		fuzz_fail("mkdtemp", base_dir);
	snprintf(agent_path, sizeof(agent_path), "%s/agent", base_dir);
	f = fopen(agent_path, "w");
	if (!f || fputs("#!/bin/sh\n", f) < 0 || fclose(f))
		fuzz_fail("cannot create", agent_path);
	atexit(remove_base_dir);
}

static void check_config(const struct config *cfg)
{
	if (!cfg->target_count || !cfg->endpoint_count)
		fuzz_fail("accepted a config without targets or endpoints", NULL);
	for (size_t i = 0; i < cfg->target_count; i++)
		if (!cfg->targets[i].path || cfg->targets[i].path[0] != '/')
			fuzz_fail("accepted a target path that is not absolute", NULL);
	for (size_t i = 0; i < cfg->endpoint_count; i++) {
		const struct config_endpoint *ep = &cfg->endpoints[i];

		if (!ep->id || !ep->url || !ep->secret_count ||
		    ep->secret_count > CONFIG_MAX_SECRETS || !ep->events.count || !ep->agents.count)
			fuzz_fail("accepted an incomplete endpoint", ep->id);
	}
	if (cfg->ring_buffer_bytes & (cfg->ring_buffer_bytes - 1))
		fuzz_fail("accepted a ring size that is not a power of two", NULL);
}

static void check_message(const char *err)
{
	if (!err[0])
		fuzz_fail("refused without a message", NULL);
	for (const char *p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			fuzz_fail("the message is not one printable line", err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[512];
	char *json;

	if (!agent_path[0])
		make_base_dir();
	/* config_load hands config_parse a NUL-terminated file */
	json = malloc(size + 1);
	if (!json)
		return 0;
	memcpy(json, data, size);
	json[size] = '\0';
	if (config_parse(json, base_dir, &cfg, err, sizeof(err)) == 0) {
		check_config(&cfg);
		config_free(&cfg);
	} else {
		check_message(err);
	}
	free(json);
	return 0;
}
