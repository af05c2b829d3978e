#!/usr/bin/env bash
# A receiver that answers 302 (Location: /redirected): the collector does not
# follow it.  Each attempt is one POST to the configured path and counts as a
# failure (HTTP 302); after max_attempts the delivery is given up.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
start_receiver redir --status 302 --secret "$SECRET"
simple_config "$WORK/config.json" \
	"{\"id\": \"redir\", \"url\": \"http://127.0.0.1:$redir_PORT/hooks\", \"secret\": \"$SECRET\",
	  \"max_attempts\": 2, \"retry\": {\"schedule_ms\": [0, 200]}, \"breaker\": {\"window\": 1000, \"min_attempts\": 1000}, \"allow_private_networks\": true}"
start_collector "$WORK/config.json"
run_agent --steps 5
fired=$FIRED
wait_until 20 have_log_count "dead-lettered after 2 attempts: HTTP 302" "$fired" ||
	e2e_fail "$(log_count "dead-lettered after 2 attempts: HTTP 302") of $fired deliveries gave up on the 302"
sleep 0.3 # a followed redirect would arrive now
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
python3 - "$WORK/redir.jsonl" "$((2 * fired))" <<'PY' || e2e_fail "the redirect was followed"
import collections, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
seen = collections.Counter((l["method"], l["path"], l["status"], l["signature"]) for l in lines)
print(f"redirect: {len(lines)} requests: {dict(seen)}", file=sys.stderr)
sys.exit(0 if seen == {("POST", "/hooks", 302, "valid"): int(sys.argv[2])} else 1)
PY
e2e_pass "$fired events: 2 attempts each, redirect never followed"
