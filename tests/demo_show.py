#!/usr/bin/env python3
"""Print each webhook probehook-receiver records (JSON lines on stdin), one line each."""
import json
import sys

for line in sys.stdin:
    try:
        req = json.loads(line)
    except ValueError:
        continue
    body = req.get("body") if isinstance(req.get("body"), dict) else {}
    data = body.get("data", {})
    rest = {k: v for k, v in data.items() if k != "agent_id"}
    text = json.dumps(rest, separators=(",", ":"))
    if len(text) > 90:
        text = text[:87] + "..."
    print(f"   webhook #{req.get('seq')} [{req.get('signature')}] {body.get('type')} "
          f"agent={data.get('agent_id')} {text}", flush=True)
