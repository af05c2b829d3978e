#!/usr/bin/env bash
# SIGTERM with a dead receiver: the collector exits 0 promptly and says how
# many deliveries were left undelivered (all of them).
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
simple_config "$WORK/config.json" "{\"id\": \"dead\", \"url\": \"http://127.0.0.1:$(free_port)/\",
	\"secret\": \"$SECRET\", \"max_attempts\": 100, \"allow_private_networks\": true}"
start_collector "$WORK/config.json"
run_agent --steps 5
fired=$FIRED
wait_until 10 grep -q "will retry" "$WORK/collector.log" || e2e_fail "no failed attempt logged"
start=$SECONDS
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
[ $((SECONDS - start)) -le 8 ] || e2e_fail "shutdown took $((SECONDS - start)) s"
grep -q "shutdown: $fired deliveries undelivered" "$WORK/collector.log" ||
	e2e_fail "want 'shutdown: $fired deliveries undelivered'"
e2e_pass "shutdown reported $fired undelivered"
