#!/usr/bin/env python3
"""The seed's approach in Python: one signed webhook POST per event, from inside the process.

Per event: json.dumps the event, HMAC-SHA256-sign it (Standard Webhooks), POST it with
urllib.request and read the answer -- what an agent loop calling a webhook inline pays.
stdlib only.  Prints one JSON object with the cost per event in ns.

usage: inproc_post.py URL COUNT     (URL must be http://127.0.0.1:PORT/...)
"""
import base64
import datetime
import hashlib
import hmac
import json
import sys
import time
import urllib.request

KEY = b"bench-secret-bytes-0123\0"
AGENT_ID = "agent-7c1d2e44-0b6f-4a4e-9d9b-3f1a2c5e8d71"
STEP_ID = "step-5b0e9a13-8c2d-4f71-a6e4-1d9c7b3a2f60"


def post_one(url, seq):
    now = datetime.datetime.now(datetime.timezone.utc)
    body = json.dumps({
        "type": "agent.step.completed",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "data": {"agent_id": AGENT_ID, "step_id": STEP_ID, "status": "completed",
                 "usage": {"completion_tokens": 128, "prompt_tokens": 2048,
                           "total_tokens": 2176},
                 "tool_calls": [{"id": "call_1", "name": "web_search"}]},
    }, separators=(",", ":")).encode()
    msg_id, ts = f"msg_py_{seq}", str(int(now.timestamp()))
    mac = hmac.new(KEY, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()
    req = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "webhook-id": msg_id, "webhook-timestamp": ts,
        "webhook-signature": "v1," + base64.b64encode(mac).decode()})
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()
        return 200 <= resp.status < 300


def main():
    url, count = sys.argv[1], int(sys.argv[2])
    if not url.startswith("http://127.0.0.1:"):
        sys.exit("inproc_post.py: loopback URLs only")
    post_one(url, 0)
    failed = 0
    t0 = time.perf_counter_ns()
    for i in range(1, count + 1):
        failed += not post_one(url, i)
    t1 = time.perf_counter_ns()
    print(json.dumps({"events": count, "failed": failed, "ns_per_event": (t1 - t0) / count}))


if __name__ == "__main__":
    main()
