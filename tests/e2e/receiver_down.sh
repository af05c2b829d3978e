#!/usr/bin/env bash
# A receiver that is down does not stop the collector or touch the agent:
# attempts fail and are retried, and once the receiver comes up every event
# arrives exactly once.  All first attempts fail at once, so the circuit
# breaker opens: a short cool-down keeps the recovery within the test's time.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
PORT=$(free_port)
simple_config "$WORK/config.json" "{\"id\": \"down\", \"url\": \"http://127.0.0.1:$PORT/hooks\",
	\"secret\": \"$SECRET\", \"max_attempts\": 6, \"allow_private_networks\": true,
	\"breaker\": {\"cooldown_ms\": 1000}}"
start_collector "$WORK/config.json"
run_agent --steps 10
fired=$FIRED

wait_until 10 grep -q "will retry" "$WORK/collector.log" || e2e_fail "no failed attempt logged"
kill -0 "$COLLECTOR_PID" || e2e_fail "collector died with the receiver down"

# now the receiver comes up on the same port
"$BUILD/probehook-receiver" --listen "127.0.0.1:$PORT" --secret "$SECRET" \
	--out "$WORK/hooks.jsonl" 2>"$WORK/receiver.log" &
PIDS+=($!)
wait_until 30 have_lines "$WORK/hooks.jsonl" "$fired" ||
	e2e_fail "after the receiver came up: $(count_lines "$WORK/hooks.jsonl") of $fired"
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
python3 "$E2E_DIR/check_events.py" "$WORK/hooks.jsonl" --expect-count "$fired" ||
	e2e_fail "events after recovery do not check out"
grep -q "0 deliveries undelivered" "$WORK/collector.log" || e2e_fail "undelivered at shutdown"
e2e_pass "$fired events retried until the receiver came up, each delivered once"
