#!/usr/bin/env bash
# The spool holds what memory cannot: with the receiver down and a delivery
# queue of only 40 (queue_max), the events beyond it wait in the spool (the
# backlog) instead of being dropped; the collector is killed and restarted
# while they wait, reads back 40 and leaves the rest there; once the
# receiver is up the backlog is read back as the queue drains, and every
# event arrives, each webhook-id once, none dropped.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
PORT=$(free_port)
QUEUE=40
cat >"$WORK/config.json" <<JSON
{
  "targets": [ {"path": "$AGENT"} ],
  "endpoints": [ {"id": "ops", "url": "http://127.0.0.1:$PORT/", "secret": "$SECRET",
                  "max_attempts": 100, "retry": {"schedule_ms": [0, 300]},
                  "breaker": {"window": 1000, "min_attempts": 1000},
                  "allow_private_networks": true} ],
  "default_agent": {"webhook_enabled": true},
  "queue_max": $QUEUE
}
JSON
status_field() { # status_field PYTHON-EXPR: evaluated on `s`, probehookctl status --json
	"$BUILD/probehookctl" --json status | python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"
}
start_collector "$WORK/config.json"
run_agent --steps 60
fired=$FIRED
[ "$fired" -gt $((3 * QUEUE)) ] || e2e_fail "only $fired events: the queue would hold them"
wait_until 10 log_has "new events wait in the spool" || e2e_fail "no backlog started"
wait_until 10 sh -c "[ \"\$(\"$BUILD/probehookctl\" --json status | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"spool\"][\"appended\"])')\" -ge $fired ]" ||
	e2e_fail "not every event was spooled"
read -r pending spilled dropped < <(status_field 's["counters"]["pending_deliveries"], s["spool"]["spilled"], s["counters"]["queue_full"]')
e2e_log "$fired events: $pending deliveries in memory, $spilled waiting in the spool, $dropped dropped"
[ "$pending" -le "$QUEUE" ] || e2e_fail "$pending deliveries in memory, queue_max $QUEUE"
[ "$spilled" -ge $((fired - QUEUE)) ] && [ "$dropped" = 0 ] ||
	e2e_fail "spilled $spilled, dropped $dropped of $fired with a queue of $QUEUE"

# a crash while the backlog waits: the restart takes what the queue holds
kill -KILL "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null || true
mv "$WORK/collector.log" "$WORK/collector-1.log"
start_collector "$WORK/config.json"
log_has "resuming $fired events not delivered before the last stop; $QUEUE now, the rest as the queue drains" ||
	e2e_fail "recovery did not keep to queue_max: $(grep resuming "$WORK/collector.log")"

"$BUILD/probehook-receiver" --listen "127.0.0.1:$PORT" --secret "$SECRET" \
	--out "$WORK/hooks.jsonl" 2>"$WORK/receiver.log" &
PIDS+=($!)
wait_until 60 have_lines "$WORK/hooks.jsonl" "$fired" ||
	e2e_fail "after the receiver came up: $(count_lines "$WORK/hooks.jsonl") of $fired"
wait_until 5 log_has "the backlog is read back" || e2e_fail "the backlog was never read back"
sleep 0.5
read -r dropped backlog < <(status_field 's["counters"]["queue_full"], s["spool"]["backlog"]')
[ "$dropped" = 0 ] && [ "$backlog" = False ] || e2e_fail "dropped $dropped, backlog $backlog"
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
jsonl_check "$WORK/hooks.jsonl" "
ids = [l['webhook_id'] for l in lines]
if len(ids) != len(set(ids)) or len(ids) != $fired:
    fail(f'{len(ids)} requests, {len(set(ids))} ids, {$fired} fired')
if any(l['signature'] != 'valid' for l in lines):
    fail('a signature is not valid')"
e2e_pass "$fired events through a queue of $QUEUE and a crash: each delivered once, none dropped"
