// SPDX-License-Identifier: MIT
/* Subscriptions: who gets what, and which probes are worth attaching. */
#include "check.h"
#include "config.h"
#include "match.h"

static const char config_json[] =
	"{\"targets\": [{\"path\": \"/bin/sh\"}],"
	" \"endpoints\": ["
	"  {\"id\": \"ops\", \"url\": \"http://127.0.0.1:9000/a\","
	"   \"secret\": \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\","
	"   \"events\": [\"agent.step.*\", \"agent.run.completed\"], \"agents\": [\"*\"]},"
	"  {\"id\": \"billing\", \"url\": \"http://127.0.0.1:9000/b\","
	"   \"secret\": \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\","
	"   \"events\": [\"*\"], \"agents\": [\"agent-42\"]}],"
	" \"agents\": {"
	"  \"agent-42\": {\"webhook_enabled\": true, \"webhook_events\": [\"*\"]},"
	"  \"agent-7\": {\"webhook_enabled\": true, \"webhook_events\": [\"agent.step.failed\"]},"
	"  \"agent-off\": {\"webhook_enabled\": false, \"webhook_events\": [\"*\"]}},"
	" \"default_agent\": {\"webhook_enabled\": false}}";

static void test_patterns(void)
{
	CHECK(match_pattern("*", "agent.step.completed"));
	CHECK(match_pattern("agent.*", "agent.step.completed"));
	CHECK(match_pattern("agent.step.*", "agent.step.failed"));
	CHECK(!match_pattern("agent.step.*", "agent.steps.failed"));
	CHECK(!match_pattern("agent.step.*", "agent.step."));
	CHECK(!match_pattern("agent.step.*", "agent.step"));
	CHECK(!match_pattern("agent.*", "tool.execution.completed"));
	CHECK(match_pattern("tool.execution.completed", "tool.execution.completed"));
	CHECK(!match_pattern("tool.execution.completed", "tool.execution.completedX"));
}

static void test_routing(void)
{
	struct config cfg = { 0 };
	char err[256];
	const struct config_endpoint *ops, *billing;

	CHECK(config_parse(config_json, NULL, &cfg, err, sizeof(err)) == 0);
	if (cfg.endpoint_count != 2) {
		fprintf(stderr, "config: %s\n", err);
		check_failures++;
		return;
	}
	ops = &cfg.endpoints[0];
	billing = &cfg.endpoints[1];

	/* enabled agent, subscribed to everything */
	CHECK(match_endpoint(&cfg, ops, "agent.step.completed", "agent-42"));
	CHECK(!match_endpoint(&cfg, ops, "tool.execution.completed", "agent-42")); /* ops filters */
	CHECK(match_endpoint(&cfg, billing, "tool.execution.completed", "agent-42"));
	/* agent-7 subscribed to one type only */
	CHECK(match_endpoint(&cfg, ops, "agent.step.failed", "agent-7"));
	CHECK(!match_endpoint(&cfg, ops, "agent.step.completed", "agent-7"));
	CHECK(!match_endpoint(&cfg, billing, "agent.step.failed", "agent-7")); /* billing: 42 only */
	/* disabled agent, unknown agent (default disabled), missing agent id */
	CHECK(!match_endpoint(&cfg, ops, "agent.step.completed", "agent-off"));
	CHECK(!match_endpoint(&cfg, ops, "agent.step.completed", "agent-unknown"));
	CHECK(!match_endpoint(&cfg, ops, "agent.step.completed", NULL));

	/* which probes are worth attaching */
	CHECK(match_type_wanted(&cfg, "agent.step.completed"));
	CHECK(match_type_wanted(&cfg, "tool.execution.completed")); /* via billing + agent-42 */
	cfg.agents[0].webhook_enabled = false; /* agent-42 off: only agent-7's one type left */
	CHECK(!match_type_wanted(&cfg, "tool.execution.completed"));
	CHECK(!match_type_wanted(&cfg, "agent.step.completed"));
	CHECK(match_type_wanted(&cfg, "agent.step.failed"));
	/* the default agent stands for every unlisted agent */
	cfg.default_agent.webhook_enabled = true;
	CHECK(match_type_wanted(&cfg, "agent.run.completed"));
	CHECK(match_endpoint(&cfg, ops, "agent.run.completed", "agent-unknown"));
	config_free(&cfg);
}

int main(void)
{
	test_patterns();
	test_routing();
	return check_summary("test_match");
}
