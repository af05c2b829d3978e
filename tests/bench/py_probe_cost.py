#!/usr/bin/env python3
"""Probe cost through the Python binding (probes/python/probehook), in ns per call.

Loops, each timed with perf_counter_ns, reps interleaved:
  empty    for i in range(n): pass
  noop     a Python function taking the same arguments (what any call costs)
  binding  probehook.agent_step_completed(agent, step, usage=dict, tool_calls=list)
The library is $PROBEHOOK_LIB (the driver points it at the copy the collector targets).
With --batch/--pause-us the calls come in timed batches with untimed pauses, as in
probe_cost.c, so an attached probe records into a ring the collector keeps draining.
Prints one JSON object.

usage: py_probe_cost.py PYTHON_DIR [--iters N] [--reps R] [--batch B] [--pause-us U]
                        [--wait-enabled SECS]
"""
import argparse
import json
import statistics
import sys
import time

AGENT_ID = "agent-7c1d2e44-0b6f-4a4e-9d9b-3f1a2c5e8d71"
STEP_ID = "step-5b0e9a13-8c2d-4f71-a6e4-1d9c7b3a2f60"
USAGE = {"completion_tokens": 128, "prompt_tokens": 2048, "total_tokens": 2176}
CALLS = [{"id": "call_1", "name": "web_search"}]


def noop(agent_id, step_id, status="completed", usage=None, tool_calls=None):
    return False


def make_sites(probehook):
    fire = probehook.agent_step_completed

    def empty(n):
        for _ in range(n):
            pass

    def call_noop(n):
        for _ in range(n):
            noop(AGENT_ID, STEP_ID, usage=USAGE, tool_calls=CALLS)

    def binding(n):
        for _ in range(n):
            fire(AGENT_ID, STEP_ID, usage=USAGE, tool_calls=CALLS)

    return {"empty": empty, "noop": call_noop, "binding": binding}


def time_site(run, iters, batch, pause_s):
    total, done = 0, 0
    batch = batch or iters
    while done < iters:
        n = min(batch, iters - done)
        t0 = time.perf_counter_ns()
        run(n)
        total += time.perf_counter_ns() - t0
        done += n
        if pause_s and done < iters:
            time.sleep(pause_s)
    return total / iters


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("python_dir")
    ap.add_argument("--iters", type=int, default=1000000)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=0)
    ap.add_argument("--pause-us", type=int, default=0)
    ap.add_argument("--wait-enabled", type=float, default=0)
    args = ap.parse_args()
    sys.path.insert(0, args.python_dir)
    import probehook  # noqa: E402  (the binding under test)

    if not probehook.available():
        print(json.dumps({"error": "libprobehook.so not loaded", "info": str(probehook.info())}))
        return 1
    if args.wait_enabled:
        deadline = time.monotonic() + args.wait_enabled
        while not probehook.enabled("agent.step.completed"):
            if time.monotonic() > deadline:
                print(json.dumps({"error": "probe not enabled"}))
                return 3
            time.sleep(0.01)
    sites = make_sites(probehook)
    for run in sites.values():
        time_site(run, max(args.iters // 100, 1), args.batch, 0)
    results = {name: [] for name in sites}
    for _ in range(args.reps):
        for name, run in sites.items():
            results[name].append(time_site(run, args.iters, args.batch, args.pause_us / 1e6))
    print(json.dumps({
        "iters": args.iters, "reps": args.reps,
        "enabled": bool(probehook.enabled("agent.step.completed")),
        "errors": probehook.errors(),
        "sites": {name: {"min_ns": min(v), "median_ns": statistics.median(v)}
                  for name, v in results.items()},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
