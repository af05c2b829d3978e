#!/usr/bin/env python3
"""Check what a probehook-receiver recorded (one JSON line per request).

The expected payload fields are written out here from the seed issue, not
taken from the catalog, so a catalog that drifts from the seed fails.
"""
import argparse
import collections
import datetime
import json
import sys

# type -> payload fields besides agent_id, from ../shared/seed (the Letta issue)
SEED_FIELDS = {
    "agent.step.completed": {"step_id", "status", "usage", "tool_calls"},
    "agent.step.failed": {"step_id", "error", "error_type"},
    "agent.tool.attached": {"tool_id", "tool_name"},
    "agent.tool.detached": {"tool_id"},
    "agent.message.sent": {"run_id", "message_count", "usage"},
    "tool.execution.completed": {"tool_name", "tool_args", "status", "execution_time_ms"},
    "agent.run.completed": {"run_id", "status", "completed_at", "usage"},
    "agent.job.completed": {"job_id", "status", "completed_at"},
}

problems = []


def problem(msg):
    problems.append(msg)


def parse_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


def check_body(i, body):
    if set(body) - {"flags"} != {"type", "timestamp", "data", "source"}:
        problem(f"request {i}: top-level keys {sorted(body)}")
        return
    etype, data, source = body["type"], body["data"], body["source"]
    if etype not in SEED_FIELDS:
        problem(f"request {i}: unknown type {etype}")
        return
    want = SEED_FIELDS[etype] | {"agent_id"}
    if set(data) != want:
        problem(f"request {i} ({etype}): data keys {sorted(data)} != {sorted(want)}")
    try:
        parse_time(body["timestamp"])
        for key in ("completed_at",):
            if key in data:
                parse_time(data[key])
    except (ValueError, TypeError) as e:
        problem(f"request {i}: bad time: {e}")
    if set(source) != {"pid", "tid", "comm", "seq"}:
        problem(f"request {i}: source keys {sorted(source)}")
    if "flags" in body:
        problem(f"request {i}: unexpected flags {body['flags']}")
    # typed fields
    if etype == "agent.step.completed":
        if not isinstance(data["usage"], dict) or not isinstance(data["tool_calls"], list):
            problem(f"request {i}: usage/tool_calls not embedded as JSON")
        if data["status"] != "completed":
            problem(f"request {i}: step status {data['status']}")
    if etype == "tool.execution.completed":
        if not isinstance(data["execution_time_ms"], (int, float)):
            problem(f"request {i}: execution_time_ms not a number")
        if not isinstance(data["tool_args"], dict):
            problem(f"request {i}: tool_args not embedded as JSON")
        if data["status"] not in ("success", "error"):
            problem(f"request {i}: tool status {data['status']}")
    if etype == "agent.message.sent" and not isinstance(data["message_count"], int):
        problem(f"request {i}: message_count not an integer")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("received")
    ap.add_argument("--agent-out", help="demo agent stdout, to compare payloads")
    ap.add_argument("--expect-all-types", action="append", default=[], metavar="AGENT")
    ap.add_argument("--expect-only", action="append", default=[], metavar="AGENT=TYPE")
    ap.add_argument("--expect-none", action="append", default=[], metavar="AGENT")
    ap.add_argument("--expect-count", type=int)
    ap.add_argument("--signature", default="valid")
    args = ap.parse_args()

    with open(args.received) as f:
        reqs = [json.loads(line) for line in f if line.strip()]
    by_agent = collections.defaultdict(collections.Counter)
    ids = collections.Counter()
    seen_seq = set()
    for i, req in enumerate(reqs):
        if req.get("signature") != args.signature:
            problem(f"request {i}: signature {req.get('signature')}")
        headers = req.get("headers", {})
        for h in ("webhook-id", "webhook-timestamp", "webhook-signature"):
            if h not in headers:
                problem(f"request {i}: header {h} missing")
        if headers.get("content-type") != "application/json":
            problem(f"request {i}: content-type {headers.get('content-type')}")
        if not headers.get("user-agent", "").startswith("probehook/"):
            problem(f"request {i}: user-agent {headers.get('user-agent')}")
        ids[headers.get("webhook-id")] += 1
        body = req.get("body")
        if not isinstance(body, dict):
            problem(f"request {i}: body is not a JSON object")
            continue
        check_body(i, body)
        src = body.get("source", {})
        key = (src.get("pid"), src.get("seq"))
        if not isinstance(key[1], int) or key[1] < 1 or key in seen_seq:
            problem(f"request {i}: seq {key[1]} of pid {key[0]} missing or repeated")
        seen_seq.add(key)
        by_agent[body.get("data", {}).get("agent_id")][body.get("type")] += 1

    dup = [k for k, n in ids.items() if n > 1]
    if dup:
        problem(f"{len(dup)} webhook-ids delivered more than once, e.g. {dup[0]}")
    for agent in args.expect_all_types:
        missing = set(SEED_FIELDS) - set(by_agent[agent])
        if missing:
            problem(f"{agent}: no events of {sorted(missing)}")
    for spec in args.expect_only:
        agent, etype = spec.split("=", 1)
        got = set(by_agent[agent])
        if got != {etype}:
            problem(f"{agent}: got types {sorted(got)}, want only {etype}")
    for agent in args.expect_none:
        if by_agent.get(agent):
            problem(f"{agent}: got {dict(by_agent[agent])}, want nothing")
    if args.expect_count is not None and len(reqs) != args.expect_count:
        problem(f"got {len(reqs)} requests, want {args.expect_count}")

    # the agent's own record of what it fired, per agent and type
    if args.agent_out:
        fired = collections.defaultdict(collections.Counter)
        with open(args.agent_out) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[1].startswith("agent="):
                    fired[parts[1][6:]][parts[0]] += 1
        for agent in args.expect_all_types:
            if fired[agent] != by_agent[agent]:
                problem(f"{agent}: fired {dict(fired[agent])}, received {dict(by_agent[agent])}")

    summary = {a: sum(c.values()) for a, c in by_agent.items()}
    print(f"{len(reqs)} requests; per agent {summary}")
    for p in problems[:30]:
        print("problem:", p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
