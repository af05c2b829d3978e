#!/usr/bin/env python3
"""A Letta-shaped agent server in miniature, instrumented with the probehook binding.

The classes and methods carry the names of the seed issue's five integration points
(LettaAgentV2._step, AgentManager.attach_tool_async/detach_tool_async, the send_message
endpoint, ToolExecutionManager.execute_tool_async, RunManager.update_run_by_id_async and
JobManager.update_job_by_id_async), and each calls the binding exactly where the seed
calls webhook_manager.publish_event(), with the seed's payload.  Everything else is a
stand-in: no database, no LLM, no HTTP.

Each agent gets two tools attached and a job; then the server takes "messages" requests
for the agents in turn.  A request runs up to 3 steps of the agent loop, each step one
or two tool executions; every K-th step of an agent fails (--fail-every), alternating
between the LLM refusing (RateLimitError) and a tool timing out (ToolExecutionError).
Most requests own a run, which reaches "completed" or "failed"; the endpoint reports
agent.message.sent only when it returns normally.  At the end each agent detaches a tool
and its job completes (plus one job without an agent id, which must not fire).

What it prints is deterministic given its flags (seeded ids and simulated tool timings),
so runs with and without a collector can be compared byte for byte: one line per event
on stdout, "<type> agent=<id> ...", as build/probehook-demo-agent prints, and at the end
"demo-agent: fired N events (M while enabled)" on stderr.

Exit status: 0 ok, 2 bad usage, 3 --wait-enabled timed out.
"""
import argparse
import asyncio
import dataclasses
import datetime
import json
import os
import random
import signal
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probehook  # noqa: E402  (found next to this file)

STEPS_PER_REQUEST = 3
EXIT_NOT_ENABLED = 3
TERMINAL = ("completed", "failed", "cancelled", "expired")

QUERIES = ("météo à Paris", "latest Letta release notes", "convert 100 USD to EUR",
           '"USDT probes" overhead')
SNIPPETS = ("print(sum(range(10)))", "import math\nprint(math.pi)")


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


# ---- schemas: pydantic stand-ins (the binding only needs model_dump()) -------------------


class Model:
    def model_dump(self):
        return dataclasses.asdict(self)


@dataclasses.dataclass
class UsageStatistics(Model):
    completion_tokens: int = 0
    prompt_tokens: int = 0
    total_tokens: int = 0
    step_count: int = 0

    def add(self, other):
        self.completion_tokens += other.completion_tokens
        self.prompt_tokens += other.prompt_tokens
        self.total_tokens += other.total_tokens
        self.step_count += other.step_count


@dataclasses.dataclass
class ToolCall(Model):
    id: str
    function: dict  # {"name": ..., "arguments": JSON text}, as OpenAI sends it
    type: str = "function"


@dataclasses.dataclass
class Tool(Model):
    id: str
    name: str


@dataclasses.dataclass
class Run:
    id: str
    agent_id: str
    status: str = "running"
    completed_at: datetime.datetime = None
    usage: UsageStatistics = None
    callback_url: str = None


@dataclasses.dataclass
class Job:
    id: str
    status: str = "running"
    metadata: dict = None
    completed_at: datetime.datetime = None


@dataclasses.dataclass
class ToolExecutionResult:
    status: str
    func_return: str

    @property
    def success(self):
        return self.status == "success"


@dataclasses.dataclass
class LettaRequest:
    messages: list


@dataclasses.dataclass
class LettaResponse:
    messages: list
    usage: UsageStatistics


class RateLimitError(Exception):
    pass


class ToolExecutionError(Exception):
    pass


# ---- the demo's own bookkeeping: ids, faults, the simulated clock, the event log ----------


class World:
    """Everything random or timed, seeded: ids, tool timings, which steps fail."""

    def __init__(self, seed, fail_every):
        self.rng = random.Random(seed)
        self.fail_every = fail_every
        self.clock_us = 0  # simulated: tool timings must not depend on the machine
        self.pending_fault = None

    def new_id(self, prefix):
        return f"{prefix}-{uuid.UUID(int=self.rng.getrandbits(128), version=4)}"

    def begin_step(self, agent_steps, agent_failures):
        """Decides whether the agent's step number agent_steps fails, and how."""
        fails = self.fail_every and agent_steps % self.fail_every == 0
        self.pending_fault = None
        if fails:
            self.pending_fault = "llm" if agent_failures % 2 == 0 else "tool"
        return bool(fails)

    def take_fault(self, kind):
        if self.pending_fault == kind:
            self.pending_fault = None
            return True
        return False


class EventLog:
    """Prints one line per probe site reached, counts, and paces to --rate."""

    def __init__(self, quiet, rate):
        self.quiet = quiet
        self.interval = 1.0 / rate if rate else 0.0
        self.next = None
        self.fired = 0
        self.fired_enabled = 0

    async def fired_event(self, was_enabled, event_type, agent_id, **fields):
        self.fired += 1
        self.fired_enabled += bool(was_enabled)
        if not self.quiet:
            print(f"{event_type} agent={agent_id}" + "".join(f" {k}={v}" for k, v in fields.items()))
        await self.pace()

    async def pace(self):
        """An absolute schedule, so the average rate holds whatever printing costs."""
        if not self.interval:
            return
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.next is None or now > self.next + 1.0:
            self.next = now
        self.next += self.interval
        await asyncio.sleep(max(0.0, self.next - loop.time()))


# ---- services, named after Letta's -------------------------------------------------------


class AgentManager:
    """letta/services/agent_manager.py"""

    def __init__(self, events, tools):
        self.events = events
        self.tools = {t.id: t for t in tools}
        self.agent_tools = {}

    async def _commit(self):
        await asyncio.sleep(0)  # the session's commit

    async def attach_tool_async(self, agent_id, tool_id, actor=None):
        tool = self.tools[tool_id]
        self.agent_tools.setdefault(agent_id, {})[tool_id] = tool
        await self._commit()
        # probehook: after the commit (seed: agent.tool.attached)
        on = probehook.agent_tool_attached(agent_id, tool_id, tool.name)
        await self.events.fired_event(on, "agent.tool.attached", agent_id, tool=tool_id,
                                      name=tool.name)
        return tool

    async def detach_tool_async(self, agent_id, tool_id, actor=None):
        self.agent_tools.get(agent_id, {}).pop(tool_id, None)
        await self._commit()
        # probehook: after the commit (seed: agent.tool.detached)
        on = probehook.agent_tool_detached(agent_id, tool_id)
        await self.events.fired_event(on, "agent.tool.detached", agent_id, tool=tool_id)


class ToolSandbox:
    """Runs a tool: simulated, advancing the world's clock by how long it 'took'."""

    def __init__(self, world):
        self.world = world

    async def run(self, tool_name, tool_args):
        await asyncio.sleep(0)
        if self.world.take_fault("tool"):
            self.world.clock_us += 30_000_000
            raise TimeoutError("upstream timed out after 30.0 seconds")
        self.world.clock_us += self.world.rng.randrange(800, 250_000)
        if self.world.rng.random() < 0.12:  # tools fail now and then; the step goes on
            return ToolExecutionResult("error", f"{tool_name}: upstream returned 502")
        return ToolExecutionResult("success", f"{tool_name}: ok")


class ToolExecutionManager:
    """letta/services/tool_executor/tool_execution_manager.py"""

    def __init__(self, events, world):
        self.events = events
        self.world = world
        self.sandbox = ToolSandbox(world)

    async def execute_tool_async(self, agent_id, tool_name, tool_args):
        start_us = self.world.clock_us
        error = None
        try:
            result = await self.sandbox.run(tool_name, tool_args)
        except TimeoutError as exc:
            result, error = ToolExecutionResult("error", str(exc)), exc
        execution_time_ms = (self.world.clock_us - start_us) / 1000
        status = "success" if result.success else "error"
        # probehook: after the execution, with its timing (seed: tool.execution.completed)
        on = probehook.tool_execution_completed(agent_id, tool_name, tool_args, status,
                                                execution_time_ms)
        await self.events.fired_event(on, "tool.execution.completed", agent_id, tool=tool_name,
                                      status=status, time_us=round(execution_time_ms * 1000))
        if error:
            raise ToolExecutionError(f"Tool {tool_name} raised: {error}") from error
        return result


class FakeLLMClient:
    """The model: picks one or two tools per step, or refuses (rate limit)."""

    def __init__(self, world, tools):
        self.world = world
        self.tools = tools

    async def request(self, agent_steps):
        await asyncio.sleep(0)
        if self.world.take_fault("llm"):
            raise RateLimitError("Rate limit reached for gpt-4o-mini: 429 Too Many Requests")
        rng = self.world.rng
        calls = []
        for i in range(1 + agent_steps % 2):
            tool = self.tools[(agent_steps + i) % len(self.tools)]
            if tool.name == "web_search":
                args = {"query": rng.choice(QUERIES), "limit": rng.randrange(1, 6)}
            else:
                args = {"language": "python", "code": rng.choice(SNIPPETS)}
            calls.append(ToolCall(id=f"call_{rng.getrandbits(48):012x}",
                                  function={"name": tool.name, "arguments": json.dumps(args)}))
        usage = UsageStatistics(completion_tokens=rng.randrange(40, 240),
                                prompt_tokens=rng.randrange(1200, 2000), step_count=1)
        usage.total_tokens = usage.completion_tokens + usage.prompt_tokens
        return calls, usage


@dataclasses.dataclass
class AgentState:
    id: str
    steps: int = 0
    failures: int = 0


class LettaAgentV2:
    """letta/agents/letta_agent_v2.py: the agent loop."""

    def __init__(self, agent_state, llm, tool_execution_manager, world, events):
        self.agent_state = agent_state
        self.llm = llm
        self.tool_execution_manager = tool_execution_manager
        self.world = world
        self.events = events

    async def step(self, messages, max_steps):
        """Runs up to max_steps steps; a failed step ends the request by raising."""
        usage = UsageStatistics()
        for _ in range(max_steps):
            _tool_calls, step_usage = await self._step()
            usage.add(step_usage)
        return LettaResponse(messages=messages, usage=usage)

    async def _step_checkpoint_finish(self, step_id, usage_stats):
        await asyncio.sleep(0)  # persists the step

    async def _step(self):
        state = self.agent_state
        state.steps += 1
        step_id = self.world.new_id("step")
        if self.world.begin_step(state.steps, state.failures):
            state.failures += 1
        try:
            tool_calls, usage_stats = await self.llm.request(state.steps)
            for tc in tool_calls:
                await self.tool_execution_manager.execute_tool_async(
                    state.id, tc.function["name"], json.loads(tc.function["arguments"]))
            await self._step_checkpoint_finish(step_id=step_id, usage_stats=usage_stats)
        except Exception as e:
            # probehook: in the error path, before re-raising (seed: agent.step.failed)
            on = probehook.agent_step_failed(state.id, step_id, str(e), type(e).__name__)
            await self.events.fired_event(on, "agent.step.failed", state.id, step=step_id,
                                          error_type=type(e).__name__)
            raise
        # probehook: after the checkpoint (seed: agent.step.completed); the binding calls
        # model_dump() on usage and the tool calls only when the probe is on
        on = probehook.agent_step_completed(state.id, step_id, "completed", usage_stats,
                                            tool_calls)
        await self.events.fired_event(on, "agent.step.completed", state.id, step=step_id)
        return tool_calls, usage_stats


class RunManager:
    """letta/services/run_manager.py"""

    def __init__(self, events, world):
        self.events = events
        self.world = world
        self.runs = {}

    async def create_run_async(self, agent_id):
        run = Run(id=self.world.new_id("run"), agent_id=agent_id)
        self.runs[run.id] = run
        return run

    async def update_run_by_id_async(self, run_id, status, usage=None):
        run_record = self.runs[run_id]
        needs_callback = status in TERMINAL and run_record.status not in TERMINAL
        run_record.status = status
        run_record.usage = usage or run_record.usage
        if needs_callback:
            run_record.completed_at = utcnow()
        if needs_callback and run_record.callback_url:
            pass  # the existing callback dispatch
        if needs_callback:
            # probehook: next to the existing callback (seed: agent.run.completed)
            on = probehook.agent_run_completed(run_record.agent_id, run_record.id,
                                               run_record.status, run_record.completed_at,
                                               run_record.usage)
            await self.events.fired_event(on, "agent.run.completed", run_record.agent_id,
                                          run=run_record.id, status=run_record.status)
        return run_record


class JobManager:
    """letta/services/job_manager.py"""

    def __init__(self, events, world):
        self.events = events
        self.world = world
        self.jobs = {}

    async def create_job_async(self, agent_id=None):
        job = Job(id=self.world.new_id("job"), metadata={"agent_id": agent_id} if agent_id else {})
        self.jobs[job.id] = job
        return job

    async def update_job_by_id_async(self, job_id, status):
        job_record = self.jobs[job_id]
        needs_callback = status in TERMINAL and job_record.status not in TERMINAL
        job_record.status = status
        if needs_callback:
            job_record.completed_at = utcnow()
        # probehook: only jobs that carry an agent id (seed: agent.job.completed)
        if needs_callback and job_record.metadata and "agent_id" in job_record.metadata:
            agent_id = job_record.metadata["agent_id"]
            on = probehook.agent_job_completed(agent_id, job_record.id, job_record.status,
                                               job_record.completed_at)
            await self.events.fired_event(on, "agent.job.completed", agent_id,
                                          job=job_record.id, status=job_record.status)
        return job_record


class SyncServer:
    """letta/server/server.py: owns the managers and the agents."""

    def __init__(self, world, events, agent_ids):
        self.world = world
        self.events = events
        self.tools = [Tool(world.new_id("tool"), "web_search"), Tool(world.new_id("tool"), "run_code")]
        self.agent_manager = AgentManager(events, self.tools)
        self.tool_execution_manager = ToolExecutionManager(events, world)
        self.run_manager = RunManager(events, world)
        self.job_manager = JobManager(events, world)
        self.llm = FakeLLMClient(world, self.tools)
        self.agents = {a: AgentState(a) for a in agent_ids}
        self.requests = 0

    async def send_message_to_agent(self, agent_id, messages, max_steps):
        agent = LettaAgentV2(self.agents[agent_id], self.llm, self.tool_execution_manager,
                             self.world, self.events)
        return await agent.step(messages, max_steps)


# letta/server/rest_api/routers/v1/agents.py: @router.post("/{agent_id}/messages")
async def send_message(agent_id, request, server, max_steps):
    server.requests += 1
    run = None
    if server.requests % 3:  # some requests run without a background run: run_id null
        run = await server.run_manager.create_run_async(agent_id)
    try:
        response = await server.send_message_to_agent(agent_id, request.messages, max_steps)
    except Exception:
        if run:
            await server.run_manager.update_run_by_id_async(run.id, "failed")
        raise  # the endpoint answers 500; no agent.message.sent
    if run:
        await server.run_manager.update_run_by_id_async(run.id, "completed", response.usage)
    # probehook: after the message processing (seed: agent.message.sent)
    on = probehook.agent_message_sent(agent_id, run.id if run else None, len(request.messages),
                                      response.usage)
    await server.events.fired_event(on, "agent.message.sent", agent_id,
                                    run=run.id if run else "null",
                                    messages=len(request.messages))
    return response


# ---- the simulation ------------------------------------------------------------------------


async def serve(server, total_steps, stop):
    """Attach, take requests round-robin until the step budget is spent, then close up."""
    agent_ids = list(server.agents)
    jobs = {}
    for agent_id in agent_ids:
        for tool in server.tools:
            await server.agent_manager.attach_tool_async(agent_id, tool.id)
        jobs[agent_id] = await server.job_manager.create_job_async(agent_id)
    orphan_job = await server.job_manager.create_job_async(None)
    steps_done, turn = 0, 0
    while not stop.is_set() and (total_steps == 0 or steps_done < total_steps):
        agent_id = agent_ids[turn % len(agent_ids)]
        turn += 1
        budget = STEPS_PER_REQUEST if total_steps == 0 else min(STEPS_PER_REQUEST,
                                                                total_steps - steps_done)
        before = server.agents[agent_id].steps
        request = LettaRequest(messages=[{"role": "user", "content": "hi"}] * (1 + turn % 2))
        try:
            await send_message(agent_id, request, server, budget)
        except (RateLimitError, ToolExecutionError):
            pass  # what the client would get as an error response
        steps_done += server.agents[agent_id].steps - before
    for agent_id in agent_ids:
        await server.agent_manager.detach_tool_async(agent_id, server.tools[1].id)
        await server.job_manager.update_job_by_id_async(jobs[agent_id].id, "completed")
    await server.job_manager.update_job_by_id_async(orphan_job.id, "completed")


async def wait_enabled(seconds, stop):
    """Polls until a collector has attached any probe (or time runs out)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not any(probehook.enabled(t) for t in probehook.EVENT_TYPES):
        if stop.is_set() or loop.time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def main_async(args):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    if args.wait_enabled > 0 and not await wait_enabled(args.wait_enabled, stop):
        print(f"demo-agent: no probe enabled after {args.wait_enabled:g} s: "
              "is the collector attached?", file=sys.stderr)
        return EXIT_NOT_ENABLED
    events = EventLog(args.quiet, args.rate)
    server = SyncServer(World(args.seed, args.fail_every), events, args.agent_ids)
    await serve(server, args.steps, stop)
    print(f"demo-agent: fired {events.fired} events ({events.fired_enabled} while enabled)",
          file=sys.stderr)
    if probehook.errors():
        print(f"demo-agent: probehook binding errors: {probehook.errors()}", file=sys.stderr)
    return 0


def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="A Letta-like asyncio agent server firing all 8 probehook events "
                    "through the Python binding.",
        epilog="Each event prints '<type> agent=<id> ...' on stdout; at exit stderr gets "
               "'demo-agent: fired N events (M while enabled)'. Exit: 0 ok, 2 bad usage, "
               "3 --wait-enabled timed out.")
    ap.add_argument("-a", "--agent-id", action="append", default=[], metavar="ID[,ID...]",
                    help="agent id (default agent-demo); repeat or separate with commas")
    ap.add_argument("-n", "--steps", type=int, default=20,
                    help="total steps, shared by the agents (default 20; 0 = until a signal)")
    ap.add_argument("-f", "--fail-every", type=int, default=5,
                    help="every K-th step of each agent fails (default 5; 0 = never)")
    ap.add_argument("-r", "--rate", type=float, default=0.0,
                    help="probe sites per second (default 0 = as fast as possible)")
    ap.add_argument("-w", "--wait-enabled", type=float, default=0.0, metavar="SECONDS",
                    help="first wait up to SECONDS for a collector to attach; exit 3 if none")
    ap.add_argument("-s", "--seed", type=int, default=1, help="seed of ids and timings")
    ap.add_argument("-q", "--quiet", action="store_true", help="no line per event")
    args = ap.parse_args(argv)
    args.agent_ids = [a for arg in args.agent_id for a in arg.split(",")] or ["agent-demo"]
    if any(not a for a in args.agent_ids):
        ap.error("--agent-id: empty id")
    for name in ("steps", "fail_every", "rate", "wait_enabled"):
        if getattr(args, name) < 0:
            ap.error(f"--{name.replace('_', '-')} must not be negative")
    if len(set(args.agent_ids)) != len(args.agent_ids):
        ap.error("--agent-id: duplicate id")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    sys.stdout.reconfigure(line_buffering=True)  # tests read us through a pipe
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
