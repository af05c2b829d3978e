// SPDX-License-Identifier: MIT
/*
 * Config parsing and validation.  Every check runs before the collector does
 * anything, and every error names the JSON path of the key at fault, so an
 * operator can fix a config from the message alone.  Secrets are never
 * echoed: messages end up in logs and terminals.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "attemptlog.h"
#include "deadletter.h"
#include "event.h"
#include "record.h"

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_URL_MAX 2048
#define CONFIG_ID_MAX 64
#define CONFIG_KEY_PATH_MAX 256

#define RING_MIN 4096u
#define RING_MAX (1024u * 1024 * 1024)
#define RING_DEFAULT (4u * 1024 * 1024)
#define QUEUE_MAX 10000000u
#define QUEUE_DEFAULT 100000u
#define TIMEOUT_MIN 100u
#define TIMEOUT_MAX 600000u
#define TIMEOUT_DEFAULT 15000u
#define BYTES_MAX (1ull << 50) /* byte counts: exact in a JSON number (a double) */
#define FSYNC_INTERVAL_MAX 60000u
#define IN_FLIGHT_MAX 1024u
#define PAYLOAD_MIN 512u
#define PAYLOAD_MAX (16u * 1024 * 1024)
#define PAYLOAD_DEFAULT (256u * 1024)
#define DELAY_MAX (7u * 24 * 3600 * 1000)       /* one step of a retry schedule */
#define COOLDOWN_MIN 100u
#define COOLDOWN_MAX (24u * 3600 * 1000)
#define DISABLE_AFTER_MAX (30u * 24 * 3600 * 1000)
#define JITTER_MAX 100u
#define SECRET_FILE_MAX (64 * 1024)
#define HEADER_NAME_MAX 64
#define HEADER_VALUE_MAX 4096

#define CONFIG_EVENT_TYPE(id, name, type, ...) type,
/* the catalog's types, and the one the collector emits itself */
static const char *const event_types[] = { PROBEHOOK_EVENTS(CONFIG_EVENT_TYPE) EVENT_TYPE_GAP };
#define EVENT_TYPE_COUNT (sizeof(event_types) / sizeof(event_types[0]))

struct parse_ctx {
	char *err;
	size_t err_size;
	const char *base_dir;
	struct config *cfg;  /* for warnings */
};

enum pattern_kind { PATTERN_EVENTS, PATTERN_AGENTS };

static const char *const root_keys[] = { "targets", "endpoints", "agents", "default_agent",
					 "max_arg_bytes", "ring_buffer_bytes", "queue_max",
					 "control_socket", "spool_dir", "spool_max_bytes",
					 "spool_fsync", "spool_fsync_interval_ms",
					 "spool_full_policy", "dead_letter_max_bytes",
					 "attempt_log_max_bytes", "pin_dir", NULL };
static const char *const target_keys[] = { "path", "pid", NULL };
static const char *const endpoint_keys[] = {
	"id", "url", "secret", "secrets", "secret_file", "secret_env", "events", "agents",
	"allow_private_networks", "max_attempts", "timeout_ms", "max_in_flight", "retry", "breaker",
	"disable_after_ms", "ca_bundle", "headers", "ordered", "max_payload_bytes", NULL
};
static const char *const retry_keys[] = { "schedule_ms", "exponential", "jitter_percent",
					  "retry_after_max_ms", NULL };
static const char *const exponential_keys[] = { "base_ms", "cap_ms", "max_attempts", NULL };
static const char *const breaker_keys[] = { "failure_ratio", "min_attempts", "window",
					    "cooldown_ms", NULL };
/* Set by probehook on every request, or meaningful only to the transport. */
static const char *const reserved_headers[] = {
	"content-type", "content-length", "transfer-encoding", "host", "connection", "keep-alive",
	"expect", "te", "trailer", "upgrade", "user-agent", "proxy-connection", NULL
};
static const char *const agent_keys[] = { "webhook_enabled", "webhook_events", NULL };

static const char default_json[] =
	"{\n"
	"  \"targets\": [\n"
	"    {\"path\": \"probehook-demo-agent\"},\n"
	"    {\"path\": \"libprobehook.so\"}\n"
	"  ],\n"
	"  \"endpoints\": [\n"
	"    {\"id\": \"local\", \"url\": \"http://127.0.0.1:9000/hooks\",\n"
	"     \"secret\": \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\",\n"
	"     \"allow_private_networks\": true}\n"
	"  ],\n"
	"  \"default_agent\": {\"webhook_enabled\": true, \"webhook_events\": [\"*\"]}\n"
	"}\n";

const char *config_default_json(void)
{
	return default_json;
}

/* Writes "path: message"; the root's path is "" and shows as "(root)". */
static int __attribute__((format(printf, 4, 5)))
fail(struct parse_ctx *ctx, int ret, const char *path, const char *fmt, ...)
{
	va_list ap;
	size_t n;
	int len;

	if (!ctx->err || !ctx->err_size)
		return ret;
	len = snprintf(ctx->err, ctx->err_size, "%s: ", *path ? path : "(root)");
	n = len < 0 ? 0 : (size_t)len;
	if (n < ctx->err_size) {
		va_start(ap, fmt);
		vsnprintf(ctx->err + n, ctx->err_size - n, fmt, ap);
		va_end(ap);
	}
	/* Keys and patterns come from the file: keep the message on one line. */
	for (char *p = ctx->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return ret;
}

/* Record "path: message" in cfg->warnings; a failure to do so loses only the warning. */
static void __attribute__((format(printf, 3, 4)))
warn(struct parse_ctx *ctx, const char *path, const char *fmt, ...)
{
	struct config *cfg = ctx->cfg;
	char line[512], **list;
	va_list ap;
	int n;

	if (!cfg)
		return;
	n = snprintf(line, sizeof(line), "%s: ", path);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	va_end(ap);
	list = realloc(cfg->warnings, (cfg->warning_count + 1) * sizeof(*list));
	if (!list)
		return;
	cfg->warnings = list;
	list[cfg->warning_count] = strdup(line);
	if (list[cfg->warning_count])
		cfg->warning_count++;
}

/* Long agent ids can overflow a key path: show the cut rather than hide it. */
static void mark_truncated(char *buf, int len)
{
	if (len >= CONFIG_KEY_PATH_MAX)
		memcpy(buf + CONFIG_KEY_PATH_MAX - 4, "...", 4);
}

static void key_path(char *buf, const char *parent, const char *key)
{
	mark_truncated(buf, snprintf(buf, CONFIG_KEY_PATH_MAX, "%s%s%s", parent,
				     *parent ? "." : "", key));
}

static void index_path(char *buf, const char *parent, int index)
{
	mark_truncated(buf, snprintf(buf, CONFIG_KEY_PATH_MAX, "%s[%d]", parent, index));
}

static bool key_allowed(const char *const *allowed, const char *key)
{
	for (; *allowed; allowed++)
		if (strcmp(*allowed, key) == 0)
			return true;
	return false;
}

/*
 * Typos must not be silently ignored, and cJSON keeps duplicate keys but
 * only ever finds the first: reject both.  allowed NULL admits any name.
 */
static int check_keys(struct parse_ctx *ctx, const cJSON *obj, const char *path,
		      const char *const *allowed)
{
	const cJSON *item, *prev;

	cJSON_ArrayForEach(item, obj) {
		if (allowed && !key_allowed(allowed, item->string))
			return fail(ctx, -EINVAL, path, "unknown key \"%s\"", item->string);
		for (prev = obj->child; prev != item; prev = prev->next)
			if (strcmp(prev->string, item->string) == 0)
				return fail(ctx, -EINVAL, path, "duplicate key \"%s\"",
					    item->string);
	}
	return 0;
}

static const cJSON *member(const cJSON *obj, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(obj, key);
}

static int get_object(struct parse_ctx *ctx, const cJSON *item, const char *path,
		      const char *const *allowed)
{
	if (!cJSON_IsObject(item))
		return fail(ctx, -EINVAL, path, "must be an object");
	return check_keys(ctx, item, path, allowed);
}

/* A non-empty array; *count receives its length. */
static int get_array(struct parse_ctx *ctx, const cJSON *item, const char *path,
		     const char *what, int *count)
{
	if (!cJSON_IsArray(item) || cJSON_GetArraySize(item) == 0)
		return fail(ctx, -EINVAL, path, "must be a non-empty array of %s", what);
	*count = cJSON_GetArraySize(item);
	return 0;
}

static int get_string(struct parse_ctx *ctx, const cJSON *item, const char *path,
		      const char **out)
{
	if (!cJSON_IsString(item) || !item->valuestring[0])
		return fail(ctx, -EINVAL, path, "must be a non-empty string");
	*out = item->valuestring;
	return 0;
}

static int get_bool(struct parse_ctx *ctx, const cJSON *obj, const char *key, const char *path,
		    bool required, bool *out)
{
	const cJSON *item = member(obj, key);
	char kpath[CONFIG_KEY_PATH_MAX];

	key_path(kpath, path, key);
	if (!item)
		return required ? fail(ctx, -EINVAL, kpath, "is required") : 0;
	if (!cJSON_IsBool(item))
		return fail(ctx, -EINVAL, kpath, "must be a boolean");
	*out = cJSON_IsTrue(item);
	return 0;
}

/* item is an integer in [min, max]. */
static int uint_value(struct parse_ctx *ctx, const cJSON *item, const char *kpath,
		      unsigned int min, unsigned int max, unsigned int *out)
{
	double v = cJSON_IsNumber(item) ? item->valuedouble : -1;

	/* Range first: converting an out-of-range double is undefined. */
	if (v < min || v > max || v != (double)(unsigned int)v)
		return fail(ctx, -EINVAL, kpath, "must be an integer from %u to %u", min, max);
	*out = (unsigned int)v;
	return 0;
}

/* An integer in [min, max]; *out is left alone when the key is absent. */
static int get_uint(struct parse_ctx *ctx, const cJSON *obj, const char *key, const char *path,
		    unsigned int min, unsigned int max, unsigned int *out)
{
	const cJSON *item = member(obj, key);
	char kpath[CONFIG_KEY_PATH_MAX];

	if (!item)
		return 0;
	key_path(kpath, path, key);
	return uint_value(ctx, item, kpath, min, max, out);
}

/* A number in (min, max]; *out is left alone when the key is absent. */
static int get_ratio(struct parse_ctx *ctx, const cJSON *obj, const char *key, const char *path,
		     double *out)
{
	const cJSON *item = member(obj, key);
	char kpath[CONFIG_KEY_PATH_MAX];

	if (!item)
		return 0;
	key_path(kpath, path, key);
	if (!cJSON_IsNumber(item) || !(item->valuedouble > 0) || item->valuedouble > 1)
		return fail(ctx, -EINVAL, kpath, "must be a number above 0 and at most 1");
	*out = item->valuedouble;
	return 0;
}

static int dup_string(struct parse_ctx *ctx, const char *path, const char *s, char **out)
{
	*out = strdup(s);
	return *out ? 0 : fail(ctx, -ENOMEM, path, "out of memory");
}

static bool event_pattern_known(const char *pattern)
{
	size_t len = strlen(pattern);
	size_t i;

	if (strcmp(pattern, "*") == 0)
		return true;
	/* "prefix.*": compare through the dot, so "agent.*" cannot match "agentx.y". */
	if (len > 2 && strcmp(pattern + len - 2, ".*") == 0) {
		for (i = 0; i < EVENT_TYPE_COUNT; i++)
			if (strncmp(event_types[i], pattern, len - 1) == 0)
				return true;
		return false;
	}
	for (i = 0; i < EVENT_TYPE_COUNT; i++)
		if (strcmp(event_types[i], pattern) == 0)
			return true;
	return false;
}

static int check_pattern(struct parse_ctx *ctx, const char *pattern, const char *path,
			 enum pattern_kind kind)
{
	size_t len = strlen(pattern);

	if (kind != PATTERN_EVENTS || event_pattern_known(pattern))
		return 0;
	if (len > 2 && strcmp(pattern + len - 2, ".*") == 0)
		return fail(ctx, -EINVAL, path, "pattern \"%s\" matches no event type", pattern);
	return fail(ctx, -EINVAL, path, "unknown event type \"%s\"", pattern);
}

static int default_patterns(struct parse_ctx *ctx, const char *path, struct config_patterns *out)
{
	out->items = calloc(1, sizeof(*out->items));
	if (!out->items)
		return fail(ctx, -ENOMEM, path, "out of memory");
	out->count = 1;
	return dup_string(ctx, path, "*", &out->items[0]);
}

/* An optional array of patterns under obj.key; absent means ["*"]. */
static int parse_patterns(struct parse_ctx *ctx, const cJSON *obj, const char *key,
			  const char *path, enum pattern_kind kind, struct config_patterns *out)
{
	const cJSON *list = member(obj, key);
	char kpath[CONFIG_KEY_PATH_MAX], ipath[CONFIG_KEY_PATH_MAX];
	const char *pattern = NULL;
	int i, n = 0, ret;

	key_path(kpath, path, key);
	if (!list)
		return default_patterns(ctx, kpath, out);
	ret = get_array(ctx, list, kpath, "strings", &n);
	if (ret)
		return ret;
	out->items = calloc((size_t)n, sizeof(*out->items));
	if (!out->items)
		return fail(ctx, -ENOMEM, kpath, "out of memory");
	out->count = (size_t)n;
	for (i = 0; i < n; i++) {
		index_path(ipath, kpath, i);
		ret = get_string(ctx, cJSON_GetArrayItem(list, i), ipath, &pattern);
		if (!ret)
			ret = check_pattern(ctx, pattern, ipath, kind);
		if (!ret)
			ret = dup_string(ctx, ipath, pattern, &out->items[i]);
		if (ret)
			return ret;
	}
	return 0;
}

static bool is_proc_root_path(const char *path)
{
	size_t digits;

	if (strncmp(path, "/proc/", 6) != 0)
		return false;
	digits = strspn(path + 6, "0123456789");
	return digits && strncmp(path + 6 + digits, "/root/", 6) == 0;
}

/*
 * A readable regular file, relative to the config's directory, made
 * canonical: so that a target can be matched against /proc/PID/maps and two
 * spellings of one file are recognisably the same target.
 */
static int resolve_path(struct parse_ctx *ctx, const char *given, const char *path, char **out)
{
	char joined[PATH_MAX];
	struct stat st;
	int ret = 0;

	if (given[0] != '/' && !ctx->base_dir)
		return fail(ctx, -EINVAL, path, "must be absolute");
	if (given[0] == '/')
		ret = snprintf(joined, sizeof(joined), "%s", given);
	else
		ret = snprintf(joined, sizeof(joined), "%s/%s", ctx->base_dir, given);
	if (ret < 0 || (size_t)ret >= sizeof(joined))
		return fail(ctx, -ENAMETOOLONG, path, "%s", strerror(ENAMETOOLONG));
	/* A neighbour's file seen through its root (a sidecar): realpath would
	 * resolve the magic link into our own mount namespace. */
	if (is_proc_root_path(joined))
		*out = strdup(joined);
	else
		*out = realpath(joined, NULL);
	if (!*out)
		return fail(ctx, -errno, path, "%s: %s", joined, strerror(errno));
	if (stat(*out, &st))
		return fail(ctx, -errno, path, "%s: %s", joined, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return fail(ctx, -EINVAL, path, "%s: not a regular file", joined);
	if (access(*out, R_OK))
		return fail(ctx, -errno, path, "%s: %s", joined, strerror(errno));
	return 0;
}

static int parse_target(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			struct config_target *target)
{
	char kpath[CONFIG_KEY_PATH_MAX];
	unsigned int pid = 0;
	const char *given = NULL;
	const cJSON *item;
	int ret;

	target->pid = -1;
	ret = get_object(ctx, obj, path, target_keys);
	if (ret)
		return ret;
	key_path(kpath, path, "path");
	item = member(obj, "path");
	if (!item)
		return fail(ctx, -EINVAL, kpath, "is required");
	ret = get_string(ctx, item, kpath, &given);
	if (!ret)
		ret = resolve_path(ctx, given, kpath, &target->path);
	if (!ret)
		ret = get_uint(ctx, obj, "pid", path, 1, INT_MAX, &pid);
	if (!ret && pid)
		target->pid = (int)pid;
	return ret;
}

/* Attaching twice would deliver every event twice. */
static int check_target_unique(struct parse_ctx *ctx, const struct config *cfg, size_t i)
{
	char path[CONFIG_KEY_PATH_MAX];
	size_t j;

	for (j = 0; j < i; j++) {
		if (cfg->targets[j].pid != cfg->targets[i].pid ||
		    strcmp(cfg->targets[j].path, cfg->targets[i].path) != 0)
			continue;
		index_path(path, "targets", (int)i);
		return fail(ctx, -EINVAL, path, "same file and pid as targets[%zu]", j);
	}
	return 0;
}

static int parse_targets(struct parse_ctx *ctx, const cJSON *root, struct config *cfg)
{
	const cJSON *list = member(root, "targets");
	char path[CONFIG_KEY_PATH_MAX];
	int i, n = 0, ret;

	if (!list)
		return fail(ctx, -EINVAL, "targets", "is required");
	ret = get_array(ctx, list, "targets", "objects", &n);
	if (ret)
		return ret;
	cfg->targets = calloc((size_t)n, sizeof(*cfg->targets));
	if (!cfg->targets)
		return fail(ctx, -ENOMEM, "targets", "out of memory");
	cfg->target_count = (size_t)n;
	for (i = 0; i < n; i++) {
		index_path(path, "targets", i);
		ret = parse_target(ctx, cJSON_GetArrayItem(list, i), path, &cfg->targets[i]);
		if (!ret)
			ret = check_target_unique(ctx, cfg, (size_t)i);
		if (ret)
			return ret;
	}
	return 0;
}

static int check_endpoint_id(struct parse_ctx *ctx, const char *id, const char *path)
{
	size_t len = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
				"0123456789_.-");

	if (id[len] || len > CONFIG_ID_MAX)
		return fail(ctx, -EINVAL, path, "must be 1 to %d of A-Z a-z 0-9 _ . -",
			    CONFIG_ID_MAX);
	return 0;
}

static int check_port(struct parse_ctx *ctx, const char *port, size_t len, const char *path)
{
	unsigned long value = 0;
	size_t i;

	if (len == 0 || len > 5)
		return fail(ctx, -EINVAL, path, "has an invalid port");
	for (i = 0; i < len; i++) {
		if (port[i] < '0' || port[i] > '9')
			return fail(ctx, -EINVAL, path, "has an invalid port");
		value = value * 10 + (unsigned long)(port[i] - '0');
	}
	if (value < 1 || value > 65535)
		return fail(ctx, -EINVAL, path, "has an invalid port");
	return 0;
}

/* authority is the text between "://" and the first of "/?#". */
static int check_authority(struct parse_ctx *ctx, const char *auth, size_t len, const char *path)
{
	const char *host_end;

	/* Never echo the URL here: the user info would be a password. */
	if (memchr(auth, '@', len))
		return fail(ctx, -EINVAL, path,
			    "must not contain user info (user:password@); URLs end up in logs");
	if (len && auth[0] == '[') {
		host_end = memchr(auth, ']', len);
		if (!host_end || host_end == auth + 1)
			return fail(ctx, -EINVAL, path, "has an invalid IPv6 host");
		host_end++;
	} else {
		host_end = memchr(auth, ':', len);
		if (!host_end)
			host_end = auth + len;
	}
	if (host_end == auth)
		return fail(ctx, -EINVAL, path, "must have a host");
	if (host_end == auth + len)
		return 0;
	if (*host_end != ':')
		return fail(ctx, -EINVAL, path, "has an invalid host");
	return check_port(ctx, host_end + 1, (size_t)(auth + len - host_end - 1), path);
}

static int check_url(struct parse_ctx *ctx, const char *url, const char *path)
{
	const char *auth;
	const char *p;

	if (strlen(url) > CONFIG_URL_MAX)
		return fail(ctx, -EINVAL, path, "must be at most %d characters", CONFIG_URL_MAX);
	for (p = url; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return fail(ctx, -EINVAL, path,
				    "must not contain whitespace or control characters");
	if (strncmp(url, "http://", 7) == 0)
		auth = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		auth = url + 8;
	else
		return fail(ctx, -EINVAL, path, "must start with http:// or https://");
	return check_authority(ctx, auth, strcspn(auth, "/?#"), path);
}

/*
 * The whole of a small text file, NUL-terminated, and its stat; checked on
 * the open descriptor so the file checked is the file read.  Messages go
 * under key path `where` and start with `label` (the file's name, or "").
 */
static int read_text_file(struct parse_ctx *ctx, const char *file, const char *where,
			  const char *label, size_t max, char **out, struct stat *st)
{
	char *buf = NULL;
	size_t len = 0;
	ssize_t n;
	int fd, ret = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(ctx, -errno, where, "%s%s", label, strerror(errno));
	if (fstat(fd, st)) {
		ret = fail(ctx, -errno, where, "%s%s", label, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st->st_mode)) {
		ret = fail(ctx, -EINVAL, where, "%snot a regular file", label);
		goto out;
	}
	if ((size_t)st->st_size > max) {
		ret = fail(ctx, -EFBIG, where, "%slarger than %zu bytes", label, max);
		goto out;
	}
	buf = malloc((size_t)st->st_size + 1);
	if (!buf) {
		ret = fail(ctx, -ENOMEM, where, "out of memory");
		goto out;
	}
	while (len < (size_t)st->st_size) {
		n = read(fd, buf + len, (size_t)st->st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = fail(ctx, -errno, where, "%s%s", label, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	/* a parser would stop at a NUL and never see the rest */
	if (memchr(buf, '\0', len)) {
		ret = fail(ctx, -EINVAL, where, "%scontains a NUL byte; not a text file", label);
		goto out;
	}
	*out = buf;
	buf = NULL;
out:
	if (buf)
		OPENSSL_cleanse(buf, (size_t)st->st_size);
	free(buf);
	close(fd);
	return ret;
}

/* One more secret from text; `what` places it ("line 2: "); messages never show it. */
static int add_secret(struct parse_ctx *ctx, const char *text, const char *path, const char *what,
		      struct config_endpoint *ep)
{
	int ret;

	if (ep->secret_count >= CONFIG_MAX_SECRETS)
		return fail(ctx, -EINVAL, path, "%smore than %d secrets in all", what,
			    CONFIG_MAX_SECRETS);
	ret = sign_key_parse(text, &ep->secrets[ep->secret_count]);
	if (ret == -EINVAL)
		return fail(ctx, ret, path, "%snot a valid whsec_ secret (base64, 16 to %d bytes)",
			    what, SIGN_KEY_MAX);
	if (ret)
		return fail(ctx, ret, path, "cannot set up the HMAC key: %s", strerror(-ret));
	ep->secret_count++;
	return 0;
}

static int parse_secret(struct parse_ctx *ctx, const cJSON *item, const char *path,
			struct config_endpoint *ep)
{
	if (!cJSON_IsString(item))
		return fail(ctx, -EINVAL, path, "must be a string");
	return add_secret(ctx, item->valuestring, path, "", ep);
}

/*
 * Whitespace-separated secrets from a file (by_line: numbered by line, "#"
 * starts a comment) or an environment variable (numbered in order).  The
 * text is cut in place.
 */
static int add_secret_tokens(struct parse_ctx *ctx, char *text, const char *path, bool by_line,
			     struct config_endpoint *ep)
{
	unsigned int line = 1, index = 0;
	char what[32], *p = text;
	int ret;

	while (*p) {
		size_t len;
		char saved;

		if (*p == '\n') {
			line++;
			p++;
			continue;
		}
		if (strchr(" \t\r\v\f", *p)) {
			p++;
			continue;
		}
		if (by_line && *p == '#') {
			p += strcspn(p, "\n");
			continue;
		}
		len = strcspn(p, " \t\r\n\v\f");
		saved = p[len];
		p[len] = '\0';
		snprintf(what, sizeof(what), "%s %u: ", by_line ? "line" : "secret",
			 by_line ? line : index + 1);
		index++;
		ret = add_secret(ctx, p, path, what, ep);
		p[len] = saved;
		if (ret)
			return ret;
		p += len;
	}
	if (!index)
		return fail(ctx, -EINVAL, path, "holds no secret");
	return 0;
}

/*
 * A file of secrets, one per line.  Anyone who can write it can sign
 * webhooks as us: refuse that.  Readable by others is a leak waiting to
 * happen, but secret volumes are often mounted 0644: warn.
 */
static int parse_secret_file(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			     struct config_endpoint *ep)
{
	const cJSON *item = member(obj, "secret_file");
	char kpath[CONFIG_KEY_PATH_MAX], label[PATH_MAX + 2];
	char *file = NULL, *text = NULL;
	const char *given = NULL;
	struct stat st;
	int ret;

	if (!item)
		return 0;
	key_path(kpath, path, "secret_file");
	ret = get_string(ctx, item, kpath, &given);
	if (!ret)
		ret = resolve_path(ctx, given, kpath, &file);
	if (ret)
		goto out;
	snprintf(label, sizeof(label), "%s: ", file);
	ret = read_text_file(ctx, file, kpath, label, SECRET_FILE_MAX, &text, &st);
	if (ret)
		goto out;
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		ret = fail(ctx, -EPERM, kpath,
			   "%s is writable by group or others; refusing it (chmod go-w)", file);
		goto out;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH))
		warn(ctx, kpath, "%s is readable by group or others; chmod 600 is safer", file);
	ret = add_secret_tokens(ctx, text, kpath, true, ep);
out:
	if (text)
		OPENSSL_cleanse(text, strlen(text));
	free(text);
	free(file);
	return ret;
}

static int parse_secret_env(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			    struct config_endpoint *ep)
{
	const cJSON *item = member(obj, "secret_env");
	char kpath[CONFIG_KEY_PATH_MAX];
	const char *name = NULL, *value;
	char *text;
	int ret;

	if (!item)
		return 0;
	key_path(kpath, path, "secret_env");
	ret = get_string(ctx, item, kpath, &name);
	if (ret)
		return ret;
	if (strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_") !=
		    strlen(name) || (name[0] >= '0' && name[0] <= '9'))
		return fail(ctx, -EINVAL, kpath, "must be an environment variable name");
	value = getenv(name);
	if (!value)
		return fail(ctx, -ENOENT, kpath, "environment variable %s is not set", name);
	text = strdup(value);
	if (!text)
		return fail(ctx, -ENOMEM, kpath, "out of memory");
	ret = add_secret_tokens(ctx, text, kpath, false, ep);
	OPENSSL_cleanse(text, strlen(text));
	free(text);
	return ret;
}

/* "secret" or "secrets" (several during a key rotation), "secret_file",
 * "secret_env": any mix, at least one secret, all used. */
static int parse_secrets(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			 struct config_endpoint *ep)
{
	const cJSON *one = member(obj, "secret"), *list = member(obj, "secrets");
	char kpath[CONFIG_KEY_PATH_MAX], ipath[CONFIG_KEY_PATH_MAX];
	int i, n = 0, ret = 0;

	if (one && list)
		return fail(ctx, -EINVAL, path, "has both \"secret\" and \"secrets\"; use one");
	if (one) {
		key_path(kpath, path, "secret");
		ret = parse_secret(ctx, one, kpath, ep);
	} else if (list) {
		key_path(kpath, path, "secrets");
		ret = get_array(ctx, list, kpath, "whsec_ strings", &n);
		if (!ret && n > CONFIG_MAX_SECRETS)
			ret = fail(ctx, -EINVAL, kpath, "must hold at most %d secrets",
				   CONFIG_MAX_SECRETS);
		for (i = 0; !ret && i < n; i++) {
			index_path(ipath, kpath, i);
			ret = parse_secret(ctx, cJSON_GetArrayItem(list, i), ipath, ep);
		}
	}
	if (!ret)
		ret = parse_secret_file(ctx, obj, path, ep);
	if (!ret)
		ret = parse_secret_env(ctx, obj, path, ep);
	if (!ret && !ep->secret_count)
		ret = fail(ctx, -EINVAL, path,
			   "needs \"secret\" or \"secrets\" (or \"secret_file\", \"secret_env\")");
	return ret;
}

static int parse_endpoint_id(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			     const struct config *cfg, size_t index)
{
	struct config_endpoint *ep = &cfg->endpoints[index];
	char kpath[CONFIG_KEY_PATH_MAX];
	const cJSON *item = member(obj, "id");
	const char *id = NULL;
	size_t j;
	int ret;

	key_path(kpath, path, "id");
	if (!item)
		return fail(ctx, -EINVAL, kpath, "is required");
	ret = get_string(ctx, item, kpath, &id);
	if (!ret)
		ret = check_endpoint_id(ctx, id, kpath);
	if (ret)
		return ret;
	for (j = 0; j < index; j++)
		if (strcmp(cfg->endpoints[j].id, id) == 0)
			return fail(ctx, -EINVAL, kpath, "\"%s\" is already endpoints[%zu].id", id,
				    j);
	return dup_string(ctx, kpath, id, &ep->id);
}

static int parse_endpoint_url(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			      struct config_endpoint *ep)
{
	char kpath[CONFIG_KEY_PATH_MAX];
	const cJSON *item = member(obj, "url");
	const char *url = NULL;
	int ret;

	key_path(kpath, path, "url");
	if (!item)
		return fail(ctx, -EINVAL, kpath, "is required");
	ret = get_string(ctx, item, kpath, &url);
	if (!ret)
		ret = check_url(ctx, url, kpath);
	if (!ret)
		ret = dup_string(ctx, kpath, url, &ep->url);
	return ret;
}

/* "schedule_ms": [0, 5000, ...]: the delay before each attempt, the first 0. */
static int parse_schedule(struct parse_ctx *ctx, const cJSON *list, const char *path,
			  struct retry_policy *retry)
{
	char ipath[CONFIG_KEY_PATH_MAX];
	int i, n = 0, ret;

	ret = get_array(ctx, list, path, "delays in ms", &n);
	if (ret)
		return ret;
	if (n > RETRY_ATTEMPTS_MAX)
		return fail(ctx, -EINVAL, path, "must hold at most %d delays", RETRY_ATTEMPTS_MAX);
	for (i = 0; i < n; i++) {
		const cJSON *item = cJSON_GetArrayItem(list, i);

		index_path(ipath, path, i);
		if (i == 0 && !(cJSON_IsNumber(item) && item->valuedouble == 0))
			return fail(ctx, -EINVAL, ipath, "must be 0: the first attempt is immediate");
		ret = uint_value(ctx, item, ipath, 0, DELAY_MAX, &retry->schedule_ms[i]);
		if (ret)
			return ret;
	}
	retry->kind = RETRY_SCHEDULE;
	retry->schedule_len = (unsigned int)n;
	retry->max_attempts = (unsigned int)n;
	return 0;
}

static int parse_exponential(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			     struct retry_policy *retry)
{
	char kpath[CONFIG_KEY_PATH_MAX];
	unsigned int base = 0, cap = 0;
	int ret;

	ret = get_object(ctx, obj, path, exponential_keys);
	if (ret)
		return ret;
	if (!member(obj, "base_ms") || !member(obj, "cap_ms")) {
		key_path(kpath, path, member(obj, "base_ms") ? "cap_ms" : "base_ms");
		return fail(ctx, -EINVAL, kpath, "is required");
	}
	ret = get_uint(ctx, obj, "base_ms", path, 1, DELAY_MAX, &base);
	if (!ret)
		ret = get_uint(ctx, obj, "cap_ms", path, 1, DELAY_MAX, &cap);
	if (!ret && cap < base) {
		key_path(kpath, path, "cap_ms");
		ret = fail(ctx, -EINVAL, kpath, "must be at least base_ms (%u)", base);
	}
	if (!ret)
		ret = get_uint(ctx, obj, "max_attempts", path, 1, RETRY_ATTEMPTS_MAX,
			       &retry->max_attempts);
	if (ret)
		return ret;
	retry->kind = RETRY_EXPONENTIAL;
	retry->base_ms = base;
	retry->cap_ms = cap;
	retry->schedule_len = 0;
	return 0;
}

/*
 * "retry": {"schedule_ms": [...]} or {"exponential": {...}}, plus
 * "jitter_percent" and "retry_after_max_ms"; the endpoint's "max_attempts"
 * then cuts or stretches the schedule (its last delay repeats).
 */
static int parse_retry(struct parse_ctx *ctx, const cJSON *obj, const char *path,
		       struct retry_policy *retry)
{
	const cJSON *item = member(obj, "retry"), *sched, *expo;
	char rpath[CONFIG_KEY_PATH_MAX], kpath[CONFIG_KEY_PATH_MAX];
	int ret = 0;

	retry_policy_default(retry);
	key_path(rpath, path, "retry");
	if (item) {
		ret = get_object(ctx, item, rpath, retry_keys);
		if (ret)
			return ret;
		sched = member(item, "schedule_ms");
		expo = member(item, "exponential");
		if (sched && expo)
			return fail(ctx, -EINVAL, rpath,
				    "has both \"schedule_ms\" and \"exponential\"; use one");
		if (sched) {
			key_path(kpath, rpath, "schedule_ms");
			ret = parse_schedule(ctx, sched, kpath, retry);
		} else if (expo) {
			key_path(kpath, rpath, "exponential");
			ret = parse_exponential(ctx, expo, kpath, retry);
		}
		if (!ret)
			ret = get_uint(ctx, item, "jitter_percent", rpath, 0, JITTER_MAX,
				       &retry->jitter_pct);
		if (!ret)
			ret = get_uint(ctx, item, "retry_after_max_ms", rpath, 0, DELAY_MAX,
				       &retry->retry_after_max_ms);
		if (ret)
			return ret;
	}
	if (member(obj, "max_attempts") && retry->kind == RETRY_EXPONENTIAL &&
	    member(member(item, "exponential"), "max_attempts")) {
		key_path(kpath, path, "max_attempts");
		return fail(ctx, -EINVAL, kpath,
			    "is also set in retry.exponential.max_attempts; set it once");
	}
	return get_uint(ctx, obj, "max_attempts", path, 1, RETRY_ATTEMPTS_MAX,
			&retry->max_attempts);
}

/* "breaker": {"failure_ratio", "min_attempts", "window", "cooldown_ms"}, and
 * the endpoint's "disable_after_ms". */
static int parse_breaker(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			 struct breaker_config *breaker)
{
	const cJSON *item = member(obj, "breaker");
	char bpath[CONFIG_KEY_PATH_MAX], kpath[CONFIG_KEY_PATH_MAX];
	unsigned int disable = 0;
	int ret = 0;

	breaker_config_default(breaker);
	key_path(bpath, path, "breaker");
	if (item) {
		ret = get_object(ctx, item, bpath, breaker_keys);
		if (!ret)
			ret = get_ratio(ctx, item, "failure_ratio", bpath, &breaker->failure_ratio);
		if (!ret)
			ret = get_uint(ctx, item, "window", bpath, 1, BREAKER_WINDOW_MAX,
				       &breaker->window);
		if (!ret)
			ret = get_uint(ctx, item, "min_attempts", bpath, 1, BREAKER_WINDOW_MAX,
				       &breaker->min_attempts);
		if (!ret && breaker->min_attempts > breaker->window) {
			key_path(kpath, bpath, "min_attempts");
			ret = fail(ctx, -EINVAL, kpath, "must be at most window (%u)",
				   breaker->window);
		}
		if (!ret)
			ret = get_uint(ctx, item, "cooldown_ms", bpath, COOLDOWN_MIN, COOLDOWN_MAX,
				       &breaker->cooldown_ms);
		if (ret)
			return ret;
	}
	if (member(obj, "disable_after_ms")) {
		ret = get_uint(ctx, obj, "disable_after_ms", path, 0, DISABLE_AFTER_MAX, &disable);
		breaker->disable_after_ms = disable;
	}
	return ret;
}

static bool header_reserved(const char *name)
{
	if (strncasecmp(name, "webhook-", 8) == 0)
		return true;
	for (const char *const *r = reserved_headers; *r; r++)
		if (strcasecmp(name, *r) == 0)
			return true;
	return false;
}

/* Header values often are credentials: no message here ever shows one. */
static int check_header(struct parse_ctx *ctx, const cJSON *item, const char *hpath)
{
	const char *name = item->string;
	size_t len = strlen(name);

	if (!len || len > HEADER_NAME_MAX ||
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
			 "!#$%&'*+-.^_`|~") != len)
		return fail(ctx, -EINVAL, hpath, "not a valid header name (1 to %d token characters)",
			    HEADER_NAME_MAX);
	if (header_reserved(name))
		return fail(ctx, -EINVAL, hpath, "is set by probehook; it cannot be overridden");
	if (!cJSON_IsString(item) || !item->valuestring[0])
		return fail(ctx, -EINVAL, hpath, "must be a non-empty string");
	if (strlen(item->valuestring) > HEADER_VALUE_MAX)
		return fail(ctx, -EINVAL, hpath, "must be at most %d bytes", HEADER_VALUE_MAX);
	for (const unsigned char *v = (const unsigned char *)item->valuestring; *v; v++)
		if ((*v < 0x20 && *v != '\t') || *v == 0x7f)
			return fail(ctx, -EINVAL, hpath,
				    "must not contain CR, LF or other control characters");
	return 0;
}

/* "headers": {"Authorization": "Bearer ..."}: extra request headers. */
static int parse_headers(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			 struct config_endpoint *ep)
{
	const cJSON *headers = member(obj, "headers"), *item, *prev;
	char kpath[CONFIG_KEY_PATH_MAX], hpath[CONFIG_KEY_PATH_MAX];
	size_t n, len;
	char *line;
	int ret;

	if (!headers)
		return 0;
	key_path(kpath, path, "headers");
	ret = get_object(ctx, headers, kpath, NULL);
	if (ret)
		return ret;
	n = (size_t)cJSON_GetArraySize(headers);
	if (n > CONFIG_MAX_HEADERS)
		return fail(ctx, -EINVAL, kpath, "must hold at most %d headers", CONFIG_MAX_HEADERS);
	if (!n)
		return 0;
	ep->headers = calloc(n, sizeof(*ep->headers));
	if (!ep->headers)
		return fail(ctx, -ENOMEM, kpath, "out of memory");
	cJSON_ArrayForEach(item, headers) {
		key_path(hpath, kpath, item->string);
		ret = check_header(ctx, item, hpath);
		if (ret)
			return ret;
		/* header names are case-insensitive: two spellings would both be sent */
		for (prev = headers->child; prev != item; prev = prev->next)
			if (strcasecmp(prev->string, item->string) == 0)
				return fail(ctx, -EINVAL, hpath, "repeats header \"%s\"",
					    prev->string);
		len = strlen(item->string) + 2 + strlen(item->valuestring) + 1;
		line = malloc(len);
		if (!line)
			return fail(ctx, -ENOMEM, hpath, "out of memory");
		snprintf(line, len, "%s: %s", item->string, item->valuestring);
		ep->headers[ep->header_count++] = line;
	}
	return 0;
}

static int parse_ca_bundle(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			   struct config_endpoint *ep)
{
	const cJSON *item = member(obj, "ca_bundle");
	char kpath[CONFIG_KEY_PATH_MAX];
	const char *given = NULL;
	int ret;

	if (!item)
		return 0;
	key_path(kpath, path, "ca_bundle");
	ret = get_string(ctx, item, kpath, &given);
	return ret ?: resolve_path(ctx, given, kpath, &ep->ca_bundle);
}

/* How the endpoint is delivered to: limits, retries, breaker, TLS, extras. */
static int parse_delivery(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			  struct config_endpoint *ep)
{
	int ret;

	ep->timeout_ms = TIMEOUT_DEFAULT;
	ep->max_in_flight = CONFIG_MAX_IN_FLIGHT_DEFAULT;
	ep->max_payload_bytes = PAYLOAD_DEFAULT;
	ret = get_bool(ctx, obj, "allow_private_networks", path, false,
		       &ep->allow_private_networks);
	if (!ret)
		ret = get_bool(ctx, obj, "ordered", path, false, &ep->ordered);
	if (!ret)
		ret = get_uint(ctx, obj, "timeout_ms", path, TIMEOUT_MIN, TIMEOUT_MAX,
			       &ep->timeout_ms);
	if (!ret)
		ret = get_uint(ctx, obj, "max_in_flight", path, 1, IN_FLIGHT_MAX,
			       &ep->max_in_flight);
	if (!ret)
		ret = get_uint(ctx, obj, "max_payload_bytes", path, PAYLOAD_MIN, PAYLOAD_MAX,
			       &ep->max_payload_bytes);
	if (!ret)
		ret = parse_retry(ctx, obj, path, &ep->retry);
	if (!ret)
		ret = parse_breaker(ctx, obj, path, &ep->breaker);
	if (!ret)
		ret = parse_ca_bundle(ctx, obj, path, ep);
	if (!ret)
		ret = parse_headers(ctx, obj, path, ep);
	return ret;
}

static int parse_endpoint(struct parse_ctx *ctx, const cJSON *obj, const char *path,
			  struct config *cfg, size_t index)
{
	struct config_endpoint *ep = &cfg->endpoints[index];
	int ret;

	ret = get_object(ctx, obj, path, endpoint_keys);
	if (!ret)
		ret = parse_endpoint_id(ctx, obj, path, cfg, index);
	if (!ret)
		ret = parse_endpoint_url(ctx, obj, path, ep);
	if (!ret)
		ret = parse_secrets(ctx, obj, path, ep);
	if (!ret)
		ret = parse_patterns(ctx, obj, "events", path, PATTERN_EVENTS, &ep->events);
	if (!ret)
		ret = parse_patterns(ctx, obj, "agents", path, PATTERN_AGENTS, &ep->agents);
	if (!ret)
		ret = parse_delivery(ctx, obj, path, ep);
	return ret;
}

static int parse_endpoints(struct parse_ctx *ctx, const cJSON *root, struct config *cfg)
{
	const cJSON *list = member(root, "endpoints");
	char path[CONFIG_KEY_PATH_MAX];
	int i, n = 0, ret;

	if (!list)
		return fail(ctx, -EINVAL, "endpoints", "is required");
	ret = get_array(ctx, list, "endpoints", "objects", &n);
	if (ret)
		return ret;
	cfg->endpoints = calloc((size_t)n, sizeof(*cfg->endpoints));
	if (!cfg->endpoints)
		return fail(ctx, -ENOMEM, "endpoints", "out of memory");
	cfg->endpoint_count = (size_t)n;
	for (i = 0; i < n; i++) {
		index_path(path, "endpoints", i);
		ret = parse_endpoint(ctx, cJSON_GetArrayItem(list, i), path, cfg, (size_t)i);
		if (ret)
			return ret;
	}
	return 0;
}

/* {"webhook_enabled": bool, "webhook_events": [...]}, for an agent or the default. */
static int parse_agent_settings(struct parse_ctx *ctx, const cJSON *obj, const char *path,
				bool enabled_required, struct config_agent *agent)
{
	int ret;

	ret = get_object(ctx, obj, path, agent_keys);
	if (!ret)
		ret = get_bool(ctx, obj, "webhook_enabled", path, enabled_required,
			       &agent->webhook_enabled);
	if (!ret)
		ret = parse_patterns(ctx, obj, "webhook_events", path, PATTERN_EVENTS,
				     &agent->events);
	return ret;
}

static int parse_agents(struct parse_ctx *ctx, const cJSON *root, struct config *cfg)
{
	const cJSON *obj = member(root, "agents"), *item;
	char path[CONFIG_KEY_PATH_MAX];
	size_t i = 0;
	int ret;

	if (!obj)
		return 0;
	ret = get_object(ctx, obj, "agents", NULL);
	if (ret || !cJSON_GetArraySize(obj))
		return ret;
	cfg->agents = calloc((size_t)cJSON_GetArraySize(obj), sizeof(*cfg->agents));
	if (!cfg->agents)
		return fail(ctx, -ENOMEM, "agents", "out of memory");
	cfg->agent_count = (size_t)cJSON_GetArraySize(obj);
	cJSON_ArrayForEach(item, obj) {
		struct config_agent *agent = &cfg->agents[i++];

		if (!item->string[0])
			return fail(ctx, -EINVAL, "agents", "agent ids must not be empty");
		key_path(path, "agents", item->string);
		ret = dup_string(ctx, path, item->string, &agent->agent_id);
		if (!ret)
			ret = parse_agent_settings(ctx, item, path, true, agent);
		if (ret)
			return ret;
	}
	return 0;
}

static int parse_default_agent(struct parse_ctx *ctx, const cJSON *root, struct config *cfg)
{
	const cJSON *obj = member(root, "default_agent");

	if (!obj)
		return default_patterns(ctx, "default_agent", &cfg->default_agent.events);
	return parse_agent_settings(ctx, obj, "default_agent", false, &cfg->default_agent);
}

/* At least a page: the kernel wants a BPF ring buffer page-aligned. */
static int parse_ring_buffer(struct parse_ctx *ctx, const cJSON *root, struct config *cfg)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned int min = page > (long)RING_MIN && page <= (long)RING_MAX ? (unsigned int)page :
									       RING_MIN;
	unsigned int v = RING_DEFAULT;
	int ret;

	ret = get_uint(ctx, root, "ring_buffer_bytes", "", min, RING_MAX, &v);
	if (!ret && (v & (v - 1)))
		ret = -EINVAL;
	if (ret)
		return fail(ctx, ret, "ring_buffer_bytes",
			    "must be a power of two from %u to %u", min, RING_MAX);
	cfg->ring_buffer_bytes = v;
	return 0;
}

/* The socket probehookctl talks to: absolute, and short enough for sun_path. */
static int parse_control_socket(struct parse_ctx *ctx, const cJSON *root, struct config *cfg)
{
	const cJSON *item = member(root, "control_socket");
	const char *path = CONFIG_CONTROL_SOCKET_DEFAULT;
	int ret;

	if (item) {
		ret = get_string(ctx, item, "control_socket", &path);
		if (ret)
			return ret;
		if (path[0] != '/' || strlen(path) >= CONFIG_CONTROL_SOCKET_MAX)
			return fail(ctx, -EINVAL, "control_socket",
				    "must be an absolute path shorter than %d bytes",
				    CONFIG_CONTROL_SOCKET_MAX);
	}
	return dup_string(ctx, "control_socket", path, &cfg->control_socket);
}

/* A byte count in [min, BYTES_MAX]; *out is left alone when the key is absent. */
static int get_bytes(struct parse_ctx *ctx, const cJSON *root, const char *key, uint64_t min,
		     uint64_t *out)
{
	const cJSON *item = member(root, key);
	double v;

	if (!item)
		return 0;
	v = cJSON_IsNumber(item) ? item->valuedouble : -1;
	if (v < (double)min || v > (double)BYTES_MAX || v != (double)(uint64_t)v)
		return fail(ctx, -EINVAL, key, "must be a byte count from %llu to %llu",
			    (unsigned long long)min, BYTES_MAX);
	*out = (uint64_t)v;
	return 0;
}

/* One of names (indexed by enum value); *out is left alone when the key is absent. */
static int get_choice(struct parse_ctx *ctx, const cJSON *root, const char *key,
		      const char *const *names, unsigned int *out)
{
	const cJSON *item = member(root, key);
	char list[128] = "";
	unsigned int i;

	if (!item)
		return 0;
	for (i = 0; names[i]; i++) {
		if (cJSON_IsString(item) && strcmp(item->valuestring, names[i]) == 0) {
			*out = i;
			return 0;
		}
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
			 i ? ", " : "", names[i]);
	}
	return fail(ctx, -EINVAL, key, "must be one of %s", list);
}

/* Where accepted events wait for delivery, and its bounds. */
static int parse_spool(struct parse_ctx *ctx, const cJSON *root, struct config *cfg)
{
	const cJSON *item = member(root, "spool_dir");
	const char *dir = SPOOL_DIR_DEFAULT;
	unsigned int fsync = SPOOL_FSYNC_BATCH, full = SPOOL_DROP_OLDEST;
	int ret = 0;

	cfg->spool_max_bytes = SPOOL_MAX_BYTES_DEFAULT;
	cfg->spool_fsync_interval_ms = SPOOL_FSYNC_INTERVAL_MS_DEFAULT;
	cfg->dead_letter_max_bytes = DEADLETTER_MAX_BYTES_DEFAULT;
	cfg->attempt_log_max_bytes = ATTEMPTLOG_MAX_BYTES_DEFAULT;
	if (item)
		ret = get_string(ctx, item, "spool_dir", &dir);
	/* room left for the file names under it */
	if (!ret && (dir[0] != '/' || strlen(dir) > PATH_MAX - NAME_MAX - 2))
		ret = fail(ctx, -EINVAL, "spool_dir",
			   "must be an absolute path shorter than %d bytes", PATH_MAX - NAME_MAX - 1);
	if (!ret)
		ret = get_bytes(ctx, root, "spool_max_bytes", SPOOL_MAX_BYTES_MIN,
				&cfg->spool_max_bytes);
	if (!ret)
		ret = get_choice(ctx, root, "spool_fsync", spool_fsync_names, &fsync);
	if (!ret)
		ret = get_uint(ctx, root, "spool_fsync_interval_ms", "", 1, FSYNC_INTERVAL_MAX,
			       &cfg->spool_fsync_interval_ms);
	if (!ret)
		ret = get_choice(ctx, root, "spool_full_policy", spool_full_policy_names, &full);
	if (!ret)
		ret = get_bytes(ctx, root, "dead_letter_max_bytes", DEADLETTER_MAX_BYTES_MIN,
				&cfg->dead_letter_max_bytes);
	if (!ret)
		ret = get_bytes(ctx, root, "attempt_log_max_bytes", ATTEMPTLOG_MAX_BYTES_MIN,
				&cfg->attempt_log_max_bytes);
	cfg->spool_fsync = (enum spool_fsync)fsync;
	cfg->spool_full_policy = (enum spool_full_policy)full;
	return ret ? ret : dup_string(ctx, "spool_dir", dir, &cfg->spool_dir);
}

/* Optional: where in bpffs the kernel side outlives the collector. */
static int parse_pin_dir(struct parse_ctx *ctx, const cJSON *root, struct config *cfg)
{
	const cJSON *item = member(root, "pin_dir");
	const char *dir = NULL;
	int ret;

	if (!item)
		return 0;
	ret = get_string(ctx, item, "pin_dir", &dir);
	if (ret)
		return ret;
	/* room left for links/<probe>.<target>.<program>.<n> */
	if (dir[0] != '/' || strlen(dir) >= PATH_MAX - NAME_MAX - 1)
		return fail(ctx, -EINVAL, "pin_dir",
			    "must be an absolute path (on a bpf file system) shorter than %d bytes",
			    PATH_MAX - NAME_MAX - 1);
	return dup_string(ctx, "pin_dir", dir, &cfg->pin_dir);
}

static int parse_root(struct parse_ctx *ctx, const cJSON *root, struct config *cfg)
{
	int ret;

	cfg->max_arg_bytes = PH_ARG_CAP_DEFAULT;
	cfg->queue_max = QUEUE_DEFAULT;
	ret = get_object(ctx, root, "", root_keys);
	if (!ret)
		ret = parse_targets(ctx, root, cfg);
	if (!ret)
		ret = parse_endpoints(ctx, root, cfg);
	if (!ret)
		ret = parse_agents(ctx, root, cfg);
	if (!ret)
		ret = parse_default_agent(ctx, root, cfg);
	if (!ret)
		ret = get_uint(ctx, root, "max_arg_bytes", "", PH_ARG_CAP_MIN, PH_ARG_CAP_MAX,
			       &cfg->max_arg_bytes);
	if (!ret)
		ret = parse_ring_buffer(ctx, root, cfg);
	if (!ret)
		ret = get_uint(ctx, root, "queue_max", "", 1, QUEUE_MAX, &cfg->queue_max);
	if (!ret)
		ret = parse_control_socket(ctx, root, cfg);
	if (!ret)
		ret = parse_spool(ctx, root, cfg);
	if (!ret)
		ret = parse_pin_dir(ctx, root, cfg);
	return ret;
}

static int syntax_error(struct parse_ctx *ctx, const char *json, const char *where)
{
	unsigned int line = 1, column = 1;
	const char *p;

	if (!where)
		return fail(ctx, -EINVAL, "", "not valid JSON");
	for (p = json; p < where && *p; p++) {
		column++;
		if (*p == '\n') {
			line++;
			column = 1;
		}
	}
	return fail(ctx, -EINVAL, "", "not valid JSON near line %u, column %u", line, column);
}

int config_parse(const char *json, const char *base_dir, struct config *cfg, char *err,
		 size_t err_size)
{
	struct parse_ctx ctx = { .err = err, .err_size = err_size, .base_dir = base_dir,
				 .cfg = cfg };
	const char *end = NULL;
	cJSON *root;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (err && err_size)
		err[0] = '\0';
	if (!json)
		return fail(&ctx, -EINVAL, "", "no JSON text");
	/* ParseWithOpts, not cJSON_GetErrorPtr: that one is global state. */
	root = cJSON_ParseWithOpts(json, &end, 1);
	if (!root)
		return syntax_error(&ctx, json, end);
	ret = parse_root(&ctx, root, cfg);
	cJSON_Delete(root);
	if (ret)
		config_free(cfg);
	return ret;
}

/* Prefix the message config_parse wrote with the file's name. */
static void prefix_error(char *err, size_t err_size, const char *path)
{
	char *msg;

	if (!err || !err_size)
		return;
	msg = strdup(err);
	snprintf(err, err_size, "%s: %s", path, msg ? msg : "invalid config");
	free(msg);
}

int config_load(const char *path, struct config *cfg, char *err, size_t err_size)
{
	struct parse_ctx ctx = { .err = err, .err_size = err_size };
	char *json = NULL, *real = NULL;
	struct stat st;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (err && err_size)
		err[0] = '\0';
	ret = read_text_file(&ctx, path, path, "", CONFIG_FILE_MAX, &json, &st);
	if (ret)
		return ret;
	/* The collector is privileged: whoever can write its config owns it. */
	if (st.st_mode & S_IWOTH) {
		ret = fail(&ctx, -EPERM, path, "config file is world-writable; refusing it");
		goto out;
	}
	real = realpath(path, NULL);
	if (!real) {
		ret = fail(&ctx, -errno, path, "%s", strerror(errno));
		goto out;
	}
	ret = config_parse(json, dirname(real), cfg, err, err_size);
	if (ret)
		prefix_error(err, err_size, path);
out:
	free(real);
	free(json);
	return ret;
}

static void free_patterns(struct config_patterns *p)
{
	size_t i;

	for (i = 0; i < p->count; i++)
		free(p->items[i]);
	free(p->items);
}

static void free_agent(struct config_agent *agent)
{
	free(agent->agent_id);
	free_patterns(&agent->events);
}

static void free_endpoint(struct config_endpoint *ep)
{
	size_t i;

	free(ep->id);
	free(ep->url);
	free(ep->ca_bundle);
	for (i = 0; i < ep->header_count; i++) {
		OPENSSL_cleanse(ep->headers[i], strlen(ep->headers[i]));
		free(ep->headers[i]);
	}
	free(ep->headers);
	/* All of them, not secret_count: a failed parse may stop part-way. */
	for (i = 0; i < CONFIG_MAX_SECRETS; i++)
		sign_key_free(&ep->secrets[i]);
	free_patterns(&ep->events);
	free_patterns(&ep->agents);
}

void config_free(struct config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->target_count; i++)
		free(cfg->targets[i].path);
	free(cfg->targets);
	for (i = 0; i < cfg->endpoint_count; i++)
		free_endpoint(&cfg->endpoints[i]);
	free(cfg->endpoints);
	for (i = 0; i < cfg->agent_count; i++)
		free_agent(&cfg->agents[i]);
	free(cfg->agents);
	free_agent(&cfg->default_agent);
	free(cfg->control_socket);
	free(cfg->spool_dir);
	free(cfg->pin_dir);
	for (i = 0; i < cfg->warning_count; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	memset(cfg, 0, sizeof(*cfg));
}
