#!/usr/bin/env bash
# At-least-once across a crash: with the receiver down, every event is accepted
# into the spool; the collector is killed with SIGKILL; the last segment's
# final record is torn (cut mid-record); a new collector sets the torn bytes
# aside, resumes the rest with their original webhook-ids, and once the
# receiver is up every event arrives, each id exactly once.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
PORT=$(free_port)
simple_config "$WORK/config.json" "{\"id\": \"ops\", \"url\": \"http://127.0.0.1:$PORT/\",
	\"secret\": \"$SECRET\", \"max_attempts\": 100, \"retry\": {\"schedule_ms\": [0, 300]},
	\"breaker\": {\"window\": 1000, \"min_attempts\": 1000}, \"allow_private_networks\": true}"
start_collector "$WORK/config.json"
"$AGENT" --steps 20 --wait-enabled 10 >"$WORK/agent.out" 2>"$WORK/agent.log" ||
	e2e_fail "demo agent failed"
fired=$(wc -l <"$WORK/agent.out")
wait_until 10 have_log_count "will retry" "$fired" || e2e_fail "not every event was attempted"
kill -KILL "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null || true
mv "$WORK/collector.log" "$WORK/collector-1.log"

# tear the newest segment's last record
seg=$(ls "$WORK/spool"/*.seg | tail -n 1)
size=$(stat -c %s "$seg")
truncate -s $((size - 7)) "$seg"
e2e_log "killed after $fired events; cut 7 bytes off $(basename "$seg") ($size bytes)"

"$BUILD/probehook-receiver" --listen "127.0.0.1:$PORT" --secret "$SECRET" \
	--out "$WORK/hooks.jsonl" 2>"$WORK/receiver.log" &
PIDS+=($!)
start_collector "$WORK/config.json"
grep -q "set aside 1 torn or corrupt regions" "$WORK/collector.log" || e2e_fail "torn tail not reported"
grep -q "resuming $fired events" "$WORK/collector.log" ||
	e2e_fail "want 'resuming $fired events': $(grep resuming "$WORK/collector.log")"
wait_until 20 have_lines "$WORK/hooks.jsonl" "$fired" ||
	e2e_fail "after the restart: $(count_lines "$WORK/hooks.jsonl") of $fired"
sleep 0.5
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"

# every event the agent fired, each once, with the id the first collector gave it
python3 - "$WORK/hooks.jsonl" "$WORK/collector-1.log" "$fired" <<'PY' || e2e_fail "wrong deliveries"
import json, re, sys
got = [json.loads(l) for l in open(sys.argv[1])]
ids = [r["webhook_id"] for r in got]
first = set(re.findall(r"event (msg_[0-9a-f]+) to endpoint ops: attempt 1 failed", open(sys.argv[2]).read()))
assert len(ids) == len(set(ids)) == int(sys.argv[3]), (len(ids), len(set(ids)), sys.argv[3])
assert set(ids) == first, f"{len(set(ids) - first)} new ids, {len(first - set(ids))} missing"
assert all(r["signature"] == "valid" for r in got)
PY
grep -q '"delivered"' "$WORK/spool/attempts.log" || e2e_fail "attempt log has no delivered attempt"
e2e_pass "$fired events survived SIGKILL and a torn tail, delivered once each with their ids"
