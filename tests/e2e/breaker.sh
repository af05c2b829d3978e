#!/usr/bin/env bash
# The circuit breaker under sustained failure: after 4 failures of 4 it
# opens and holds every event (nothing reaches the receiver for the
# cool-down), then half-opens with exactly one probe; failed probes re-open
# it, a delivered probe closes it and the held events flow, each once.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver flaky --status-sequence 500,500,500,500,500,500
simple_config "$WORK/config.json" "{\"id\": \"flaky\", \"url\": \"http://127.0.0.1:$flaky_PORT/\",
	\"secret\": \"$SECRET\", \"allow_private_networks\": true, \"events\": [\"agent.job.completed\"],
	\"max_in_flight\": 1, \"max_attempts\": 50, \"retry\": {\"schedule_ms\": [0, 200], \"jitter_percent\": 0},
	\"breaker\": {\"failure_ratio\": 0.5, \"min_attempts\": 4, \"window\": 4, \"cooldown_ms\": 1500}}"
start_collector "$WORK/config.json"
run_agent --steps 6 --agent-id a1,a2,a3,a4,a5,a6
[ "$FIRED" = 6 ] || e2e_fail "want 6 events, the agent fired $FIRED"
wait_until 20 have_lines "$WORK/flaky.jsonl" 12 ||
	e2e_fail "receiver got $(count_lines "$WORK/flaky.jsonl") requests, want 6 failed + 6 delivered"
sleep 0.5
stop_collector
jsonl_check "$WORK/flaky.jsonl" '
from datetime import datetime
if len(lines) != 12: fail(f"{len(lines)} requests, want 12")
status = [l["status"] for l in lines]
if status != [500] * 6 + [200] * 6: fail(status)
t = [datetime.fromisoformat(l["time"]) for l in lines]
gap = lambda i: (t[i] - t[i - 1]).total_seconds()
# requests 1-4 fail back to back; 5, 6, 7 are lone probes a cool-down apart
if gap(3) > 1.0: fail(f"first failures spread over {gap(3)} s")
for i in (4, 5, 6):
    if not 1.45 <= gap(i) <= 3.0: fail(f"request {i + 1} came {gap(i):.3f} s after the one before; want the 1.5 s cool-down")
# once closed, the held events flow at once
if (t[11] - t[6]).total_seconds() > 1.0: fail("held events not released after the close")
ok = [l["webhook_id"] for l in lines if l["status"] == 200]
if len(set(ok)) != 6: fail("an event was delivered twice or not at all")
'
# the transitions, in order
grep -oE "circuit (open: 4 of the last 4|half-open|open again: the probe failed \(HTTP 500\)|closed: the probe was delivered)" \
	"$WORK/collector.log" | tr '\n' '|' >"$WORK/transitions"
want="circuit open: 4 of the last 4|circuit half-open|circuit open again: the probe failed (HTTP 500)|circuit half-open|circuit open again: the probe failed (HTTP 500)|circuit half-open|circuit closed: the probe was delivered|"
[ "$(cat "$WORK/transitions")" = "$want" ] || e2e_fail "transitions: $(cat "$WORK/transitions")"
log_has "deliveries ok 6, dead-lettered 0" || e2e_fail "not all 6 delivered"
e2e_pass "breaker opened, held events, half-opened three times, closed, delivered all 6"
