// The public headers compile as C++ (probes on) and define working semaphores.
#define PROBEHOOK_DEFINE_SEMAPHORES
#include <probehook/probehook.h>
#include <probehook/libprobehook.h>

#include <cstdint>
#include <cstdio>

int main()
{
	const char *agent = "agent-cxx";
	// off until a collector attaches: a fresh process reads 0
	if (PROBEHOOK_AGENT_TOOL_ATTACHED_ENABLED() || PROBEHOOK_AGENT_JOB_COMPLETED_ENABLED()) {
		std::puts("semaphore set with nobody attached");
		return 1;
	}
	PROBEHOOK_AGENT_TOOL_ATTACHED(agent, "tool-1", "web_search");
	PROBEHOOK_AGENT_MESSAGE_SENT(agent, nullptr, static_cast<int64_t>(2), "null");
	PROBEHOOK_AGENT_JOB_COMPLETED(agent, "job-1", "completed", static_cast<int64_t>(0));
	std::printf("header_cxx: ok (%d event ids)\n", PROBEHOOK_ID_AGENT_JOB_COMPLETED + 1);
	return 0;
}
