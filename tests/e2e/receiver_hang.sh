#!/usr/bin/env bash
# A receiver that accepts requests and never answers, beside a healthy one in
# the same config.  Attempts to the first time out (timeout_ms 500) and are
# retried, then given up; meanwhile every event still reaches the healthy
# endpoint within a second of firing: the collector never waits on a receiver.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver hang --delay-ms 600000
start_receiver ok --secret "$SECRET"
simple_config "$WORK/config.json" \
	"{\"id\": \"hang\", \"url\": \"http://127.0.0.1:$hang_PORT/hooks\", \"secret\": \"$SECRET\",
	  \"timeout_ms\": 500, \"max_attempts\": 2, \"retry\": {\"schedule_ms\": [0, 200]}, \"breaker\": {\"window\": 1000, \"min_attempts\": 1000}, \"allow_private_networks\": true}" \
	"{\"id\": \"ok\", \"url\": \"http://127.0.0.1:$ok_PORT/hooks\", \"secret\": \"$SECRET\",
	  \"allow_private_networks\": true}"
start_collector "$WORK/config.json"
run_agent --steps 15 --rate 30 # about 2.5 s of events, while "hang" holds 32 requests
fired=$FIRED
wait_until 10 have_lines "$WORK/ok.jsonl" "$fired" ||
	e2e_fail "healthy receiver got $(count_lines "$WORK/ok.jsonl") of $fired"
python3 "$E2E_DIR/check_latency.py" "$WORK/ok.jsonl" 1.0 ||
	e2e_fail "the healthy endpoint waited on the hanging one"
wait_until 30 have_log_count "dead-lettered after 2 attempts" "$fired" ||
	e2e_fail "$(log_count "dead-lettered after 2 attempts") of $fired deliveries to hang gave up"
[ "$(log_count "timed out after")" -ge "$fired" ] || e2e_fail "attempts did not time out"
[ "$(count_lines "$WORK/hang.jsonl")" = $((2 * fired)) ] ||
	e2e_fail "hanging receiver got $(count_lines "$WORK/hang.jsonl") requests, want $((2 * fired))"
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
python3 "$E2E_DIR/check_events.py" "$WORK/ok.jsonl" --expect-count "$fired" ||
	e2e_fail "events to the healthy endpoint do not check out"
e2e_pass "$fired events delivered promptly while the other endpoint hung"
