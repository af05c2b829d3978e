#!/usr/bin/env bash
# A receiver that answers 500, 500, then 200: three attempts of the one
# event, each with the same webhook-id and a fresh, valid signature (its own
# webhook-timestamp), on the configured schedule; then nothing more.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver hooks --secret "$SECRET" --status-sequence 500,500,200
# one event: the demo agent completes one job per agent
simple_config "$WORK/config.json" "{\"id\": \"seq\", \"url\": \"http://127.0.0.1:$hooks_PORT/hooks\",
	\"secret\": \"$SECRET\", \"allow_private_networks\": true, \"events\": [\"agent.job.completed\"],
	\"retry\": {\"schedule_ms\": [0, 1100, 1100], \"jitter_percent\": 0}}"
start_collector "$WORK/config.json"
run_agent --steps 1
[ "$FIRED" = 1 ] || e2e_fail "want one event, the agent fired $FIRED"

wait_until 10 have_lines "$WORK/hooks.jsonl" 3 ||
	e2e_fail "receiver got $(count_lines "$WORK/hooks.jsonl") requests, want 3"
sleep 1.5 # a fourth attempt would come now
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
jsonl_check "$WORK/hooks.jsonl" '
from datetime import datetime
if len(lines) != 3: fail(f"{len(lines)} requests, want 3")
if [l["status"] for l in lines] != [500, 500, 200]: fail([l["status"] for l in lines])
if len({l["webhook_id"] for l in lines}) != 1: fail("webhook-id changed between attempts")
if any(l["signature"] != "valid" for l in lines): fail([l["signature_error"] for l in lines])
stamps = [int(l["headers"]["webhook-timestamp"]) for l in lines]
sigs = [l["headers"]["webhook-signature"] for l in lines]
if not stamps[0] < stamps[1] < stamps[2]: fail(f"timestamps not fresh per attempt: {stamps}")
if len(set(sigs)) != 3: fail("a signature was reused")
t = [datetime.fromisoformat(l["time"]) for l in lines]
gaps = [(t[i + 1] - t[i]).total_seconds() for i in range(2)]
if not all(1.05 <= g <= 3 for g in gaps): fail(f"gaps {gaps}, want the 1.1 s schedule")
'
log_has "attempt 1 failed \(HTTP 500\); will retry in 1100 ms" || e2e_fail "attempt 1 not logged"
log_has "attempt 2 failed \(HTTP 500\); will retry in 1100 ms" || e2e_fail "attempt 2 not logged"
log_has "deliveries ok 1, dead-lettered 0" || e2e_fail "shutdown counts wrong"
e2e_pass "500, 500, 200: three attempts, one webhook-id, three fresh valid signatures"
