#!/usr/bin/env bash
# Hostile probe arguments, through real BPF: invalid UTF-8, JSON and control
# characters, 1 MiB strings, NULL and unreadable pointers, extreme integers,
# broken and too deep JSON.  Every body the receiver gets is valid JSON with
# each argument escaped, replaced, cut or nulled and flagged as documented;
# every case arrives once, and the collector is still alive and stops cleanly.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
CAP=2047 # odd: the 1 MiB of two-byte characters is cut inside one
cp "$BUILD/tests/progs/probehook-hostile" "$WORK/hostile"
start_receiver hooks --secret "$SECRET" --raw-body
cat >"$WORK/config.json" <<JSON
{
  "targets": [ {"path": "$WORK/hostile"} ],
  "endpoints": [ {"id": "ops", "url": "http://127.0.0.1:$hooks_PORT/hooks", "secret": "$SECRET",
                  "allow_private_networks": true} ],
  "default_agent": {"webhook_enabled": true},
  "max_arg_bytes": $CAP
}
JSON
start_collector "$WORK/config.json" --verbose
"$WORK/hostile" 10 >"$WORK/fired.txt" 2>"$WORK/hostile.log" || e2e_fail "probehook-hostile failed"
fired=$(count_lines "$WORK/fired.txt")
wait_until 20 have_lines "$WORK/hooks.jsonl" "$fired" ||
	e2e_fail "receiver got $(count_lines "$WORK/hooks.jsonl") of $fired"
sleep 0.5 # a duplicate would arrive now
kill -0 "$COLLECTOR_PID" || e2e_fail "the collector died"
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
python3 "$E2E_DIR/check_hostile.py" "$WORK/hooks.jsonl" "$WORK/fired.txt" "$CAP" ||
	e2e_fail "hostile arguments were not delivered as documented"
[ "$(count_lines "$WORK/hooks.jsonl")" = "$fired" ] ||
	e2e_fail "$(count_lines "$WORK/hooks.jsonl") requests for $fired events"
grep -q "malformed 0)" "$WORK/collector.log" || e2e_fail "the collector dropped malformed records"
e2e_pass "$fired hostile cases delivered as valid, flagged JSON"
