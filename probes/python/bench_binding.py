#!/usr/bin/env python3
"""Micro-benchmark: what one event costs a Python agent, with probehook and with the
seed's approach (an HTTP POST per event from the agent process).

Prints one JSON line.  Times are per call, best of --repeat runs:
  loop_ns            an empty loop iteration, for scale (included in every *_ns number)
  noop_call_ns       a Python function taking the same arguments and doing nothing
  disabled_ns        probehook.agent_step_completed(...) while its probe is off
  enabled_check_ns   probehook.enabled("agent.step.completed")
  ctypes_check_ns    probehook_enabled(id) called through ctypes: the gate the binding
                     avoids by reading the semaphore itself
  enabled_ns         the same event call while a collector has the probe attached
                     (--expect-enabled): JSON + encoding + ctypes + uprobe + BPF copy
  post_us            json.dumps + Standard Webhooks signature + urllib POST (new
                     connection each time) to --post-url, the seed's naive baseline
  post_keepalive_us  the same over one kept-alive http.client connection
A number is null when its condition did not hold (e.g. no --post-url).
Exit status: 0 ok, 1 the binding counted errors, 3 --expect-enabled timed out.
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import sys
import time
import timeit
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import probehook  # noqa: E402

EVENT = "agent.step.completed"
EVENT_ID = probehook.EVENT_TYPES.index(EVENT)
USAGE = {"completion_tokens": 137, "prompt_tokens": 1902, "total_tokens": 2039, "step_count": 1}
TOOL_CALLS = [
    {"id": "call_05b607d4bedc", "type": "function",
     "function": {"name": "web_search", "arguments": '{"query": "weather in Paris", "limit": 5}'}},
    {"id": "call_f06c025b413f", "type": "function",
     "function": {"name": "run_code", "arguments": '{"language": "python", "code": "print(1)"}'}},
]
ARGS = ("agent-bench", "step-1a2b8f1f-f1fd-42a2-9755-d4c13a902931", "completed", USAGE, TOOL_CALLS)


def per_call(stmt, number, repeat, env):
    """Best-of-repeat time of one execution of stmt, in ns."""
    best = min(timeit.Timer(stmt, globals=env).repeat(repeat=repeat, number=number))
    return round(best / number * 1e9, 1)


def noop(agent_id, step_id, status="completed", usage=None, tool_calls=None):
    return False


def wait_enabled(seconds):
    deadline = time.monotonic() + seconds
    while not probehook.enabled(EVENT):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.01)
    return True


def signed_request(secret):
    """Body and headers of one webhook, built the way a Python publisher would."""
    body = json.dumps({"type": EVENT, "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
                       "data": dict(zip(("agent_id", "step_id", "status", "usage", "tool_calls"), ARGS))},
                      separators=(",", ":")).encode()
    msg_id, ts = f"msg_{uuid.uuid4().hex}", str(int(time.time()))
    headers = {"Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": ts}
    if secret:
        key = base64.b64decode(secret.removeprefix("whsec_"))
        mac = hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
        headers["webhook-signature"] = "v1," + base64.b64encode(mac).decode()
    return body, headers


def post_urllib(url, secret):
    body, headers = signed_request(secret)
    with urllib.request.urlopen(urllib.request.Request(url, body, headers, method="POST"),
                                timeout=10) as resp:
        resp.read()


def post_keepalive(conn, path, secret):
    body, headers = signed_request(secret)
    conn.request("POST", path, body, headers)
    resp = conn.getresponse()
    resp.read()
    if resp.status >= 300:
        raise RuntimeError(f"receiver answered {resp.status}")


def bench_post(url, secret, number, repeat):
    """(urllib us, keep-alive us) per POST."""
    post_urllib(url, secret)  # fail early and loudly on a wrong URL or secret
    urllib_us = per_call("post_urllib(url, secret)", number, repeat,
                         {"post_urllib": post_urllib, "url": url, "secret": secret}) / 1000
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
    try:
        keepalive_us = per_call("post_keepalive(conn, path, secret)", number, repeat,
                                {"post_keepalive": post_keepalive, "conn": conn,
                                 "path": parts.path or "/", "secret": secret}) / 1000
    finally:
        conn.close()
    return round(urllib_us, 1), round(keepalive_us, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=1_000_000,
                    help="calls per run for the cheap cases (default 1e6)")
    ap.add_argument("--enabled-iterations", type=int, default=20_000,
                    help="calls per run while enabled: each one is a webhook (default 2e4)")
    ap.add_argument("--post-iterations", type=int, default=500, help="POSTs per run (default 500)")
    ap.add_argument("--repeat", type=int, default=5, help="runs per case; the best counts")
    ap.add_argument("--expect-enabled", action="store_true",
                    help=f"wait for a collector to attach {EVENT} and measure the enabled call")
    ap.add_argument("--wait", type=float, default=10.0, help="seconds --expect-enabled waits")
    ap.add_argument("--post-url", help="a local receiver URL for the HTTP POST baseline")
    ap.add_argument("--secret", help="whsec_... to sign the POSTs with (receiver --secret)")
    args = ap.parse_args()

    env = {"probehook": probehook, "noop": noop, "ARGS": ARGS, "EVENT": EVENT}
    n, r = args.iterations, args.repeat
    result = {"python": sys.version.split()[0], **probehook.info(), "event": EVENT,
              "loop_ns": per_call("pass", n, r, env),
              "noop_call_ns": per_call("noop(*ARGS)", n, r, env),
              "disabled_ns": None,
              "enabled_check_ns": per_call("probehook.enabled(EVENT)", n, r, env),
              "ctypes_check_ns": None, "enabled_ns": None,
              "post_us": None, "post_keepalive_us": None}
    if probehook.available():
        env["check"], env["ID"] = probehook._lib.probehook_enabled, EVENT_ID
        result["ctypes_check_ns"] = per_call("check(ID)", n, r, env)
    if args.expect_enabled:
        if not wait_enabled(args.wait):
            print(f"bench_binding: {EVENT} not enabled after {args.wait:g} s", file=sys.stderr)
            return 3
        result["enabled_ns"] = per_call("probehook.agent_step_completed(*ARGS)",
                                        args.enabled_iterations, r, env)
    elif not probehook.enabled(EVENT):
        result["disabled_ns"] = per_call("probehook.agent_step_completed(*ARGS)", n, r, env)
    if args.post_url:
        result["post_us"], result["post_keepalive_us"] = bench_post(
            args.post_url, args.secret, args.post_iterations, r)
    result["errors"] = probehook.errors()
    print(json.dumps(result))
    return 1 if result["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
