// SPDX-License-Identifier: MIT
/*
 * probehook-demo-agent: a stand-in for the Letta agent server of the seed
 * issue, firing all eight probes the way an instrumented server would.
 *
 * It is also the reference for the call-site idiom: a probe whose arguments
 * cost something to prepare (JSON text here) is guarded by its semaphore,
 *
 *	if (PROBEHOOK_AGENT_STEP_COMPLETED_ENABLED()) {
 *		...format usage and tool calls into stack buffers...
 *		PROBEHOOK_AGENT_STEP_COMPLETED(agent, step, "completed", usage, calls);
 *	}
 *
 * so that while no collector listens a probe site costs a load and a branch.
 *
 * The simulation: each agent gets two tools attached, then runs steps (one or
 * two tool executions, then the step completes, or every K-th step fails).
 * Steps are grouped into "messages requests"; a request owns a run (or no
 * run: the run id is then NULL), which completes or fails with the request.
 * At the end one tool is detached and each agent's job completes.
 */
#define PROBEHOOK_DEFINE_SEMAPHORES
#include <probehook/probehook.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_AGENTS 64
#define AGENT_ID_MAX 128	/* with the NUL; long enough for "agent-" + a UUID */
#define ID_MAX (AGENT_ID_MAX + 32)
#define STEPS_PER_REQUEST 3
#define WAIT_POLL_NS 10000000L	/* --wait-enabled polls the semaphores every 10 ms */
#define PRINT_PERIOD_NS 100000000L

#define EXIT_USAGE 2
#define EXIT_NOT_ENABLED 3

/* The only mutable global: what the signal handler may touch. */
static volatile sig_atomic_t stop;

struct usage {
	int64_t completion_tokens;
	int64_t prompt_tokens;
	int64_t step_count;
};

struct agent {
	char id[AGENT_ID_MAX];
	unsigned long steps;		/* steps taken; numbers the step ids */
	unsigned long requests;		/* messages requests started; numbers the runs */
	unsigned int req_steps;		/* steps in the open request, 0 = none open */
	bool req_has_run;		/* some requests run without a run id */
	struct usage req_usage;
};

struct tool {
	const char *id;
	const char *name;
};

/* Tools are shared objects: every agent attaches the same ids. */
static const struct tool tools[] = {
	{ "tool-3f9a2c71-5e0b-4d8a-9c61-0b7e2f14a9d3", "web_search" },
	{ "tool-b84e0d55-19c2-4f3e-8a7d-6c5f1e2b9a04", "run_code" },
};
#define DETACHED_TOOL 1

static const char *const queries[] = {
	"weather in Paris", "latest Letta release notes", "convert 100 USD to EUR",
	"\"USDT probes\" overhead",
};

static const char *const snippets[] = {
	"print(sum(range(10)))", "import math\nprint(math.pi)",
};

/* One tool call the model asked for; its JSON is only built when a probe wants it. */
struct call {
	const struct tool *tool;
	unsigned long seq;		/* global call number: ids and outcomes */
	const char *text;		/* the query or the code */
	int limit;
	int64_t exec_us;
	bool ok;
};

struct demo {
	struct agent agents[MAX_AGENTS];
	int n_agents;
	unsigned long steps;		/* all agents' steps, round-robin; 0 = until a signal */
	double rate;			/* probe sites per second, 0 = unthrottled */
	unsigned long fail_every;
	double wait_enabled_s;
	bool quiet;
	bool print_enabled;

	int64_t interval_ns;
	struct timespec next;		/* the absolute schedule of the pacer */
	unsigned long long fired;	/* probe sites reached */
	unsigned long long fired_enabled;	/* ... with the semaphore set */
	unsigned long step_seq;		/* all agents' steps, for --fail-every */
	unsigned long call_seq;
	unsigned long failures;
};

/* ---- small string builder: snprintf into a caller's stack buffer ---------------------------- */

struct sbuf {
	char *p;
	size_t len;
	size_t cap;
};

static void sb_init(struct sbuf *b, char *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	p[0] = '\0';
}

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->len += (size_t)n;	/* past cap means truncated; later appends stop */
}

/* Appends s as a JSON string literal (quotes included). */
static void sb_quote(struct sbuf *b, const char *s)
{
	sb_printf(b, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			sb_printf(b, "\\%c", c);
		else if (c == '\n')
			sb_printf(b, "\\n");
		else if (c < 0x20)
			sb_printf(b, "\\u%04x", c);
		else
			sb_printf(b, "%c", c);
	}
	sb_printf(b, "\"");
}

/* ---- time and pacing ------------------------------------------------------------------------- */

static int64_t unix_time_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void ts_add(struct timespec *ts, int64_t ns)
{
	ns += ts->tv_nsec;
	ts->tv_sec += ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
}

/* Sleeps until an absolute CLOCK_MONOTONIC time; a signal that sets stop cuts it short. */
static void sleep_until(const struct timespec *when)
{
	while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, when, NULL) == EINTR)
		;
}

/*
 * An absolute schedule keeps the average rate exact however long printing and
 * formatting take; a stall of more than a second restarts it rather than
 * bursting to catch up.
 */
static void pace(struct demo *d)
{
	struct timespec now;

	if (!d->interval_ns || stop)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (d->next.tv_sec == 0 || now.tv_sec > d->next.tv_sec + 1)
		d->next = now;
	ts_add(&d->next, d->interval_ns);
	sleep_until(&d->next);
}

/* Every probe site goes through here first: pacing, the stdout line, the count. */
static void site(struct demo *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void site(struct demo *d, const char *fmt, ...)
{
	va_list ap;

	pace(d);
	d->fired++;
	if (d->quiet)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* ---- the catalog, as the demo sees it -------------------------------------------------------- */

#define TYPE_(id, NAME, type, ...) [id] = type,
static const char *const event_types[PROBEHOOK_EVENT_COUNT] = { PROBEHOOK_EVENTS(TYPE_) };
#undef TYPE_

static bool event_enabled(int id)
{
#define CASE_(id, NAME, ...)                                     \
	case id:                                                 \
		return PROBEHOOK_##NAME##_ENABLED() != 0;
	switch (id) {
		PROBEHOOK_EVENTS(CASE_)
	}
#undef CASE_
	return false;
}

static bool any_enabled(void)
{
	int id;

	for (id = 0; id < PROBEHOOK_EVENT_COUNT; id++)
		if (event_enabled(id))
			return true;
	return false;
}

/* ---- JSON arguments, only ever called under a semaphore test --------------------------------- */

static void usage_json(struct sbuf *b, const struct usage *u)
{
	sb_printf(b,
		  "{\"completion_tokens\":%" PRId64 ",\"prompt_tokens\":%" PRId64
		  ",\"total_tokens\":%" PRId64 ",\"step_count\":%" PRId64 "}",
		  u->completion_tokens, u->prompt_tokens,
		  u->completion_tokens + u->prompt_tokens, u->step_count);
}

static void tool_args_json(struct sbuf *b, const struct call *c)
{
	if (c->tool == &tools[0]) {
		sb_printf(b, "{\"query\":");
		sb_quote(b, c->text);
		sb_printf(b, ",\"limit\":%d}", c->limit);
	} else {
		sb_printf(b, "{\"language\":\"python\",\"code\":");
		sb_quote(b, c->text);
		sb_printf(b, "}");
	}
}

/* OpenAI-style tool calls: "arguments" is the args JSON, itself as a string. */
static void tool_calls_json(struct sbuf *b, const struct call *calls, int n)
{
	char args[512];
	struct sbuf ab;
	int i;

	sb_printf(b, "[");
	for (i = 0; i < n; i++) {
		sb_init(&ab, args, sizeof(args));
		tool_args_json(&ab, &calls[i]);
		sb_printf(b, "%s{\"id\":\"call_%08lx%04lx\",\"type\":\"function\","
			  "\"function\":{\"name\":\"%s\",\"arguments\":",
			  i ? "," : "", calls[i].seq * 2654435761UL % 0xffffffffUL,
			  calls[i].seq & 0xffff, calls[i].tool->name);
		sb_quote(b, args);
		sb_printf(b, "}}");
	}
	sb_printf(b, "]");
}

/* ---- the agent server ------------------------------------------------------------------------ */

static void attach_tool(struct demo *d, const struct agent *a, const struct tool *t)
{
	site(d, "agent.tool.attached agent=%s tool=%s name=%s", a->id, t->id, t->name);
	/* Nothing to prepare: the probe itself is a nop while off, no guard needed. */
	d->fired_enabled += PROBEHOOK_AGENT_TOOL_ATTACHED_ENABLED() != 0;
	PROBEHOOK_AGENT_TOOL_ATTACHED(a->id, t->id, t->name);
}

static void detach_tool(struct demo *d, const struct agent *a, const struct tool *t)
{
	site(d, "agent.tool.detached agent=%s tool=%s", a->id, t->id);
	d->fired_enabled += PROBEHOOK_AGENT_TOOL_DETACHED_ENABLED() != 0;
	PROBEHOOK_AGENT_TOOL_DETACHED(a->id, t->id);
}

/* The model's choice of tools, made up from the step number. */
static int plan_calls(struct demo *d, const struct agent *a, struct call *calls)
{
	int n = 1 + (a->steps % 2 == 0), i;

	for (i = 0; i < n; i++) {
		struct call *c = &calls[i];
		unsigned long seq = ++d->call_seq;

		c->tool = &tools[(a->steps + 1 + i) % 2];
		c->seq = seq;
		if (c->tool == &tools[0])
			c->text = queries[seq % (sizeof(queries) / sizeof(queries[0]))];
		else
			c->text = snippets[seq % (sizeof(snippets) / sizeof(snippets[0]))];
		c->limit = 1 + (int)(seq % 5);
		c->exec_us = 800 + (int64_t)(seq * 2654435761UL % 250000);
		c->ok = seq % 7 != 0;	/* tools fail now and then; the step goes on */
	}
	return n;
}

static void execute_tool(struct demo *d, const struct agent *a, const struct call *c)
{
	const char *status = c->ok ? "success" : "error";

	site(d, "tool.execution.completed agent=%s tool=%s status=%s time_us=%" PRId64, a->id,
	     c->tool->name, status, c->exec_us);
	if (PROBEHOOK_TOOL_EXECUTION_COMPLETED_ENABLED()) {
		char args[512];
		struct sbuf b;

		d->fired_enabled++;
		sb_init(&b, args, sizeof(args));
		tool_args_json(&b, c);
		PROBEHOOK_TOOL_EXECUTION_COMPLETED(a->id, c->tool->name, args, status, c->exec_us);
	}
}

static void complete_step(struct demo *d, const struct agent *a, const char *step_id,
			  const struct usage *u, const struct call *calls, int n_calls)
{
	site(d, "agent.step.completed agent=%s step=%s", a->id, step_id);
	if (PROBEHOOK_AGENT_STEP_COMPLETED_ENABLED()) {
		char usage[256], tc[2048];
		struct sbuf ub, tb;

		d->fired_enabled++;
		sb_init(&ub, usage, sizeof(usage));
		usage_json(&ub, u);
		sb_init(&tb, tc, sizeof(tc));
		tool_calls_json(&tb, calls, n_calls);
		PROBEHOOK_AGENT_STEP_COMPLETED(a->id, step_id, "completed", usage, tc);
	}
}

static void fail_step(struct demo *d, const struct agent *a, const char *step_id,
		      const char *error, const char *error_type)
{
	site(d, "agent.step.failed agent=%s step=%s error_type=%s", a->id, step_id, error_type);
	/* The error text exists anyway (the exception); only the probe is guarded. */
	d->fired_enabled += PROBEHOOK_AGENT_STEP_FAILED_ENABLED() != 0;
	PROBEHOOK_AGENT_STEP_FAILED(a->id, step_id, error, error_type);
}

static void run_id_of(char *buf, size_t cap, const struct agent *a)
{
	snprintf(buf, cap, "run-%s-%lu", a->id, a->requests);
}

static void begin_request(struct agent *a)
{
	a->requests++;
	a->req_has_run = a->requests % 3 != 0;
	a->req_steps = 0;
	memset(&a->req_usage, 0, sizeof(a->req_usage));
}

static void complete_run(struct demo *d, const struct agent *a, const char *run_id, bool failed)
{
	const char *status = failed ? "failed" : "completed";
	int64_t completed_at = unix_time_ns();

	site(d, "agent.run.completed agent=%s run=%s status=%s", a->id, run_id, status);
	if (PROBEHOOK_AGENT_RUN_COMPLETED_ENABLED()) {
		char usage[256];
		struct sbuf b;

		d->fired_enabled++;
		sb_init(&b, usage, sizeof(usage));
		usage_json(&b, &a->req_usage);
		PROBEHOOK_AGENT_RUN_COMPLETED(a->id, run_id, status, completed_at, usage);
	}
}

static void send_message(struct demo *d, const struct agent *a, const char *run_id)
{
	int64_t count = 1 + (int64_t)(a->requests % 2);

	site(d, "agent.message.sent agent=%s run=%s messages=%" PRId64, a->id,
	     run_id ? run_id : "null", count);
	if (PROBEHOOK_AGENT_MESSAGE_SENT_ENABLED()) {
		char usage[256];
		struct sbuf b;

		d->fired_enabled++;
		sb_init(&b, usage, sizeof(usage));
		usage_json(&b, &a->req_usage);
		PROBEHOOK_AGENT_MESSAGE_SENT(a->id, run_id, count, usage);
	}
}

/*
 * Ends the open request.  As in the server, the run reaches its terminal
 * status first; the endpoint only reports agent.message.sent when it returns
 * normally, not when a failed step re-raised through it.
 */
static void finish_request(struct demo *d, struct agent *a, bool failed)
{
	char run_id[ID_MAX];

	run_id_of(run_id, sizeof(run_id), a);
	if (a->req_has_run)
		complete_run(d, a, run_id, failed);
	if (!failed)
		send_message(d, a, a->req_has_run ? run_id : NULL);
	a->req_steps = 0;
}

/* Failures alternate between the model's API refusing and a tool blowing up. */
static void step_fails(struct demo *d, struct agent *a, const char *step_id,
		       struct call *calls)
{
	char error[128];

	if (++d->failures % 2) {
		fail_step(d, a, step_id,
			  "Rate limit reached for gpt-4o-mini: 429 Too Many Requests",
			  "RateLimitError");
		return;
	}
	calls[0].ok = false;
	execute_tool(d, a, &calls[0]);
	a->req_usage.prompt_tokens += 1100;
	snprintf(error, sizeof(error), "Tool %s raised: upstream timed out after 30.0 seconds",
		 calls[0].tool->name);
	fail_step(d, a, step_id, error, "ToolExecutionError");
}

static void agent_step(struct demo *d, struct agent *a)
{
	char step_id[ID_MAX];
	struct call calls[2];
	struct usage u;
	bool fail;
	int n, i;

	if (a->req_steps == 0)
		begin_request(a);
	a->steps++;
	d->step_seq++;
	fail = d->fail_every && d->step_seq % d->fail_every == 0;
	snprintf(step_id, sizeof(step_id), "step-%s-%lu", a->id, a->steps);
	n = plan_calls(d, a, calls);
	a->req_steps++;
	a->req_usage.step_count++;
	if (fail) {
		step_fails(d, a, step_id, calls);
		finish_request(d, a, true);
		return;
	}
	for (i = 0; i < n; i++)
		execute_tool(d, a, &calls[i]);
	u.prompt_tokens = 1200 + (int64_t)(a->steps * 37 % 800);
	u.completion_tokens = 40 + (int64_t)(a->steps * 13 % 200);
	u.step_count = 1;
	a->req_usage.prompt_tokens += u.prompt_tokens;
	a->req_usage.completion_tokens += u.completion_tokens;
	complete_step(d, a, step_id, &u, calls, n);
	if (a->req_steps == STEPS_PER_REQUEST)
		finish_request(d, a, false);
}

static void complete_job(struct demo *d, const struct agent *a)
{
	char job_id[ID_MAX];
	int64_t completed_at = unix_time_ns();

	snprintf(job_id, sizeof(job_id), "job-%s", a->id);
	site(d, "agent.job.completed agent=%s job=%s status=completed", a->id, job_id);
	d->fired_enabled += PROBEHOOK_AGENT_JOB_COMPLETED_ENABLED() != 0;
	PROBEHOOK_AGENT_JOB_COMPLETED(a->id, job_id, "completed", completed_at);
}

/* A signal ends the step loop, not the run: open requests, tools and jobs still close. */
static void run_demo(struct demo *d)
{
	unsigned long i;
	int k;

	for (k = 0; k < d->n_agents; k++) {
		attach_tool(d, &d->agents[k], &tools[0]);
		attach_tool(d, &d->agents[k], &tools[1]);
	}
	for (i = 0; !stop && (d->steps == 0 || i < d->steps); i++)
		agent_step(d, &d->agents[i % (unsigned long)d->n_agents]);
	for (k = 0; k < d->n_agents; k++) {
		struct agent *a = &d->agents[k];

		if (a->req_steps)
			finish_request(d, a, false);
		detach_tool(d, a, &tools[DETACHED_TOOL]);
		complete_job(d, a);
	}
}

/* ---- the other modes ------------------------------------------------------------------------- */

/* Lets a test start us first and the collector second without losing the first events. */
static bool wait_enabled(double seconds)
{
	int64_t deadline = mono_ns() + (int64_t)(seconds * 1e9);
	struct timespec next;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (!any_enabled()) {
		if (stop || mono_ns() >= deadline)
			return false;
		ts_add(&next, WAIT_POLL_NS);
		sleep_until(&next);
	}
	return true;
}

/* One JSON line of all semaphores per 100 ms, for tests that toggle probes at runtime. */
static void print_enabled(const struct demo *d)
{
	struct timespec next;
	int64_t start = mono_ns();
	unsigned long i;
	char line[1024];
	struct sbuf b;
	int id;

	clock_gettime(CLOCK_MONOTONIC, &next);
	for (i = 0; !stop && (d->steps == 0 || i < d->steps); i++) {
		sb_init(&b, line, sizeof(line));
		sb_printf(&b, "{\"t_ms\":%" PRId64, (mono_ns() - start) / 1000000);
		for (id = 0; id < PROBEHOOK_EVENT_COUNT; id++)
			sb_printf(&b, ",\"%s\":%d", event_types[id], event_enabled(id));
		sb_printf(&b, "}");
		puts(line);
		fflush(stdout);
		ts_add(&next, PRINT_PERIOD_NS);
		sleep_until(&next);
	}
}

/* ---- command line ---------------------------------------------------------------------------- */

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [OPTION]...\n"
		"Simulate a Letta-like agent server that fires all 8 probehook USDT probes.\n"
		"\n"
		"  -a, --agent-id ID[,ID...]  agent id (default agent-demo); repeat or separate\n"
		"                             with commas to run several agents round-robin\n"
		"  -n, --steps N              total steps, shared by the agents (default 20);\n"
		"                             0 = until SIGINT/SIGTERM\n"
		"  -r, --rate R               probe sites reached per second, on an absolute\n"
		"                             schedule (default 0 = as fast as possible)\n"
		"  -f, --fail-every K         every K-th step fails (default 5; 0 = never)\n"
		"  -w, --wait-enabled SECS    first wait up to SECS for any probe to be enabled\n"
		"                             (a collector attached); exit 3 if none is\n"
		"  -p, --print-enabled        instead of the agent, print the 8 semaphores as a\n"
		"                             JSON line every 100 ms, --steps lines (0 = forever)\n"
		"  -q, --quiet                do not print a line per event\n"
		"  -h, --help                 show this help\n"
		"\n"
		"Each event prints \"<type> agent=<id> ...\" on stdout; at exit stderr gets\n"
		"\"demo-agent: fired N events (M while enabled)\". JSON arguments are built\n"
		"only while their probe is enabled. Exit: 0 ok, 2 bad usage, 3 --wait-enabled\n"
		"timed out.\n",
		prog);
}

static bool parse_ulong(const char *s, unsigned long *out)
{
	char *end;

	if (*s == '-' || *s == '\0')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static bool parse_seconds(const char *s, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return errno == 0 && end != s && *end == '\0' && isfinite(*out) && *out >= 0 &&
	       *out <= 1e9;
}

/* Adds each comma-separated id; the first --agent-id replaces the default. */
static bool add_agents(struct demo *d, const char *arg, const char *prog)
{
	const char *p = arg;

	for (;;) {
		size_t len = strcspn(p, ",");

		if (len == 0 || len >= AGENT_ID_MAX) {
			fprintf(stderr, "%s: --agent-id: ids must be 1..%d characters: '%s'\n",
				prog, AGENT_ID_MAX - 1, arg);
			return false;
		}
		if (d->n_agents == MAX_AGENTS) {
			fprintf(stderr, "%s: --agent-id: at most %d agents\n", prog, MAX_AGENTS);
			return false;
		}
		memcpy(d->agents[d->n_agents].id, p, len);
		d->agents[d->n_agents].id[len] = '\0';
		d->n_agents++;
		if (p[len] == '\0')
			return true;
		p += len + 1;
	}
}

static bool bad_value(const char *prog, const char *opt, const char *val)
{
	fprintf(stderr, "%s: invalid value for --%s: '%s'\n", prog, opt, val);
	return false;
}

/* Returns -1 to run, or an exit status. */
static int parse_args(struct demo *d, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "agent-id", required_argument, NULL, 'a' },
		{ "steps", required_argument, NULL, 'n' },
		{ "rate", required_argument, NULL, 'r' },
		{ "fail-every", required_argument, NULL, 'f' },
		{ "wait-enabled", required_argument, NULL, 'w' },
		{ "print-enabled", no_argument, NULL, 'p' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = argv[0];
	int opt;

	d->steps = 20;
	d->fail_every = 5;
	while ((opt = getopt_long(argc, argv, "a:n:r:f:w:pqh", longopts, NULL)) != -1) {
		bool ok = true;

		switch (opt) {
		case 'a':
			ok = add_agents(d, optarg, prog);
			break;
		case 'n':
			ok = parse_ulong(optarg, &d->steps) || bad_value(prog, "steps", optarg);
			break;
		case 'r':
			ok = parse_seconds(optarg, &d->rate) || bad_value(prog, "rate", optarg);
			break;
		case 'f':
			ok = parse_ulong(optarg, &d->fail_every) ||
			     bad_value(prog, "fail-every", optarg);
			break;
		case 'w':
			ok = parse_seconds(optarg, &d->wait_enabled_s) ||
			     bad_value(prog, "wait-enabled", optarg);
			break;
		case 'p':
			d->print_enabled = true;
			break;
		case 'q':
			d->quiet = true;
			break;
		case 'h':
			usage(stdout, prog);
			return 0;
		default:
			ok = false;	/* getopt_long already said why */
		}
		if (!ok) {
			fprintf(stderr, "Try '%s --help'.\n", prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s'\nTry '%s --help'.\n", prog,
			argv[optind], prog);
		return EXIT_USAGE;
	}
	if (d->n_agents == 0)
		add_agents(d, "agent-demo", prog);
	/* Rates past 1e9/s mean "no pause", the same as unthrottled. */
	if (d->rate > 0)
		d->interval_ns = (int64_t)(1e9 / d->rate);
	return -1;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* No SA_RESTART: a signal must cut the pacer's sleep short. */
static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int main(int argc, char **argv)
{
	struct demo d = { 0 };
	int rc;

	rc = parse_args(&d, argc, argv);
	if (rc >= 0)
		return rc;
	install_signals();
	/* Tests read us through a pipe: a line must leave as soon as it is printed. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (d.print_enabled) {
		print_enabled(&d);
		return 0;
	}
	if (d.wait_enabled_s > 0 && !wait_enabled(d.wait_enabled_s)) {
		fprintf(stderr, "demo-agent: %s after %g s: is the collector attached?\n",
			stop ? "interrupted while waiting for a probe to be enabled"
			     : "no probe enabled",
			d.wait_enabled_s);
		return EXIT_NOT_ENABLED;
	}
	run_demo(&d);
	fprintf(stderr, "demo-agent: fired %llu events (%llu while enabled)\n", d.fired,
		d.fired_enabled);
	return 0;
}
