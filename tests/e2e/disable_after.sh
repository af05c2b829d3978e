#!/usr/bin/env bash
# An endpoint that has failed without a single success for disable_after_ms
# is disabled, says so, and gets no more requests; its events are
# dead-lettered.  (The breaker is set out of the way: min_attempts 1000.)
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver dead --status 500
simple_config "$WORK/config.json" "{\"id\": \"dead\", \"url\": \"http://127.0.0.1:$dead_PORT/\",
	\"secret\": \"$SECRET\", \"allow_private_networks\": true, \"events\": [\"agent.job.completed\"],
	\"disable_after_ms\": 1000, \"max_attempts\": 100, \"retry\": {\"schedule_ms\": [0, 200], \"jitter_percent\": 0},
	\"breaker\": {\"min_attempts\": 1000, \"window\": 1000}}"
start_collector "$WORK/config.json"
run_agent --steps 2 --agent-id a,b
wait_until 10 log_has "endpoint dead disabled: no success for [0-9]+ ms \(disable_after_ms\)" ||
	e2e_fail "not disabled after 1 s of failures"
requests=$(count_lines "$WORK/dead.jsonl")
sleep 0.8 # retries were every 200 ms: none may come now
[ "$(count_lines "$WORK/dead.jsonl")" = "$requests" ] || e2e_fail "requests after the disable"
stop_collector
log_has "endpoint dead: 0 delivered, 2 dead-lettered .*; disabled" || e2e_fail "report line wrong"
[ "$requests" -ge 8 ] && [ "$requests" -le 16 ] || e2e_fail "$requests requests in about 1 s of 200 ms retries for 2 events"
e2e_pass "disabled after 1 s without a success ($requests requests), events dead-lettered"
