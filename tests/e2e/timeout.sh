#!/usr/bin/env bash
# A receiver that never answers in time: each attempt times out after
# timeout_ms, is retried on the schedule, and after max_attempts the event is
# dead-lettered.  The receiver saw every attempt, all with one webhook-id.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver mute --delay-ms 5000
simple_config "$WORK/config.json" "{\"id\": \"mute\", \"url\": \"http://127.0.0.1:$mute_PORT/\",
	\"secret\": \"$SECRET\", \"allow_private_networks\": true, \"events\": [\"agent.job.completed\"],
	\"timeout_ms\": 400, \"max_attempts\": 3, \"retry\": {\"schedule_ms\": [0, 200]}}"
start_collector "$WORK/config.json"
start=$SECONDS
run_agent --steps 1
wait_until 10 log_has "dead-lettered after 3 attempts: .*[Tt]imed out" ||
	e2e_fail "no dead-letter after three timeouts"
[ $((SECONDS - start)) -lt 5 ] || e2e_fail "took $((SECONDS - start)) s: the timeout did not cut the requests"
stop_collector
[ "$(grep -c "failed (Operation timed out after" "$WORK/collector.log")" = 2 ] ||
	e2e_fail "want two logged timeouts before the last attempt"
jsonl_check "$WORK/mute.jsonl" '
if len(lines) != 3: fail(f"{len(lines)} requests, want 3")
if len({l["webhook_id"] for l in lines}) != 1: fail("one event, several ids")
'
log_has "deliveries ok 0, dead-lettered 1" || e2e_fail "shutdown counts wrong"
e2e_pass "three attempts timed out after 400 ms each, then dead-lettered"
