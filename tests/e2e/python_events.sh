#!/usr/bin/env bash
# The Python binding (probes/python) fires all 8 probes through its own copy of
# libprobehook.so, from the Letta-shaped asyncio demo, for four agents.  The
# receiver must get every event of the agents that enabled webhooks and
# subscribed to its type, with the seed's payload fields, valid signatures and
# bodies that match docs/schemas, and nothing else.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
source "$E2E_DIR/python_lib.sh"
python_setup
SCHEMAS=$(cd "$E2E_DIR/../../docs/schemas" && pwd)
[ -d "$E2E_DIR/../node/node_modules/ajv-formats" ] ||
	e2e_fail "run 'npm ci' in tests/node first (ajv, ajv-formats)"

start_receiver hooks --secret "$SECRET"
filtering_config "$WORK/config.json" "$PROBEHOOK_LIB" "$hooks_PORT"
start_collector "$WORK/config.json"

"${PY[@]}" "$PY_DIR/demo_agent.py" --agent-id agent-42,agent-7 --agent-id agent-off,agent-unlisted \
	--steps 48 --fail-every 4 --wait-enabled 10 >"$WORK/agent.out" 2>"$WORK/agent.log" ||
	e2e_fail "python demo agent failed"
! grep -E "Traceback|binding errors|Warning" "$WORK/agent.log" || e2e_fail "python demo complained"
read -r fired enabled < <(demo_summary "$WORK/agent.log") || true
[ "${fired:-0}" -gt 0 ] && [ "$(wc -l <"$WORK/agent.out")" = "$fired" ] ||
	e2e_fail "demo says it fired '${fired:-}' events, printed $(wc -l <"$WORK/agent.out")"
# Every probe was attached throughout: the binding saw each of them on.
[ "$enabled" = "$fired" ] || e2e_fail "only $enabled of $fired events fired while enabled"

expected=$(grep -c -E '^[a-z.]+ agent=agent-42( |$)' "$WORK/agent.out" || true)
expected=$((expected + $(grep -c -E '^agent\.step\.failed agent=agent-7( |$)' "$WORK/agent.out" || true)))
e2e_log "python demo fired $fired events; $expected should be delivered"
expect_filtered_delivery "$expected"
node "$E2E_DIR/check_schemas.js" "$WORK/hooks.jsonl" "$SCHEMAS" --require-all ||
	e2e_fail "received bodies do not match docs/schemas"

# What only the Python path produces: non-ASCII text, a null run_id, both failure
# kinds, models dumped by the binding, a float of milliseconds.
python3 - "$WORK/hooks.jsonl" <<'PY' || e2e_fail "python-specific payloads are wrong"
import json, sys
bodies = [json.loads(line)["body"] for line in open(sys.argv[1])]
by_type = {}
for b in bodies:
    by_type.setdefault(b["type"], []).append(b["data"])
checks = {
    "UTF-8 query arrives intact": any(d["tool_args"].get("query") == "météo à Paris"
                                      for d in by_type["tool.execution.completed"]),
    "a message without a run has run_id null": any(d["run_id"] is None
                                                   for d in by_type["agent.message.sent"]),
    "usage dumped from a model": all(d["usage"]["total_tokens"] == d["usage"]["prompt_tokens"]
                                     + d["usage"]["completion_tokens"]
                                     for d in by_type["agent.step.completed"]),
    "tool calls dumped from models": all(c["type"] == "function" and json.loads(c["function"]["arguments"])
                                         for d in by_type["agent.step.completed"] for c in d["tool_calls"]),
    "both failure kinds": {d["error_type"] for d in by_type["agent.step.failed"]}
                          == {"RateLimitError", "ToolExecutionError"},
    "fractional execution_time_ms": any(d["execution_time_ms"] != int(d["execution_time_ms"])
                                        for d in by_type["tool.execution.completed"]),
    "the process is python": all(b["source"]["comm"].startswith("python") for b in bodies),
}
failed = [name for name, ok in checks.items() if not ok]
print("python payload checks failed:", failed, file=sys.stderr) if failed else None
sys.exit(1 if failed else 0)
PY

# The schema check must catch drift: one extra payload field fails it.
python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
req = json.loads(lines[0]); req["body"]["data"]["extra_field"] = 1
print(json.dumps(req))' "$WORK/hooks.jsonl" >"$WORK/drift.jsonl"
if node "$E2E_DIR/check_schemas.js" "$WORK/drift.jsonl" "$SCHEMAS" >"$WORK/drift.log" 2>&1; then
	e2e_fail "check_schemas.js accepted a body with an extra field"
fi
grep -q "extra_field\|additional properties" "$WORK/drift.log" || e2e_fail "drift not explained"
e2e_pass "python binding: $expected events delivered, filtered, signed and schema-valid"
