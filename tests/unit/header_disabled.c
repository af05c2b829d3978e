// With -DPROBEHOOK_DISABLE every probe compiles to nothing: no USDT notes
// (checked by the test after the build), no unused-variable warnings under
// -Werror, and _ENABLED() is a constant 0.
#define PROBEHOOK_DEFINE_SEMAPHORES
#include <probehook/probehook.h>

#include <stdint.h>
#include <stdio.h>

int main(void)
{
	char usage[32];
	const char *agent = "agent-off";

	snprintf(usage, sizeof(usage), "{\"total_tokens\":%d}", 1);
	PROBEHOOK_AGENT_STEP_COMPLETED(agent, "step-1", "completed", usage, "[]");
	PROBEHOOK_TOOL_EXECUTION_COMPLETED(agent, "t", "{}", "success", (int64_t)1);
	_Static_assert(!PROBEHOOK_AGENT_STEP_COMPLETED_ENABLED(), "disabled probes are off");
	puts("header_disabled: ok");
	return 0;
}
