#!/usr/bin/env bash
# Flood: two threads fire one probe as fast as they can for 10 s into a small
# ring (64 KiB), a short queue and a 16 MiB spool that refuses what does not
# fit, against a receiver that takes 20 ms per request.  The collector keeps
# delivering throughout, and accounts for every hit exactly: delivered + kept
# in the spool + refused + ring drops == fired, and the gaps in the sequence
# numbers are exactly the ones not delivered (check_flood.py).
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
FLOOD_S=${FLOOD_S:-10}
cp "$BUILD/tests/progs/probehook-flood" "$WORK/flood"
start_receiver hooks --delay-ms 20 --quiet
cat >"$WORK/config.json" <<JSON
{
  "targets": [ {"path": "$WORK/flood"} ],
  "endpoints": [ {"id": "ops", "url": "http://127.0.0.1:$hooks_PORT/hooks", "secret": "$SECRET",
                  "events": ["agent.*", "tool.*"], "allow_private_networks": true} ],
  "default_agent": {"webhook_enabled": true},
  "ring_buffer_bytes": 65536,
  "queue_max": 2000,
  "spool_max_bytes": 16777216,
  "spool_full_policy": "refuse_newest"
}
JSON
start_collector "$WORK/config.json"
start=$(date +%s.%N)
"$WORK/flood" "$FLOOD_S" 2 10 >"$WORK/flood.out" 2>"$WORK/flood.log" || e2e_fail "probehook-flood failed"
end=$(date +%s.%N)
sent=$(sed -n 's/^fired //p' "$WORK/flood.out")
e2e_log "flood fired $sent in $FLOOD_S s"
kill -0 "$COLLECTOR_PID" || e2e_fail "the collector died"
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
grep -q "shutdown: 0 deliveries undelivered" "$WORK/collector.log" ||
	e2e_fail "deliveries left at shutdown"
python3 "$E2E_DIR/check_flood.py" "$WORK/hooks.jsonl" "$WORK/collector.log" "$sent" "$start" "$end" ||
	e2e_fail "the flood is not accounted for"
e2e_pass "$sent hits: every one delivered, kept in the spool, or counted as refused or dropped"
