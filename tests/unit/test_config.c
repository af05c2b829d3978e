// SPDX-License-Identifier: MIT
/* Config parsing: the example config and the defaults, and one row per
 * validation rule checking that the error names the right key. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "record.h"

#define DEMO_KEY "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define DEMO_SECRET "whsec_" DEMO_KEY
#define SHORT_SECRET "whsec_c2hvcnRzZWNyZXQ="  /* 11 bytes */
#define KEY32 "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" /* 32 bytes */
#define BAD_SECRET "whsec_not*base64*at*all*!!"

/*
 * Table JSON is written with ' for " to stay readable; q() swaps them.
 * A valid config is one target "agent" (relative, in the temp dir) and one
 * endpoint; rows vary one part of it.
 */
#define TARGETS "'targets': [{'path': 'agent'}]"
#define EP_BASE "'id': 'ops', 'url': 'http://127.0.0.1:9000/hooks'"
#define EP(extra) "{" EP_BASE ", 'secret': '" DEMO_SECRET "'" extra "}"
#define ENDPOINTS(extra) "'endpoints': [" EP(extra) "]"
#define CONFIG(ep_extra, root_extra) "{" TARGETS ", " ENDPOINTS(ep_extra) root_extra "}"
#define CONFIG_EP(endpoint) "{" TARGETS ", 'endpoints': [" endpoint "]}"

static char tmpdir[PATH_MAX] = "/tmp/test_config.XXXXXX";

static char *q(const char *s)
{
	char *out = strdup(s), *p;

	for (p = out; p && *p; p++)
		if (*p == '\'')
			*p = '"';
	return out;
}

static void tmp_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", tmpdir, name);

	CHECK(n > 0 && (size_t)n < size);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char path[PATH_MAX];
	FILE *f;

	tmp_path(path, sizeof(path), name);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	CHECK(chmod(path, mode) == 0);
}

static void remove_file(const char *name)
{
	char path[PATH_MAX];

	tmp_path(path, sizeof(path), name);
	unlink(path);
}

static bool cfg_is_zero(const struct config *cfg)
{
	static const struct config zero;

	return memcmp(cfg, &zero, sizeof(zero)) == 0;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

struct error_case {
	const char *json;
	const char *prefix;   /* the message must start with this */
	int ret;              /* expected return; 0: any negative */
	bool no_base_dir;
	const char *secret;   /* must not appear in the message */
};

/* Rows name only what they need; the rest stays zero. */
#define E(json_, prefix_, ret_, ...) { .json = json_, .prefix = prefix_, .ret = ret_, __VA_ARGS__ }

static const struct error_case error_cases[] = {
	/* structure and syntax */
	E("[]", "(root): must be an object", -EINVAL),
	E("{\n 'targets': [\n  {'path' 'agent'}\n ]\n}", "(root): not valid JSON near line 3",
	  -EINVAL),
	E("", "(root): not valid JSON near line 1", -EINVAL),
	E(CONFIG("", "") " trailing", "(root): not valid JSON near line 1", -EINVAL),
	E("{" TARGETS ", 'endpoint': []}", "(root): unknown key \"endpoint\"", -EINVAL),
	E(CONFIG("", ", 'queue_max': 5, 'queue_max': 6"), "(root): duplicate key \"queue_max\"",
	  -EINVAL),
	/* targets */
	E("{" ENDPOINTS("") "}", "targets: is required", -EINVAL),
	E("{'targets': [], " ENDPOINTS("") "}", "targets: must be a non-empty array", -EINVAL),
	E("{'targets': {'path': 'agent'}, " ENDPOINTS("") "}", "targets: must be a non-empty array",
	  -EINVAL),
	E("{'targets': ['agent'], " ENDPOINTS("") "}", "targets[0]: must be an object", -EINVAL),
	E("{'targets': [{'pid': 1}], " ENDPOINTS("") "}", "targets[0].path: is required", -EINVAL),
	E("{'targets': [{'path': 42}], " ENDPOINTS("") "}", "targets[0].path: must be a", -EINVAL),
	E("{'targets': [{'path': 'agent', 'pdi': 1}], " ENDPOINTS("") "}",
	  "targets[0]: unknown key \"pdi\"", -EINVAL),
	E("{'targets': [{'path': 'agent', 'pid': 0}], " ENDPOINTS("") "}", "targets[0].pid: ",
	  -EINVAL),
	E("{'targets': [{'path': 'agent', 'pid': '12'}], " ENDPOINTS("") "}", "targets[0].pid: ",
	  -EINVAL),
	E("{'targets': [{'path': 'agent', 'pid': 1.5}], " ENDPOINTS("") "}", "targets[0].pid: ",
	  -EINVAL),
	E("{'targets': [{'path': 'agent'}, {'path': '/nope'}], " ENDPOINTS("") "}",
	  "targets[1].path: /nope: No such file or directory", -ENOENT),
	E("{'targets': [{'path': 'agent'}], " ENDPOINTS("") "}",
	  "targets[0].path: must be absolute",
	  -EINVAL, .no_base_dir = true),
	E("{'targets': [{'path': '.'}], " ENDPOINTS("") "}", "targets[0].path: ", -EINVAL),
	E("{'targets': [{'path': 'agent'}, {'path': './agent'}], " ENDPOINTS("") "}",
	  "targets[1]: same file and pid as targets[0]", -EINVAL),
	/* endpoints */
	E("{" TARGETS "}", "endpoints: is required", -EINVAL),
	E("{" TARGETS ", 'endpoints': []}", "endpoints: must be a non-empty array", -EINVAL),
	E("{" TARGETS ", 'endpoints': 'ops'}", "endpoints: must be a non-empty array", -EINVAL),
	E(CONFIG(", 'retries': 3", ""), "endpoints[0]: unknown key \"retries\"", -EINVAL),
	E(CONFIG_EP("{'url': 'http://h/', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].id: is required",
	  -EINVAL),
	E(CONFIG_EP("{'id': 'a b', 'url': 'http://h/', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].id: must be 1 to 64", -EINVAL),
	E(CONFIG_EP("{'id': '', 'url': 'http://h/', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].id: ", -EINVAL),
	E(CONFIG_EP(EP("") ", " EP("")), "endpoints[1].id: \"ops\" is already endpoints[0].id",
	  -EINVAL),
	E(CONFIG_EP("{'id': 'ops', 'secret': '" DEMO_SECRET "'}"), "endpoints[0].url: is required",
	  -EINVAL),
	E(CONFIG_EP("{'id': 'ops', 'url': 7, 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].url: must be a", -EINVAL),
	E(CONFIG_EP("{'id': 'ops', 'url': 'ftp://h/x', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].url: must start with http:// or https://", -EINVAL),
	E(CONFIG_EP("{'id': 'ops', 'url': 'HTTPX://h/x', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].url: must start with http:// or https://", -EINVAL),
	E(CONFIG_EP("{'id': 'ops', 'url': 'https://bob:hunter2@h/x', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].url: must not contain user info", -EINVAL, .secret = "hunter2"),
	E(CONFIG_EP("{'id': 'ops', 'url': 'http:///hooks', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].url: must have a host", -EINVAL),
	E(CONFIG_EP("{'id': 'ops', 'url': 'http://:80/', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].url: must have a host", -EINVAL),
	E(CONFIG_EP("{'id': 'ops', 'url': 'http://h:99999/', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].url: has an invalid port", -EINVAL),
	E(CONFIG_EP("{'id': 'ops', 'url': 'http://h /x', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].url: must not contain whitespace", -EINVAL),
	E(CONFIG_EP("{'id': 'ops', 'url': 'http://h/\\nX', 'secret': '" DEMO_SECRET "'}"),
	  "endpoints[0].url: must not contain whitespace", -EINVAL),
	/* secrets */
	E(CONFIG_EP("{" EP_BASE "}"), "endpoints[0]: needs \"secret\" or \"secrets\"", -EINVAL),
	E(CONFIG_EP("{" EP_BASE ", 'secret': '" SHORT_SECRET "'}"),
	  "endpoints[0].secret: not a valid whsec_ secret", -EINVAL, .secret = SHORT_SECRET),
	E(CONFIG_EP("{" EP_BASE ", 'secret': '" BAD_SECRET "'}"),
	  "endpoints[0].secret: not a valid whsec_ secret", -EINVAL, .secret = BAD_SECRET),
	E(CONFIG_EP("{" EP_BASE ", 'secret': 12}"), "endpoints[0].secret: must be a string",
	  -EINVAL),
	E(CONFIG(", 'secrets': ['" DEMO_SECRET "']", ""),
	  "endpoints[0]: has both \"secret\" and \"secrets\"", -EINVAL),
	E(CONFIG_EP("{" EP_BASE ", 'secrets': []}"), "endpoints[0].secrets: must be a non-empty",
	  -EINVAL),
	E(CONFIG_EP("{" EP_BASE ", 'secrets': ['" DEMO_SECRET "', '" SHORT_SECRET "']}"),
	  "endpoints[0].secrets[1]: not a valid whsec_ secret", -EINVAL, .secret = SHORT_SECRET),
	E(CONFIG_EP("{" EP_BASE ", 'secrets': ['" DEMO_SECRET "', '" DEMO_SECRET "', '" DEMO_SECRET
		    "', '" DEMO_SECRET "', '" DEMO_SECRET "']}"),
	  "endpoints[0].secrets: must hold at most 4", -EINVAL),
	/* patterns */
	E(CONFIG(", 'events': ['agent.step.*', 'agent.stp.completed']", ""),
	  "endpoints[0].events[1]: unknown event type \"agent.stp.completed\"", -EINVAL),
	E(CONFIG(", 'events': ['agnet.*']", ""),
	  "endpoints[0].events[0]: pattern \"agnet.*\" matches no event type", -EINVAL),
	E(CONFIG(", 'events': ['agent*']", ""), "endpoints[0].events[0]: unknown event type",
	  -EINVAL),
	E(CONFIG(", 'events': 'agent.step.*'", ""),
	  "endpoints[0].events: must be a non-empty array",
	  -EINVAL),
	E(CONFIG(", 'events': []", ""), "endpoints[0].events: must be a non-empty array", -EINVAL),
	E(CONFIG(", 'events': ['']", ""), "endpoints[0].events[0]: must be a non-empty string",
	  -EINVAL),
	E(CONFIG(", 'agents': ['*', 3]", ""), "endpoints[0].agents[1]: must be a non-empty string",
	  -EINVAL),
	/* endpoint scalars */
	E(CONFIG(", 'allow_private_networks': 'yes'", ""),
	  "endpoints[0].allow_private_networks: must be a boolean", -EINVAL),
	E(CONFIG(", 'max_attempts': 0", ""),
	  "endpoints[0].max_attempts: must be an integer from 1 to 100",
	  -EINVAL),
	E(CONFIG(", 'max_attempts': 101", ""), "endpoints[0].max_attempts: ", -EINVAL),
	E(CONFIG(", 'max_attempts': 2.5", ""), "endpoints[0].max_attempts: ", -EINVAL),
	E(CONFIG(", 'timeout_ms': 99", ""), "endpoints[0].timeout_ms: ", -EINVAL),
	E(CONFIG(", 'timeout_ms': 600001", ""), "endpoints[0].timeout_ms: ", -EINVAL),
	/* secrets from files and the environment (files written by main) */
	E(CONFIG_EP("{" EP_BASE ", 'secret_file': 'missing.txt'}"), "endpoints[0].secret_file: ",
	  -ENOENT),
	E(CONFIG_EP("{" EP_BASE ", 'secret_file': 42}"),
	  "endpoints[0].secret_file: must be a non-empty string", -EINVAL),
	E(CONFIG_EP("{" EP_BASE ", 'secret_file': 'secret-gw.txt'}"), "endpoints[0].secret_file: ",
	  -EPERM, .secret = DEMO_SECRET),
	E(CONFIG_EP("{" EP_BASE ", 'secret_file': 'secret-bad.txt'}"),
	  "endpoints[0].secret_file: line 3: not a valid whsec_ secret", -EINVAL,
	  .secret = BAD_SECRET),
	E(CONFIG_EP("{" EP_BASE ", 'secret_file': 'secret-empty.txt'}"),
	  "endpoints[0].secret_file: holds no secret", -EINVAL),
	E(CONFIG_EP("{" EP_BASE ", 'secrets': ['" DEMO_SECRET "', '" DEMO_SECRET "', '" DEMO_SECRET
		    "'], 'secret_file': 'secret.txt'}"),
	  "endpoints[0].secret_file: line 4: more than 4 secrets in all", -EINVAL),
	E(CONFIG_EP("{" EP_BASE ", 'secret_env': 'PH_TEST_UNSET'}"),
	  "endpoints[0].secret_env: environment variable PH_TEST_UNSET is not set", -ENOENT),
	E(CONFIG_EP("{" EP_BASE ", 'secret_env': 'NOT A NAME'}"),
	  "endpoints[0].secret_env: must be an environment variable name", -EINVAL),
	E(CONFIG_EP("{" EP_BASE ", 'secret_env': '9LIVES'}"),
	  "endpoints[0].secret_env: must be an environment variable name", -EINVAL),
	E(CONFIG_EP("{" EP_BASE ", 'secret_env': 'PH_TEST_BAD'}"),
	  "endpoints[0].secret_env: secret 2: not a valid whsec_ secret", -EINVAL,
	  .secret = SHORT_SECRET),
	E(CONFIG_EP("{" EP_BASE ", 'secret_env': 'PH_TEST_EMPTY'}"),
	  "endpoints[0].secret_env: holds no secret", -EINVAL),
	/* retry */
	E(CONFIG(", 'retry': [0]", ""), "endpoints[0].retry: must be an object", -EINVAL),
	E(CONFIG(", 'retry': {'schedul_ms': [0]}", ""),
	  "endpoints[0].retry: unknown key \"schedul_ms\"", -EINVAL),
	E(CONFIG(", 'retry': {'schedule_ms': []}", ""),
	  "endpoints[0].retry.schedule_ms: must be a non-empty array", -EINVAL),
	E(CONFIG(", 'retry': {'schedule_ms': [5, 10]}", ""),
	  "endpoints[0].retry.schedule_ms[0]: must be 0: the first attempt is immediate", -EINVAL),
	E(CONFIG(", 'retry': {'schedule_ms': [0, 10, -1]}", ""),
	  "endpoints[0].retry.schedule_ms[2]: must be an integer from 0 to 604800000", -EINVAL),
	E(CONFIG(", 'retry': {'schedule_ms': [0, '5s']}", ""),
	  "endpoints[0].retry.schedule_ms[1]: must be an integer", -EINVAL),
	E(CONFIG(", 'retry': {'schedule_ms': [0], 'exponential': {'base_ms': 1, 'cap_ms': 2}}",
		 ""),
	  "endpoints[0].retry: has both \"schedule_ms\" and \"exponential\"", -EINVAL),
	E(CONFIG(", 'retry': {'exponential': {'base_ms': 1000}}", ""),
	  "endpoints[0].retry.exponential.cap_ms: is required", -EINVAL),
	E(CONFIG(", 'retry': {'exponential': {'base_ms': 1000, 'cap_ms': 10}}", ""),
	  "endpoints[0].retry.exponential.cap_ms: must be at least base_ms (1000)", -EINVAL),
	E(CONFIG(", 'retry': {'exponential': {'base_ms': 0, 'cap_ms': 10}}", ""),
	  "endpoints[0].retry.exponential.base_ms: must be an integer from 1", -EINVAL),
	E(CONFIG(", 'retry': {'exponential': {'base_ms': 1, 'cap_ms': 9, 'max': 3}}", ""),
	  "endpoints[0].retry.exponential: unknown key \"max\"", -EINVAL),
	E(CONFIG(", 'retry': {'exponential': {'base_ms': 1, 'cap_ms': 9, 'max_attempts': 0}}", ""),
	  "endpoints[0].retry.exponential.max_attempts: must be an integer from 1 to 100",
	  -EINVAL),
	E(CONFIG(", 'max_attempts': 3, "
		 "'retry': {'exponential': {'base_ms': 1, 'cap_ms': 9, 'max_attempts': 3}}", ""),
	  "endpoints[0].max_attempts: is also set in retry.exponential.max_attempts", -EINVAL),
	E(CONFIG(", 'retry': {'jitter_percent': 101}", ""),
	  "endpoints[0].retry.jitter_percent: must be an integer from 0 to 100", -EINVAL),
	E(CONFIG(", 'retry': {'retry_after_max_ms': -1}", ""),
	  "endpoints[0].retry.retry_after_max_ms: ", -EINVAL),
	/* breaker */
	E(CONFIG(", 'breaker': true", ""), "endpoints[0].breaker: must be an object", -EINVAL),
	E(CONFIG(", 'breaker': {'ratio': 0.5}", ""), "endpoints[0].breaker: unknown key \"ratio\"",
	  -EINVAL),
	E(CONFIG(", 'breaker': {'failure_ratio': 0}", ""),
	  "endpoints[0].breaker.failure_ratio: must be a number above 0 and at most 1", -EINVAL),
	E(CONFIG(", 'breaker': {'failure_ratio': 1.5}", ""),
	  "endpoints[0].breaker.failure_ratio: ", -EINVAL),
	E(CONFIG(", 'breaker': {'failure_ratio': 'half'}", ""),
	  "endpoints[0].breaker.failure_ratio: ", -EINVAL),
	E(CONFIG(", 'breaker': {'window': 0}", ""),
	  "endpoints[0].breaker.window: must be an integer from 1 to 1000", -EINVAL),
	E(CONFIG(", 'breaker': {'window': 1001}", ""), "endpoints[0].breaker.window: ", -EINVAL),
	E(CONFIG(", 'breaker': {'min_attempts': 30}", ""),
	  "endpoints[0].breaker.min_attempts: must be at most window (20)", -EINVAL),
	E(CONFIG(", 'breaker': {'cooldown_ms': 50}", ""), "endpoints[0].breaker.cooldown_ms: ",
	  -EINVAL),
	E(CONFIG(", 'disable_after_ms': -5", ""), "endpoints[0].disable_after_ms: ", -EINVAL),
	E(CONFIG(", 'disable_after_ms': 2592000001", ""), "endpoints[0].disable_after_ms: ",
	  -EINVAL),
	/* limits and extras */
	E(CONFIG(", 'max_in_flight': 0", ""),
	  "endpoints[0].max_in_flight: must be an integer from 1 to 1024", -EINVAL),
	E(CONFIG(", 'max_in_flight': 1025", ""), "endpoints[0].max_in_flight: ", -EINVAL),
	E(CONFIG(", 'max_payload_bytes': 511", ""),
	  "endpoints[0].max_payload_bytes: must be an integer from 512 to 16777216", -EINVAL),
	E(CONFIG(", 'ordered': 1", ""), "endpoints[0].ordered: must be a boolean", -EINVAL),
	E(CONFIG(", 'ca_bundle': 'nope.pem'", ""), "endpoints[0].ca_bundle: ", -ENOENT),
	E(CONFIG(", 'ca_bundle': ''", ""), "endpoints[0].ca_bundle: must be a non-empty string",
	  -EINVAL),
	E(CONFIG(", 'ca_bundle': '.'", ""), "endpoints[0].ca_bundle: ", -EINVAL),
	E(CONFIG(", 'headers': []", ""), "endpoints[0].headers: must be an object", -EINVAL),
	E(CONFIG(", 'headers': {'Content-Type': 'text/plain'}", ""),
	  "endpoints[0].headers.Content-Type: is set by probehook; it cannot be overridden",
	  -EINVAL),
	E(CONFIG(", 'headers': {'webhook-id': 'x'}", ""),
	  "endpoints[0].headers.webhook-id: is set by probehook", -EINVAL),
	E(CONFIG(", 'headers': {'WEBHOOK-Signature': 'v1,x'}", ""),
	  "endpoints[0].headers.WEBHOOK-Signature: is set by probehook", -EINVAL),
	E(CONFIG(", 'headers': {'Host': 'evil'}", ""), "endpoints[0].headers.Host: is set by",
	  -EINVAL),
	E(CONFIG(", 'headers': {'user-agent': 'x'}", ""),
	  "endpoints[0].headers.user-agent: is set by", -EINVAL),
	E(CONFIG(", 'headers': {'X-Bad Name': 'v'}", ""),
	  "endpoints[0].headers.X-Bad Name: not a valid header name", -EINVAL),
	E(CONFIG(", 'headers': {'X-A:': 'v'}", ""), "endpoints[0].headers.X-A:: not a valid header",
	  -EINVAL),
	E(CONFIG(", 'headers': {'X-A': 'tok3n\\r\\nInjected: 1'}", ""),
	  "endpoints[0].headers.X-A: must not contain CR, LF or other control characters",
	  -EINVAL, .secret = "tok3n"),
	E(CONFIG(", 'headers': {'Authorization': 'Bearer s3cr3t\\n'}", ""),
	  "endpoints[0].headers.Authorization: must not contain CR, LF", -EINVAL,
	  .secret = "s3cr3t"),
	E(CONFIG(", 'headers': {'X-A': 5}", ""), "endpoints[0].headers.X-A: must be a non-empty",
	  -EINVAL),
	E(CONFIG(", 'headers': {'X-A': ''}", ""), "endpoints[0].headers.X-A: must be a non-empty",
	  -EINVAL),
	E(CONFIG(", 'headers': {'X-A': 'a', 'x-a': 'b'}", ""),
	  "endpoints[0].headers.x-a: repeats header \"X-A\"", -EINVAL),
	/* agents */
	E(CONFIG("", ", 'agents': []"), "agents: must be an object", -EINVAL),
	E(CONFIG("", ", 'agents': {'agent-42': true}"), "agents.agent-42: must be an object",
	  -EINVAL),
	E(CONFIG("", ", 'agents': {'agent-42': {'webhook_enabled': 'true'}}"),
	  "agents.agent-42.webhook_enabled: must be a boolean", -EINVAL),
	E(CONFIG("", ", 'agents': {'agent-42': {'webhook_events': ['*']}}"),
	  "agents.agent-42.webhook_enabled: is required", -EINVAL),
	E(CONFIG("", ", 'agents': {'a': {'webhook_enabled': true, 'events': ['*']}}"),
	  "agents.a: unknown key \"events\"", -EINVAL),
	E(CONFIG("", ", 'agents': {'a': {'webhook_enabled': true, 'webhook_events': ['x.y']}}"),
	  "agents.a.webhook_events[0]: unknown event type \"x.y\"", -EINVAL),
	E(CONFIG("", ", 'agents': {'a': {'webhook_enabled': true},"
		     " 'a': {'webhook_enabled': true}}"),
	  "agents: duplicate key \"a\"", -EINVAL),
	E(CONFIG("", ", 'agents': {'': {'webhook_enabled': true}}"), "agents: ", -EINVAL),
	E(CONFIG("", ", 'default_agent': {'webhook_enabled': 1}"),
	  "default_agent.webhook_enabled: must be a boolean", -EINVAL),
	E(CONFIG("", ", 'default_agent': {'enabled': true}"),
	  "default_agent: unknown key \"enabled\"", -EINVAL),
	E(CONFIG("", ", 'default_agent': []"), "default_agent: must be an object", -EINVAL),
	/* limits */
	E(CONFIG("", ", 'max_arg_bytes': 15"), "max_arg_bytes: must be an integer from 16 to 2700",
	  -EINVAL),
	E(CONFIG("", ", 'max_arg_bytes': 2701"), "max_arg_bytes: ", -EINVAL),
	E(CONFIG("", ", 'ring_buffer_bytes': 5000"), "ring_buffer_bytes: must be a power of two",
	  -EINVAL),
	E(CONFIG("", ", 'ring_buffer_bytes': 2048"), "ring_buffer_bytes: must be a power of two",
	  -EINVAL),
	E(CONFIG("", ", 'ring_buffer_bytes': 2147483648"), "ring_buffer_bytes: ", -EINVAL),
	E(CONFIG("", ", 'ring_buffer_bytes': '4096'"), "ring_buffer_bytes: ", -EINVAL),
	E(CONFIG("", ", 'queue_max': 0"), "queue_max: must be an integer from 1 to 10000000",
	  -EINVAL),
	E(CONFIG("", ", 'queue_max': 1e8"), "queue_max: ", -EINVAL),
	/* spool, dead letters, attempt log */
	E(CONFIG("", ", 'spool_dir': 'var/spool'"), "spool_dir: must be an absolute path", -EINVAL),
	E(CONFIG("", ", 'spool_dir': ''"), "spool_dir: must be a non-empty string", -EINVAL),
	E(CONFIG("", ", 'spool_dir': 7"), "spool_dir: must be a non-empty string", -EINVAL),
	E(CONFIG("", ", 'spool_max_bytes': 1048575"),
	  "spool_max_bytes: must be a byte count from 1048576 to", -EINVAL),
	E(CONFIG("", ", 'spool_max_bytes': 1e18"), "spool_max_bytes: must be a byte count", -EINVAL),
	E(CONFIG("", ", 'spool_max_bytes': 1048576.5"), "spool_max_bytes: ", -EINVAL),
	E(CONFIG("", ", 'spool_max_bytes': '1G'"), "spool_max_bytes: ", -EINVAL),
	/* pinning */
	E(CONFIG("", ", 'pin_dir': 'sys/fs/bpf'"), "pin_dir: must be an absolute path", -EINVAL),
	E(CONFIG("", ", 'pin_dir': ''"), "pin_dir: must be a non-empty string", -EINVAL),
	E(CONFIG("", ", 'pin_dir': true"), "pin_dir: must be a non-empty string", -EINVAL),
	E(CONFIG(", 'events': ['probehook.gaps']", ""),
	  "endpoints[0].events[0]: unknown event type \"probehook.gaps\"", -EINVAL),
	E(CONFIG("", ", 'spool_fsync': 'sometimes'"),
	  "spool_fsync: must be one of \"batch\", \"always\", \"none\"", -EINVAL),
	E(CONFIG("", ", 'spool_fsync': true"), "spool_fsync: must be one of", -EINVAL),
	E(CONFIG("", ", 'spool_fsync_interval_ms': 0"),
	  "spool_fsync_interval_ms: must be an integer from 1 to 60000", -EINVAL),
	E(CONFIG("", ", 'spool_full_policy': 'drop_newest'"),
	  "spool_full_policy: must be one of \"drop_oldest\", \"refuse_newest\"", -EINVAL),
	E(CONFIG("", ", 'dead_letter_max_bytes': 1000"), "dead_letter_max_bytes: must be a byte count",
	  -EINVAL),
	E(CONFIG("", ", 'attempt_log_max_bytes': -1"), "attempt_log_max_bytes: must be a byte count",
	  -EINVAL),
	E(CONFIG("", ", 'spool_sync': 'always'"), "(root): unknown key \"spool_sync\"", -EINVAL),
};

static void test_error_cases(void)
{
	const char *secret;
	char err[512], *json;
	struct config cfg;
	size_t i;
	int ret;

	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];

		json = q(c->json);
		memset(&cfg, 0xa5, sizeof(cfg));
		ret = config_parse(json, c->no_base_dir ? NULL : tmpdir, &cfg, err, sizeof(err));
		CHECK(ret < 0);
		CHECK(!c->ret || ret == c->ret);
		CHECK(starts_with(err, c->prefix));
		CHECK(!strstr(err, DEMO_KEY));
		secret = c->secret && starts_with(c->secret, "whsec_") ? c->secret + 6 : c->secret;
		CHECK(!secret || !strstr(err, secret));
		CHECK(!strchr(err, '\n'));
		/* A failed parse leaves nothing to free. */
		CHECK(cfg_is_zero(&cfg));
		if (ret >= 0 || (c->ret && ret != c->ret) || !starts_with(err, c->prefix))
			fprintf(stderr, "  case %zu: ret %d, err \"%s\"\n  json %s\n", i, ret, err,
				json);
		config_free(&cfg);
		free(json);
	}
}

static void check_patterns(const struct config_patterns *p, const char *a, const char *b)
{
	CHECK(p->count == (b ? 2u : 1u));
	if (p->count < 1)
		return;
	CHECK_STR_EQ(p->items[0], a);
	if (b && p->count == 2)
		CHECK_STR_EQ(p->items[1], b);
}

static void test_example(void)
{
	static const char fmt[] =
		"{\n"
		"  'targets':   [ {'path': '%s/agent'}, {'path': '%s/lib.so', 'pid': 1234} ],\n"
		"  'endpoints': [ {'id': 'ops', 'url': 'http://127.0.0.1:9000/hooks',\n"
		"                  'secret': '" DEMO_SECRET "',\n"
		"                  'events': ['agent.step.*', 'agent.run.completed'],\n"
		"                  'agents': ['*'],\n"
		"                  'allow_private_networks': true} ],\n"
		"  'agents':        { 'agent-42': {'webhook_enabled': true,\n"
		"                                  'webhook_events': ['*']} },\n"
		"  'default_agent': { 'webhook_enabled': false }\n"
		"}\n";
	char text[2 * PATH_MAX + 1024], err[512], want[PATH_MAX], *json;
	struct config cfg;
	int ret;

	snprintf(text, sizeof(text), fmt, tmpdir, tmpdir);
	json = q(text);
	ret = config_parse(json, NULL, &cfg, err, sizeof(err));
	free(json);
	CHECK(ret == 0);
	if (ret) {
		fprintf(stderr, "  example: %s\n", err);
		return;
	}
	CHECK(cfg.target_count == 2);
	tmp_path(want, sizeof(want), "agent");
	CHECK_STR_EQ(cfg.targets[0].path, want);
	CHECK(cfg.targets[0].pid == -1);
	tmp_path(want, sizeof(want), "lib.so");
	CHECK_STR_EQ(cfg.targets[1].path, want);
	CHECK(cfg.targets[1].pid == 1234);

	CHECK(cfg.endpoint_count == 1);
	CHECK_STR_EQ(cfg.endpoints[0].id, "ops");
	CHECK_STR_EQ(cfg.endpoints[0].url, "http://127.0.0.1:9000/hooks");
	CHECK(cfg.endpoints[0].secret_count == 1);
	CHECK(cfg.endpoints[0].secrets[0].len == 24);
	CHECK(cfg.endpoints[0].secrets[0].mac != NULL);
	check_patterns(&cfg.endpoints[0].events, "agent.step.*", "agent.run.completed");
	check_patterns(&cfg.endpoints[0].agents, "*", NULL);
	CHECK(cfg.endpoints[0].allow_private_networks);
	CHECK(cfg.endpoints[0].timeout_ms == 15000);
	/* delivery defaults: the published schedule, a breaker, no extras */
	CHECK(cfg.endpoints[0].retry.kind == RETRY_SCHEDULE);
	CHECK(cfg.endpoints[0].retry.max_attempts == 8);
	CHECK(cfg.endpoints[0].retry.schedule_len == 8);
	CHECK(cfg.endpoints[0].retry.schedule_ms[1] == 5000);
	CHECK(cfg.endpoints[0].retry.jitter_pct == 20);
	CHECK(cfg.endpoints[0].retry.retry_after_max_ms == 3600000);
	CHECK(cfg.endpoints[0].breaker.failure_ratio == 0.5);
	CHECK(cfg.endpoints[0].breaker.min_attempts == 10);
	CHECK(cfg.endpoints[0].breaker.window == 20);
	CHECK(cfg.endpoints[0].breaker.cooldown_ms == 30000);
	CHECK(cfg.endpoints[0].breaker.disable_after_ms == 5ull * 24 * 3600 * 1000);
	CHECK(cfg.endpoints[0].max_in_flight == 32);
	CHECK(cfg.endpoints[0].max_payload_bytes == 256 * 1024);
	CHECK(!cfg.endpoints[0].ordered);
	CHECK(cfg.endpoints[0].ca_bundle == NULL);
	CHECK(cfg.endpoints[0].header_count == 0);
	CHECK(cfg.warning_count == 0);

	CHECK(cfg.agent_count == 1);
	CHECK_STR_EQ(cfg.agents[0].agent_id, "agent-42");
	CHECK(cfg.agents[0].webhook_enabled);
	check_patterns(&cfg.agents[0].events, "*", NULL);
	CHECK(cfg.default_agent.agent_id == NULL);
	CHECK(!cfg.default_agent.webhook_enabled);
	check_patterns(&cfg.default_agent.events, "*", NULL);

	CHECK(cfg.max_arg_bytes == PH_ARG_CAP_DEFAULT);
	CHECK(cfg.ring_buffer_bytes == 4u * 1024 * 1024);
	CHECK(cfg.queue_max == 100000);
	config_free(&cfg);
	CHECK(cfg_is_zero(&cfg));
	config_free(&cfg); /* twice is harmless */
}

/* Every optional key set away from its default, relative paths resolved. */
static void test_options(void)
{
	char err[512], want[PATH_MAX], *json;
	struct config cfg;
	int ret;

	json = q("{'targets': [{'path': 'agent'}, {'path': 'agent', 'pid': 7}],"
		 " 'endpoints': [{'id': 'a', 'url': 'https://[::1]:8443/x?y=1',"
		 "   'secrets': ['" DEMO_SECRET "', '" KEY32 "'],"
		 "   'agents': ['agent-1', 'agent-2'], 'events': ['*'],"
		 "   'max_attempts': 100, 'timeout_ms': 100},"
		 "  {'id': 'b.B_9-', 'url': 'http://example.com', 'secret': '" DEMO_SECRET "'}],"
		 " 'default_agent': {'webhook_enabled': true, 'webhook_events': ['tool.*']},"
		 " 'agents': {},"
		 " 'max_arg_bytes': 16, 'ring_buffer_bytes': 1073741824, 'queue_max': 10000000}");
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	free(json);
	CHECK(ret == 0);
	if (ret) {
		fprintf(stderr, "  options: %s\n", err);
		return;
	}
	tmp_path(want, sizeof(want), "agent");
	CHECK(cfg.target_count == 2);
	CHECK_STR_EQ(cfg.targets[0].path, want);
	CHECK_STR_EQ(cfg.targets[1].path, want);
	CHECK(cfg.targets[1].pid == 7);
	CHECK(cfg.endpoint_count == 2);
	CHECK(cfg.endpoints[0].secret_count == 2);
	CHECK(cfg.endpoints[0].secrets[1].len == 32);
	check_patterns(&cfg.endpoints[0].agents, "agent-1", "agent-2");
	CHECK(cfg.endpoints[0].retry.max_attempts == 100);
	CHECK(cfg.endpoints[0].timeout_ms == 100);
	CHECK(!cfg.endpoints[0].allow_private_networks);
	CHECK_STR_EQ(cfg.endpoints[1].id, "b.B_9-");
	check_patterns(&cfg.endpoints[1].events, "*", NULL);
	CHECK(cfg.agent_count == 0);
	CHECK(cfg.default_agent.webhook_enabled);
	check_patterns(&cfg.default_agent.events, "tool.*", NULL);
	CHECK(cfg.max_arg_bytes == 16);
	CHECK(cfg.ring_buffer_bytes == 1024u * 1024 * 1024);
	CHECK(cfg.queue_max == 10000000);
	config_free(&cfg);
}

static void test_spool_keys(void)
{
	char err[512], *json;
	struct config cfg;
	int ret;

	json = q(CONFIG("", ""));
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	free(json);
	CHECK(ret == 0);
	CHECK_STR_EQ(cfg.spool_dir, "/var/lib/probehook/spool");
	CHECK(cfg.spool_max_bytes == 1024ull * 1024 * 1024);
	CHECK(cfg.spool_fsync == SPOOL_FSYNC_BATCH);
	CHECK(cfg.spool_fsync_interval_ms == 200);
	CHECK(cfg.spool_full_policy == SPOOL_DROP_OLDEST);
	CHECK(cfg.dead_letter_max_bytes == 64ull * 1024 * 1024);
	CHECK(cfg.attempt_log_max_bytes == 16ull * 1024 * 1024);
	CHECK(cfg.pin_dir == NULL); /* pinning is off unless asked for */
	config_free(&cfg);

	/* the collector's own event type is one endpoints may ask for */
	json = q(CONFIG(", 'events': ['probehook.gap', 'agent.*']", ", 'pin_dir': '/sys/fs/bpf/ph'"));
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	free(json);
	CHECK(ret == 0);
	CHECK_STR_EQ(cfg.pin_dir, "/sys/fs/bpf/ph");
	config_free(&cfg);
	json = q(CONFIG(", 'events': ['probehook.*']", ""));
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	free(json);
	CHECK(ret == 0);
	config_free(&cfg);

	json = q(CONFIG("", ", 'spool_dir': '/srv/probehook', 'spool_max_bytes': 10995116277760,"
			" 'spool_fsync': 'always', 'spool_fsync_interval_ms': 60000,"
			" 'spool_full_policy': 'refuse_newest', 'dead_letter_max_bytes': 65536,"
			" 'attempt_log_max_bytes': 1048576"));
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	free(json);
	CHECK(ret == 0);
	CHECK_STR_EQ(cfg.spool_dir, "/srv/probehook");
	CHECK(cfg.spool_max_bytes == 10ull << 40); /* past 32 bits */
	CHECK(cfg.spool_fsync == SPOOL_FSYNC_ALWAYS);
	CHECK(cfg.spool_fsync_interval_ms == 60000);
	CHECK(cfg.spool_full_policy == SPOOL_REFUSE_NEWEST);
	CHECK(cfg.dead_letter_max_bytes == 65536);
	CHECK(cfg.attempt_log_max_bytes == 1048576);
	config_free(&cfg);
}

/* The delivery keys set away from their defaults; secrets from all sources. */
static void test_delivery_options(void)
{
	char err[512], want[PATH_MAX], *json;
	struct config cfg;
	int ret;

	json = q("{'targets': [{'path': 'agent'}],"
		 " 'endpoints': [{'id': 'a', 'url': 'https://hooks.example.com/x',"
		 "   'secret': '" DEMO_SECRET "', 'secret_file': 'secret.txt',"
		 "   'secret_env': 'PH_TEST_SECRET',"
		 "   'max_attempts': 5, 'retry': {'schedule_ms': [0, 100, 250], 'jitter_percent': 0,"
		 "                                'retry_after_max_ms': 2000},"
		 "   'breaker': {'failure_ratio': 0.25, 'min_attempts': 2, 'window': 4,"
		 "               'cooldown_ms': 500},"
		 "   'disable_after_ms': 0, 'ordered': true, 'max_in_flight': 4,"
		 "   'max_payload_bytes': 2048, 'ca_bundle': 'ca.pem',"
		 "   'headers': {'Authorization': 'Bearer t0k', 'X-Env': 'prod\\tone'}},"
		 "  {'id': 'b', 'url': 'http://example.com', 'secret_file': 'secret-ro.txt',"
		 "   'retry': {'exponential': {'base_ms': 100, 'cap_ms': 1000, 'max_attempts': 4}}},"
		 "  {'id': 'c', 'url': 'http://example.com', 'secret_env': 'PH_TEST_SECRET',"
		 "   'retry': {'schedule_ms': [0, 1000]}}]}");
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	free(json);
	CHECK(ret == 0);
	if (ret) {
		fprintf(stderr, "  delivery options: %s\n", err);
		return;
	}
	/* secret, the file's two, the environment's one, in that order */
	CHECK(cfg.endpoints[0].secret_count == 4);
	CHECK(cfg.endpoints[0].secrets[0].len == 24);
	CHECK(cfg.endpoints[0].secrets[1].len == 32);
	CHECK(cfg.endpoints[0].secrets[2].len == 24);
	CHECK(cfg.endpoints[0].secrets[3].len == 32);
	CHECK(cfg.endpoints[0].retry.kind == RETRY_SCHEDULE);
	CHECK(cfg.endpoints[0].retry.schedule_len == 3);
	CHECK(cfg.endpoints[0].retry.schedule_ms[2] == 250);
	CHECK(cfg.endpoints[0].retry.max_attempts == 5); /* the override */
	CHECK(cfg.endpoints[0].retry.jitter_pct == 0);
	CHECK(cfg.endpoints[0].retry.retry_after_max_ms == 2000);
	CHECK(cfg.endpoints[0].breaker.failure_ratio == 0.25);
	CHECK(cfg.endpoints[0].breaker.min_attempts == 2);
	CHECK(cfg.endpoints[0].breaker.window == 4);
	CHECK(cfg.endpoints[0].breaker.cooldown_ms == 500);
	CHECK(cfg.endpoints[0].breaker.disable_after_ms == 0);
	CHECK(cfg.endpoints[0].ordered);
	CHECK(cfg.endpoints[0].max_in_flight == 4);
	CHECK(cfg.endpoints[0].max_payload_bytes == 2048);
	tmp_path(want, sizeof(want), "ca.pem");
	CHECK_STR_EQ(cfg.endpoints[0].ca_bundle, want);
	CHECK(cfg.endpoints[0].header_count == 2);
	if (cfg.endpoints[0].header_count == 2) {
		CHECK_STR_EQ(cfg.endpoints[0].headers[0], "Authorization: Bearer t0k");
		CHECK_STR_EQ(cfg.endpoints[0].headers[1], "X-Env: prod\tone");
	}
	CHECK(cfg.endpoints[1].secret_count == 1);
	CHECK(cfg.endpoints[1].retry.kind == RETRY_EXPONENTIAL);
	CHECK(cfg.endpoints[1].retry.base_ms == 100);
	CHECK(cfg.endpoints[1].retry.cap_ms == 1000);
	CHECK(cfg.endpoints[1].retry.max_attempts == 4);
	/* a schedule without max_attempts: one attempt per entry */
	CHECK(cfg.endpoints[2].retry.max_attempts == 2);
	/* the 0644 secret file loads, with a warning that names it, not its secret */
	CHECK(cfg.warning_count == 1);
	if (cfg.warning_count == 1) {
		CHECK(starts_with(cfg.warnings[0], "endpoints[1].secret_file: "));
		CHECK(strstr(cfg.warnings[0], "secret-ro.txt is readable by group or others"));
		CHECK(!strstr(cfg.warnings[0], DEMO_KEY));
	}
	config_free(&cfg);
	CHECK(cfg_is_zero(&cfg));
}

static void test_long_values(void)
{
	char url[2100], id[80], json[4096], err[512];
	struct config cfg;
	int ret;

	memset(url, 'a', sizeof(url));
	memcpy(url, "http://h/", 9);
	url[2049] = '\0'; /* one over the limit */
	snprintf(json, sizeof(json),
		 "{\"targets\": [{\"path\": \"agent\"}], \"endpoints\": [{\"id\": \"x\","
		 " \"url\": \"%s\", \"secret\": \"" DEMO_SECRET "\"}]}", url);
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	CHECK(ret == -EINVAL);
	CHECK(starts_with(err, "endpoints[0].url: must be at most 2048"));

	url[2048] = '\0'; /* exactly the limit */
	snprintf(json, sizeof(json),
		 "{\"targets\": [{\"path\": \"agent\"}], \"endpoints\": [{\"id\": \"x\","
		 " \"url\": \"%s\", \"secret\": \"" DEMO_SECRET "\"}]}", url);
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	CHECK(ret == 0);
	config_free(&cfg);

	memset(id, 'i', 65);
	id[65] = '\0';
	snprintf(json, sizeof(json),
		 "{\"targets\": [{\"path\": \"agent\"}], \"endpoints\": [{\"id\": \"%s\","
		 " \"url\": \"http://h\", \"secret\": \"" DEMO_SECRET "\"}]}", id);
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	CHECK(ret == -EINVAL);
	CHECK(starts_with(err, "endpoints[0].id: must be 1 to 64"));

	id[64] = '\0';
	snprintf(json, sizeof(json),
		 "{\"targets\": [{\"path\": \"agent\"}], \"endpoints\": [{\"id\": \"%s\","
		 " \"url\": \"http://h\", \"secret\": \"" DEMO_SECRET "\"}]}", id);
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	CHECK(ret == 0);
	config_free(&cfg);

	/* A key path too long for its buffer is cut visibly, not silently. */
	memset(url, 'g', 300);
	url[300] = '\0';
	snprintf(json, sizeof(json),
		 "{\"targets\": [{\"path\": \"agent\"}], \"endpoints\": [{\"id\": \"x\","
		 " \"url\": \"http://h\", \"secret\": \"" DEMO_SECRET "\"}],"
		 " \"agents\": {\"%s\": {\"webhook_enabled\": 1}}}", url);
	ret = config_parse(json, tmpdir, &cfg, err, sizeof(err));
	CHECK(ret == -EINVAL);
	CHECK(starts_with(err, "agents.gggg"));
	CHECK(strstr(err, "ggg...: must be a boolean") != NULL);
}

static void test_default_json(void)
{
	char err[512], want[PATH_MAX];
	struct config cfg;
	int ret;

	ret = config_parse(config_default_json(), tmpdir, &cfg, err, sizeof(err));
	CHECK(ret == 0);
	if (ret) {
		fprintf(stderr, "  default: %s\n", err);
		return;
	}
	CHECK(cfg.target_count == 2);
	tmp_path(want, sizeof(want), "probehook-demo-agent");
	CHECK_STR_EQ(cfg.targets[0].path, want);
	tmp_path(want, sizeof(want), "libprobehook.so");
	CHECK_STR_EQ(cfg.targets[1].path, want);
	CHECK(cfg.endpoint_count == 1);
	CHECK_STR_EQ(cfg.endpoints[0].id, "local");
	CHECK_STR_EQ(cfg.endpoints[0].url, "http://127.0.0.1:9000/hooks");
	CHECK(cfg.endpoints[0].allow_private_networks);
	check_patterns(&cfg.endpoints[0].events, "*", NULL);
	CHECK(cfg.default_agent.webhook_enabled);
	check_patterns(&cfg.default_agent.events, "*", NULL);
	config_free(&cfg);

	/* Without a base directory the relative defaults cannot resolve. */
	ret = config_parse(config_default_json(), NULL, &cfg, err, sizeof(err));
	CHECK(ret == -EINVAL);
	CHECK(starts_with(err, "targets[0].path: must be absolute"));
}

static void test_load(void)
{
	char path[PATH_MAX], prefix[PATH_MAX + 64], want[PATH_MAX], err[512], *json;
	struct config cfg;
	int ret;

	json = q(CONFIG("", ""));
	write_file("ok.json", json, 0600);
	free(json);
	tmp_path(path, sizeof(path), "ok.json");
	ret = config_load(path, &cfg, err, sizeof(err));
	CHECK(ret == 0);
	if (!ret) {
		tmp_path(want, sizeof(want), "agent");
		CHECK_STR_EQ(cfg.targets[0].path, want); /* relative to the file */
		config_free(&cfg);
	}

	CHECK(chmod(path, 0666) == 0);
	ret = config_load(path, &cfg, err, sizeof(err));
	CHECK(ret == -EPERM);
	snprintf(prefix, sizeof(prefix), "%s: ", path);
	CHECK(starts_with(err, prefix));
	CHECK(strstr(err, "world-writable") != NULL);
	CHECK(cfg_is_zero(&cfg));

	json = q("{\n  'targets': ,\n}");
	write_file("bad.json", json, 0644);
	free(json);
	tmp_path(path, sizeof(path), "bad.json");
	ret = config_load(path, &cfg, err, sizeof(err));
	CHECK(ret == -EINVAL);
	snprintf(prefix, sizeof(prefix), "%s: (root): not valid JSON near line 2", path);
	CHECK(starts_with(err, prefix));
	CHECK(cfg_is_zero(&cfg));

	tmp_path(path, sizeof(path), "missing.json");
	ret = config_load(path, &cfg, err, sizeof(err));
	CHECK(ret == -ENOENT);
	snprintf(prefix, sizeof(prefix), "%s: No such file or directory", path);
	CHECK_STR_EQ(err, prefix);

	{
		char *big = malloc(1024 * 1024 + 2);

		CHECK(big != NULL);
		if (big) {
			memset(big, ' ', 1024 * 1024 + 1);
			big[1024 * 1024 + 1] = '\0';
			write_file("big.json", big, 0600);
			free(big);
		}
	}
	tmp_path(path, sizeof(path), "big.json");
	ret = config_load(path, &cfg, err, sizeof(err));
	CHECK(ret == -EFBIG);
	snprintf(prefix, sizeof(prefix), "%s: ", path);
	CHECK(starts_with(err, prefix));

	remove_file("ok.json");
	remove_file("bad.json");
	remove_file("big.json");
}

int main(void)
{
	struct config zero = { 0 };
	char dir[PATH_MAX];

	config_free(&zero); /* safe on a zeroed struct */
	CHECK(mkdtemp(tmpdir) != NULL);
	/* Compare against canonical paths: /tmp may itself be a symlink. */
	CHECK(realpath(tmpdir, dir) != NULL);
	snprintf(tmpdir, sizeof(tmpdir), "%s", dir);
	write_file("agent", "#!/bin/sh\n", 0755);
	write_file("lib.so", "not really\n", 0644);
	write_file("probehook-demo-agent", "#!/bin/sh\n", 0755);
	write_file("libprobehook.so", "not really\n", 0644);
	write_file("secret.txt", "# rotation: new key first\n  " KEY32 "  \n\n" DEMO_SECRET "\n",
		   0600);
	write_file("secret-ro.txt", DEMO_SECRET "\n", 0644);
	write_file("secret-gw.txt", DEMO_SECRET "\n", 0620);
	write_file("secret-bad.txt", DEMO_SECRET "\n# next\n" BAD_SECRET "\n", 0600);
	write_file("secret-empty.txt", "# nothing here\n\n", 0600);
	write_file("ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
	setenv("PH_TEST_SECRET", KEY32, 1);
	setenv("PH_TEST_BAD", DEMO_SECRET " " SHORT_SECRET, 1);
	setenv("PH_TEST_EMPTY", "  ", 1);
	unsetenv("PH_TEST_UNSET");

	test_error_cases();
	test_example();
	test_options();
	test_spool_keys();
	test_delivery_options();
	test_long_values();
	test_default_json();
	test_load();

	remove_file("agent");
	remove_file("lib.so");
	remove_file("probehook-demo-agent");
	remove_file("libprobehook.so");
	remove_file("secret.txt");
	remove_file("secret-ro.txt");
	remove_file("secret-gw.txt");
	remove_file("secret-bad.txt");
	remove_file("secret-empty.txt");
	remove_file("ca.pem");
	rmdir(tmpdir);
	return check_summary("test_config");
}
