// SPDX-License-Identifier: MIT
/* Runtime overrides: timed enable/disable revert to what was in force, agent
 * toggles apply to the config and survive a reload. */
#include "check.h"
#include "config.h"
#include "runtime.h"

static const char config_json[] =
	"{\"targets\": [{\"path\": \"/bin/sh\"}],"
	" \"endpoints\": [{\"id\": \"ops\", \"url\": \"http://127.0.0.1:9/\","
	"   \"secret\": \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\", \"events\": [\"agent.step.*\"]}],"
	" \"default_agent\": {\"webhook_enabled\": false, \"webhook_events\": [\"agent.*\"]}}";

static void test_timed_modes(void)
{
	struct runtime rt = { 0 };
	uint64_t next;

	runtime_set_event(&rt, 0, EVENT_OFF, 0, 1000);
	runtime_set_event(&rt, 0, EVENT_ON, 500, 1000); /* on for 0.5 s, then off again */
	CHECK(rt.events[0].mode == EVENT_ON);
	CHECK(!runtime_expire(&rt, 1499, &next) && next == 1500);
	CHECK(runtime_expire(&rt, 1500, &next) && next == 0);
	CHECK(rt.events[0].mode == EVENT_OFF);
	/* a second timed change before the first ran out reverts to the original mode */
	runtime_set_event(&rt, 1, EVENT_OFF, 1000, 0);
	runtime_set_event(&rt, 1, EVENT_ON, 1000, 500);
	CHECK(runtime_expire(&rt, 1500, &next));
	CHECK(rt.events[1].mode == EVENT_AUTO);
	/* a plain change cancels a pending revert */
	runtime_set_event(&rt, 2, EVENT_OFF, 1000, 0);
	runtime_set_event(&rt, 2, EVENT_ON, 0, 10);
	CHECK(!runtime_expire(&rt, 5000, &next) && rt.events[2].mode == EVENT_ON);
	runtime_free(&rt);
}

static void test_wanted_and_agents(void)
{
	struct config cfg, reloaded;
	struct runtime rt = { 0 };
	char err[256];

	if (config_parse(config_json, NULL, &cfg, err, sizeof(err))) {
		fprintf(stderr, "config: %s\n", err);
		check_failures++;
		return;
	}
	/* nobody enabled: nothing wanted */
	CHECK(!runtime_event_wanted(&rt, &cfg, 0));
	runtime_set_event(&rt, 0, EVENT_ON, 0, 0);
	CHECK(runtime_event_wanted(&rt, &cfg, 0));
	runtime_set_event(&rt, 0, EVENT_AUTO, 0, 0);
	/* an unlisted agent switched on inherits default_agent's filter */
	CHECK(runtime_set_agent(&rt, &cfg, "agent-9", true) == 0);
	CHECK(cfg.agent_count == 1 && cfg.agents[0].webhook_enabled);
	CHECK(cfg.agents[0].events.count == 1 &&
	      strcmp(cfg.agents[0].events.items[0], "agent.*") == 0);
	CHECK(runtime_event_wanted(&rt, &cfg, 0));  /* agent.step.completed */
	CHECK(!runtime_event_wanted(&rt, &cfg, 5)); /* tool.execution.completed: not agent.* */
	runtime_set_event(&rt, 0, EVENT_OFF, 0, 0);
	CHECK(!runtime_event_wanted(&rt, &cfg, 0));
	/* the toggle survives a reload */
	CHECK(config_parse(config_json, NULL, &reloaded, err, sizeof(err)) == 0);
	CHECK(runtime_apply_agents(&rt, &reloaded) == 0);
	CHECK(reloaded.agent_count == 1 && reloaded.agents[0].webhook_enabled);
	CHECK(runtime_set_agent(&rt, &reloaded, "agent-9", false) == 0);
	CHECK(reloaded.agent_count == 1 && !reloaded.agents[0].webhook_enabled);
	config_free(&cfg);
	config_free(&reloaded);
	runtime_free(&rt);
}

int main(void)
{
	test_timed_modes();
	test_wanted_and_agents();
	return check_summary("test_runtime");
}
