#!/usr/bin/env bash
# Whatever happens to the collector, the Python agent does exactly the same
# work: its stdout is byte-identical, it exits 0 and prints no traceback, in
# four runs with the same flags:
#   1. no collector (every probe off)
#   2. a collector whose receiver is dead (deliveries fail and are retried)
#   3. a collector killed with SIGKILL mid-run (probes vanish under the agent)
#   4. no libprobehook.so at all (the binding is a no-op, with one warning)
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
source "$E2E_DIR/python_lib.sh"
python_setup
# Deterministic output; ~1000 probe sites paced over ~3 s, so run 3 is killed mid-run.
DEMO_FLAGS=(--agent-id agent-1,agent-2,agent-3 --steps 360 --fail-every 3 --rate 350 --seed 7)

# run_demo NAME [extra flags]: runs the demo to completion, checks how it ended
run_demo() {
	local name=$1; shift
	"${PY[@]}" "$PY_DIR/demo_agent.py" "${DEMO_FLAGS[@]}" "$@" >"$WORK/$name.out" 2>"$WORK/$name.log" ||
		e2e_fail "$name: demo exited with $?"
	check_demo "$name"
}

# check_demo NAME: clean stderr; sets FIRED and ENABLED from its summary line
check_demo() {
	! grep -E "Traceback|Error|binding errors" "$WORK/$1.log" || e2e_fail "$1: demo complained"
	read -r FIRED ENABLED < <(demo_summary "$WORK/$1.log") || true
	[ "${FIRED:-0}" -gt 0 ] || e2e_fail "$1: no summary line"
	e2e_log "$1: fired $FIRED events, $ENABLED while enabled"
}

config() { # URL
	cat >"$WORK/config.json" <<JSON
{
  "targets": [ {"path": "$PROBEHOOK_LIB"} ],
  "endpoints": [ {"id": "ep", "url": "$1", "secret": "$SECRET", "max_attempts": 100,
                  "allow_private_networks": true} ],
  "default_agent": {"webhook_enabled": true}
}
JSON
}

# 1. no collector
run_demo off
[ "$ENABLED" = 0 ] || e2e_fail "off: $ENABLED events fired while enabled without a collector"
base_fired=$FIRED

# 2. the receiver is dead: nothing listens on this port
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
config "http://127.0.0.1:$PORT/hooks"
start_collector "$WORK/config.json"
run_demo dead_receiver --wait-enabled 10
[ "$ENABLED" = "$FIRED" ] || e2e_fail "dead_receiver: only $ENABLED of $FIRED fired while enabled"
wait_until 10 grep -q "will retry" "$WORK/collector.log" || e2e_fail "no failed delivery logged"
stop_collector
mv "$WORK/collector.log" "$WORK/collector_dead_receiver.log"
: >"$WORK/collector.log" # start_collector greps it before the new collector has opened it

# 3. SIGKILL the collector while the demo runs
start_receiver hooks --secret "$SECRET"
config "http://127.0.0.1:$hooks_PORT/hooks"
start_collector "$WORK/config.json"
"${PY[@]}" "$PY_DIR/demo_agent.py" "${DEMO_FLAGS[@]}" --wait-enabled 10 \
	>"$WORK/killed.out" 2>"$WORK/killed.log" &
DEMO_PID=$!
PIDS+=("$DEMO_PID")
wait_until 20 have_lines "$WORK/hooks.jsonl" 50 ||
	e2e_fail "killed: only $(count_lines "$WORK/hooks.jsonl") events delivered before the kill"
kill -KILL "$COLLECTOR_PID"
{ wait "$COLLECTOR_PID"; } 2>/dev/null || true # reap it quietly
e2e_log "killed the collector after $(count_lines "$WORK/killed.out") events"
status=0
wait "$DEMO_PID" || status=$?
[ "$status" = 0 ] || e2e_fail "killed: demo exited with $status"
check_demo killed
[ "$ENABLED" -gt 0 ] && [ "$ENABLED" -lt "$FIRED" ] ||
	e2e_fail "killed: $ENABLED of $FIRED fired while enabled: the kill was not mid-run"

# 4. no library
PROBEHOOK_LIB=$WORK/missing/libprobehook.so python3 "$PY_DIR/demo_agent.py" "${DEMO_FLAGS[@]}" \
	>"$WORK/nolib.out" 2>"$WORK/nolib.log" || e2e_fail "nolib: demo exited with $?"
[ "$(grep -c "RuntimeWarning: probehook: libprobehook.so not loaded" "$WORK/nolib.log")" = 1 ] ||
	e2e_fail "nolib: want exactly one warning about the missing library"
grep -v -e "RuntimeWarning: probehook" -e "^  " "$WORK/nolib.log" >"$WORK/nolib_rest.log" || true
mv "$WORK/nolib_rest.log" "$WORK/nolib.log"
check_demo nolib
[ "$ENABLED" = 0 ] || e2e_fail "nolib: $ENABLED events fired while enabled"

for name in dead_receiver killed nolib; do
	cmp "$WORK/off.out" "$WORK/$name.out" || {
		diff "$WORK/off.out" "$WORK/$name.out" | head -20 >&2 || true
		e2e_fail "stdout with $name differs from the run without a collector"
	}
done
[ "$(wc -l <"$WORK/off.out")" = "$base_fired" ] || e2e_fail "off: printed lines != fired"
e2e_pass "identical output ($base_fired events) without a collector, with a dead receiver, a killed collector, no library"
