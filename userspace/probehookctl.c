// SPDX-License-Identifier: MIT
/*
 * probehookctl: talk to a running probehookd over its control socket, or
 * list the USDT probes a binary carries.  Human-readable by default, --json
 * for scripts.  Exit status: 0 ok, 1 the collector refused or failed the
 * command, 2 usage, 3 the collector cannot be reached, 4 permission denied.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "usdt_notes.h"

enum exit_code { EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNREACHABLE, EXIT_DENIED };

struct ctl {
	const char *socket_path;
	bool json;
	int fd;
	FILE *in;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: probehookctl [--socket PATH] [--json] COMMAND [ARGS]\n"
		"\n"
		"Commands (talking to a running probehookd):\n"
		"  status                     probes, targets, endpoints, counters\n"
		"  enable EVENT [--for DUR]   attach EVENT's probe (for DUR, then back)\n"
		"  disable EVENT [--for DUR]  detach EVENT's probe: its semaphore drops to 0\n"
		"  auto EVENT                 let the config decide again\n"
		"  agent ID on|off            switch one agent's webhooks\n"
		"  reload                     re-read the config (as SIGHUP does)\n"
		"  tail                       print every event as a JSON line, live\n"
		"  deliveries [--event ID] [--endpoint E] [--outcome delivered|retry|dead]\n"
		"             [--limit N]     the attempt log, newest first\n"
		"  dead [--endpoint E] [--since DUR] [--limit N]   dead letters, oldest first\n"
		"  replay ID | replay --endpoint E [--since DUR]\n"
		"                             send dead letters again, with their webhook-id\n"
		"  test ENDPOINT [--wait DUR] send a signed probehook.test event; print the outcome\n"
		"Without a collector:\n"
		"  probes PATH                list the USDT probes and semaphores PATH carries\n"
		"\n"
		"  -s, --socket PATH  control socket (default $PROBEHOOK_SOCKET, else\n"
		"                     " CONFIG_CONTROL_SOCKET_DEFAULT ")\n"
		"  -j, --json         print the collector's JSON reply as is\n"
		"  DUR is a number with ms, s, m, h or d (30s, 5m, 1h); plain numbers are seconds.\n"
		"\n"
		"Exit status: 0 ok, 1 refused or failed, 2 usage, 3 collector unreachable,\n"
		"4 permission denied.\n");
}

/* ---- the socket --------------------------------------------------------------------------- */

static int ctl_connect(struct ctl *ctl)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };

	if (strlen(ctl->socket_path) >= sizeof(addr.sun_path)) {
		fprintf(stderr, "probehookctl: socket path too long: %s\n", ctl->socket_path);
		return EXIT_USAGE;
	}
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", ctl->socket_path);
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0 || connect(ctl->fd, (struct sockaddr *)&addr, sizeof(addr))) {
		int err = errno;

		if (err == EACCES || err == EPERM) {
			fprintf(stderr, "probehookctl: %s: permission denied (the control socket "
					"is root's: run probehookctl as root)\n", ctl->socket_path);
			return EXIT_DENIED;
		}
		fprintf(stderr, "probehookctl: cannot reach probehookd at %s: %s\n",
			ctl->socket_path, strerror(err));
		return EXIT_UNREACHABLE;
	}
	ctl->in = fdopen(ctl->fd, "r");
	return ctl->in ? EXIT_OK : EXIT_UNREACHABLE;
}

/* Send one request line; read one reply line into a cJSON object. */
static int ctl_request(struct ctl *ctl, cJSON *request, cJSON **reply)
{
	char *line = cJSON_PrintUnformatted(request), *answer = NULL;
	size_t cap = 0;
	int code = EXIT_OK;

	int sent;

	cJSON_Delete(request);
	/* a refusing collector answers and hangs up at once: read its answer
	 * even when sending failed */
	sent = line && dprintf(ctl->fd, "%s\n", line) >= 0 ? 0 : errno;
	free(line);
	if (getline(&answer, &cap, ctl->in) <= 0) {
		if (sent)
			fprintf(stderr, "probehookctl: sending to %s: %s\n", ctl->socket_path,
				strerror(sent));
		else
			fprintf(stderr, "probehookctl: probehookd closed the connection\n");
		code = EXIT_UNREACHABLE;
	} else if (!(*reply = cJSON_Parse(answer))) {
		fprintf(stderr, "probehookctl: unreadable reply: %s", answer);
		code = EXIT_REFUSED;
	}
	free(answer);
	return code;
}

static bool reply_ok(const cJSON *reply)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "ok"));
}

/* Print an error reply; permission problems get their own exit status. */
static int reply_failed(const cJSON *reply)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(reply, "error");
	const char *text = cJSON_IsString(error) ? error->valuestring : "failed";

	fprintf(stderr, "probehookctl: %s\n", text);
	return strncmp(text, "permission denied", 17) == 0 ? EXIT_DENIED : EXIT_REFUSED;
}

/* ---- output ----------------------------------------------------------------------------- */

static double num(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsNumber(item) ? item->valuedouble : 0;
}

static const char *str(const cJSON *obj, const char *name)
{
	const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);

	return cJSON_IsString(item) ? item->valuestring : "";
}

static void print_status(const cJSON *r)
{
	const cJSON *item, *pid;

	printf("probehookd %s (pid %.0f), up %.0f s, config %s\n", str(r, "version"),
	       num(r, "pid"), num(r, "uptime_ms") / 1000, str(r, "config"));
	if (*str(r, "pin_dir"))
		printf("pinned in %s: probes record while no collector runs; counts span "
		       "collectors\n", str(r, "pin_dir"));
	putchar('\n');
	printf("%-26s %-5s %-8s %12s %10s\n", "PROBE", "MODE", "ATTACHED", "HITS", "DROPS");
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r, "probes")) {
		printf("%-26s %-5s %-8s %12.0f %10.0f", str(item, "event"), str(item, "mode"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(item, "attached")) ? "yes" : "no",
		       num(item, "hits"), num(item, "drops"));
		if (cJSON_GetObjectItemCaseSensitive(item, "reverts_in_ms"))
			printf("  (%s in %.1f s)", str(item, "reverts_to"),
			       num(item, "reverts_in_ms") / 1000);
		putchar('\n');
	}
	printf("\n%-40s %7s %s\n", "TARGET", "PROBES", "PROCESSES");
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r, "targets")) {
		printf("%-40s %7.0f ", str(item, "path"), num(item, "probes_attached"));
		cJSON_ArrayForEach(pid, cJSON_GetObjectItemCaseSensitive(item, "processes"))
			printf(" %.0f", pid->valuedouble);
		putchar('\n');
	}
	printf("\n%-16s %-9s %8s %9s %10s %8s %9s  %s\n", "ENDPOINT", "STATE", "PENDING",
	       "IN-FLIGHT", "DELIVERED", "DEAD", "ATTEMPTS", "URL");
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r, "endpoints"))
		printf("%-16s %-9s %8.0f %9.0f %10.0f %8.0f %9.0f  %s\n", str(item, "id"),
		       str(item, "state"), num(item, "pending"), num(item, "in_flight"),
		       num(item, "delivered"), num(item, "dead_lettered"), num(item, "attempts"),
		       str(item, "url"));
	item = cJSON_GetObjectItemCaseSensitive(r, "spool");
	printf("\nspool %s: %.0f of %.0f bytes, %.0f pending deliveries, %.0f write errors\n",
	       str(item, "dir"), num(item, "bytes"), num(item, "max_bytes"), num(item, "pending"),
	       num(item, "write_errors"));
	cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r, "counters"))
		printf("%s %.0f  ", item->string, item->valuedouble);
	printf("\n");
}

static void print_attempt(const cJSON *a)
{
	printf("%-13.0f %-16s %3.0f  %-9s %4.0f %9.1f ms  %s  %s\n", num(a, "time_ms"),
	       str(a, "endpoint"), num(a, "attempt"), str(a, "outcome"), num(a, "status"),
	       num(a, "latency_us") / 1000, str(a, "webhook_id"), str(a, "error"));
}

static void print_reply(const struct ctl *ctl, const cJSON *reply, const char *cmd)
{
	const cJSON *item;
	char *text;

	if (ctl->json) {
		text = cJSON_PrintUnformatted(reply);
		puts(text ? text : "{}");
		free(text);
	} else if (strcmp(cmd, "status") == 0) {
		print_status(reply);
	} else if (strcmp(cmd, "deliveries") == 0) {
		printf("%-13s %-16s %3s  %-9s %4s %12s  %s\n", "TIME_MS", "ENDPOINT", "TRY",
		       "OUTCOME", "HTTP", "LATENCY", "WEBHOOK-ID / ERROR");
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(reply, "attempts"))
			print_attempt(item);
	} else if (strcmp(cmd, "dead") == 0) {
		printf("%-6s %-13s %-16s %5s  %-37s %s\n", "ID", "TIME_MS", "ENDPOINT", "TRIES",
		       "WEBHOOK-ID", "REASON");
		cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(reply, "dead"))
			printf("%-6.0f %-13.0f %-16s %5.0f  %-37s %s\n", num(item, "id"),
			       num(item, "time_ms"), str(item, "endpoint"), num(item, "attempts"),
			       str(item, "webhook_id"), str(item, "reason"));
	} else if (strcmp(cmd, "replay") == 0) {
		printf("%.0f dead letters replayed\n", num(reply, "replayed"));
	} else if (cJSON_GetObjectItemCaseSensitive(reply, "event")) {
		printf("%s: %s, %s\n", str(reply, "event"), str(reply, "mode"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "attached")) ?
			       "attached" : "not attached");
	} else if (cJSON_GetObjectItemCaseSensitive(reply, "agent")) {
		printf("agent %s: webhooks %s\n", str(reply, "agent"),
		       cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(reply, "enabled")) ? "on" : "off");
	} else {
		printf("ok\n");
	}
}

/* ---- commands --------------------------------------------------------------------------- */

/* "30s", "5m", "1h", "2d", "500ms", "10" (seconds) → milliseconds; 0 when invalid. */
static double parse_duration_ms(const char *text)
{
	char *unit;
	double v = strtod(text, &unit);

	if (unit == text || v <= 0)
		return 0;
	if (!*unit || strcmp(unit, "s") == 0)
		return v * 1000;
	if (strcmp(unit, "ms") == 0)
		return v;
	if (strcmp(unit, "m") == 0)
		return v * 60000;
	if (strcmp(unit, "h") == 0)
		return v * 3600000;
	if (strcmp(unit, "d") == 0)
		return v * 86400000;
	return 0;
}

static double now_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000 + (double)(ts.tv_nsec / 1000000);
}

/*
 * "--event ID --limit 5" style flags of the attempt-log and dead-letter
 * commands into req; --since DUR becomes since_ms.  Positional arguments
 * are left in pos (at most one).  false on anything unknown.
 */
static bool parse_flags(cJSON *req, int argc, char **argv, const char *const *allowed,
			const char **pos)
{
	for (int i = 0; i < argc; i++) {
		const char *name = argv[i] + 2;
		bool known = false;

		if (strncmp(argv[i], "--", 2) != 0) {
			if (*pos)
				return false;
			*pos = argv[i];
			continue;
		}
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, name) == 0;
		if (!known || i + 1 >= argc)
			return false;
		if (strcmp(name, "limit") == 0) {
			cJSON_AddNumberToObject(req, "limit", atof(argv[++i]));
		} else if (strcmp(name, "since") == 0 || strcmp(name, "wait") == 0) {
			double ms = parse_duration_ms(argv[++i]);

			if (ms < 1)
				return false;
			if (name[0] == 's')
				cJSON_AddNumberToObject(req, "since_ms", now_unix_ms() - ms);
			else
				cJSON_AddNumberToObject(req, "wait_ms", ms);
		} else {
			cJSON_AddStringToObject(req, name, argv[++i]);
		}
	}
	return true;
}

/* The commands that take flags: deliveries, dead, replay, test. */
static cJSON *build_flagged(cJSON *req, const char *cmd, int argc, char **argv)
{
	static const char *const deliveries[] = { "event", "endpoint", "outcome", "limit", NULL };
	static const char *const dead[] = { "endpoint", "since", "limit", NULL };
	static const char *const test[] = { "wait", NULL };
	const char *pos = NULL;
	bool ok;

	if (!strcmp(cmd, "deliveries"))
		ok = parse_flags(req, argc, argv, deliveries, &pos) && !pos;
	else if (!strcmp(cmd, "dead"))
		ok = parse_flags(req, argc, argv, dead, &pos) && !pos;
	else if (!strcmp(cmd, "replay"))
		ok = parse_flags(req, argc, argv, dead, &pos) &&
		     (pos ? (cJSON_AddNumberToObject(req, "id", atof(pos)), true) :
			    cJSON_GetObjectItemCaseSensitive(req, "endpoint") != NULL);
	else
		ok = parse_flags(req, argc, argv, test, &pos) && pos &&
		     cJSON_AddStringToObject(req, "endpoint", pos);
	if (ok)
		return req;
	fprintf(stderr, "probehookctl: wrong arguments for '%s'\n", cmd);
	cJSON_Delete(req);
	return NULL;
}

/* argv after the command name → the request object, or NULL with a message. */
static cJSON *build_request(const char *cmd, int argc, char **argv)
{
	cJSON *req = cJSON_CreateObject();

	cJSON_AddStringToObject(req, "cmd", cmd);
	if (!strcmp(cmd, "deliveries") || !strcmp(cmd, "dead") || !strcmp(cmd, "replay") ||
	    !strcmp(cmd, "test"))
		return build_flagged(req, cmd, argc, argv);
	if (!strcmp(cmd, "status") || !strcmp(cmd, "reload") || !strcmp(cmd, "tail")) {
		if (argc == 0)
			return req;
	} else if (!strcmp(cmd, "enable") || !strcmp(cmd, "disable") || !strcmp(cmd, "auto")) {
		if (argc == 1 || (argc == 3 && strcmp(cmd, "auto") && !strcmp(argv[1], "--for"))) {
			double ms = argc == 3 ? parse_duration_ms(argv[2]) : 0;

			if (argc == 3 && ms < 1) {
				fprintf(stderr, "probehookctl: --for %s: not a duration\n", argv[2]);
				cJSON_Delete(req);
				return NULL;
			}
			cJSON_AddStringToObject(req, "event", argv[0]);
			if (ms >= 1)
				cJSON_AddNumberToObject(req, "for_ms", ms);
			return req;
		}
	} else if (!strcmp(cmd, "agent")) {
		if (argc == 2 && (!strcmp(argv[1], "on") || !strcmp(argv[1], "off"))) {
			cJSON_AddStringToObject(req, "agent", argv[0]);
			cJSON_AddBoolToObject(req, "enabled", !strcmp(argv[1], "on"));
			return req;
		}
	} else {
		fprintf(stderr, "probehookctl: unknown command '%s'\n", cmd);
		cJSON_Delete(req);
		return NULL;
	}
	fprintf(stderr, "probehookctl: wrong arguments for '%s'\n", cmd);
	cJSON_Delete(req);
	return NULL;
}

static int run_tail(struct ctl *ctl)
{
	char *line = NULL;
	size_t cap = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while (getline(&line, &cap, ctl->in) > 0)
		fputs(line, stdout);
	free(line);
	return EXIT_OK;
}

/*
 * After "test": ask for the test event's attempts until one is final
 * (delivered or dead) or the wait runs out.  0 when delivered.
 */
static int follow_test(struct ctl *ctl, const cJSON *sent, double wait_ms)
{
	const char *id = str(sent, "webhook_id");
	double deadline = now_unix_ms() + wait_ms;
	int code = EXIT_REFUSED;

	printf("sent %s to endpoint %s\n", id, str(sent, "endpoint"));
	while (now_unix_ms() < deadline) {
		cJSON *req = cJSON_CreateObject(), *reply = NULL, *first;
		const char *outcome;

		cJSON_AddStringToObject(req, "cmd", "deliveries");
		cJSON_AddStringToObject(req, "event", id);
		cJSON_AddNumberToObject(req, "limit", 1);
		if (ctl_request(ctl, req, &reply) != EXIT_OK)
			return EXIT_UNREACHABLE;
		first = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(reply, "attempts"), 0);
		outcome = first ? str(first, "outcome") : "";
		if (!strcmp(outcome, "delivered") || !strcmp(outcome, "dead")) {
			print_attempt(first);
			code = strcmp(outcome, "delivered") == 0 ? EXIT_OK : EXIT_REFUSED;
			cJSON_Delete(reply);
			return code;
		}
		cJSON_Delete(reply);
		usleep(200 * 1000);
	}
	fprintf(stderr, "probehookctl: no final outcome for %s within %.0f ms (see "
			"'probehookctl deliveries --event %s')\n", id, wait_ms, id);
	return code;
}

static int run_command(struct ctl *ctl, const char *cmd, int argc, char **argv)
{
	cJSON *request = build_request(cmd, argc, argv), *reply = NULL;
	double wait_ms = 20000;
	int code;

	if (!request) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (cJSON_GetObjectItemCaseSensitive(request, "wait_ms"))
		wait_ms = cJSON_GetObjectItemCaseSensitive(request, "wait_ms")->valuedouble;
	code = ctl_connect(ctl);
	if (code == EXIT_OK)
		code = ctl_request(ctl, request, &reply);
	else
		cJSON_Delete(request);
	if (code == EXIT_OK && !reply_ok(reply))
		code = reply_failed(reply);
	else if (code == EXIT_OK && strcmp(cmd, "tail") == 0)
		code = run_tail(ctl);
	else if (code == EXIT_OK && strcmp(cmd, "test") == 0)
		code = follow_test(ctl, reply, wait_ms);
	else if (code == EXIT_OK)
		print_reply(ctl, reply, cmd);
	cJSON_Delete(reply);
	if (ctl->in)
		fclose(ctl->in);
	return code;
}

/* ---- probes PATH ------------------------------------------------------------------------ */

static int print_note(const struct usdt_note *note, void *ctx)
{
	cJSON *list = ctx;
	char sem[24] = "none";

	if (note->semaphore)
		snprintf(sem, sizeof(sem), "0x%" PRIx64, note->semaphore);
	if (list) {
		cJSON *obj = cJSON_CreateObject();

		cJSON_AddStringToObject(obj, "provider", note->provider);
		cJSON_AddStringToObject(obj, "name", note->name);
		cJSON_AddStringToObject(obj, "semaphore", note->semaphore ? sem : "");
		cJSON_AddStringToObject(obj, "args", note->args);
		cJSON_AddItemToArray(list, obj);
		return 0;
	}
	printf("%s:%-30s semaphore %-10s args %s\n", note->provider, note->name, sem, note->args);
	return 0;
}

static int run_probes(const struct ctl *ctl, int argc, char **argv)
{
	cJSON *list = ctl->json ? cJSON_CreateArray() : NULL;
	int err;

	if (argc != 1) {
		usage(stderr);
		return EXIT_USAGE;
	}
	err = usdt_notes_read(argv[0], print_note, list);
	if (err) {
		fprintf(stderr, "probehookctl: %s: %s\n", argv[0],
			err == -ENOEXEC ? "not an ELF64 file" :
			err == -EBADMSG ? "malformed USDT notes" : strerror(-err));
		cJSON_Delete(list);
		return EXIT_REFUSED;
	}
	if (list) {
		char *text = cJSON_PrintUnformatted(list);

		puts(text ? text : "[]");
		free(text);
		cJSON_Delete(list);
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "socket", required_argument, NULL, 's' }, { "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },         { 0 }
	};
	struct ctl ctl = { .fd = -1 };
	int opt;

	ctl.socket_path = getenv("PROBEHOOK_SOCKET");
	if (!ctl.socket_path || !*ctl.socket_path)
		ctl.socket_path = CONFIG_CONTROL_SOCKET_DEFAULT;
	/* "+": options only before the command, so "enable X --for 5s" reaches it whole */
	while ((opt = getopt_long(argc, argv, "+s:jh", options, NULL)) != -1) {
		switch (opt) {
		case 's': ctl.socket_path = optarg; break;
		case 'j': ctl.json = true; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	if (strcmp(argv[optind], "probes") == 0)
		return run_probes(&ctl, argc - optind - 1, argv + optind + 1);
	return run_command(&ctl, argv[optind], argc - optind - 1, argv + optind + 1);
}
