#!/usr/bin/env bash
# probehookctl against a real collector: refuses non-root peers (at the
# socket's mode and again by peer credentials), tails events live, discovers
# a process started after the collector, reloads a config that adds an
# endpoint without losing an event, and lists a binary's probes.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
CTL="$BUILD/probehookctl"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }

start_receiver a --secret "$SECRET"
start_receiver b --secret "$SECRET"
endpoint() { # ID PORT
	printf '{"id": "%s", "url": "http://127.0.0.1:%s/", "secret": "%s", "allow_private_networks": true}' \
		"$1" "$2" "$SECRET"
}
simple_config "$WORK/config.json" "$(endpoint a "$a_PORT")"
start_collector "$WORK/config.json"
[ "$(stat -c %a "$CTL_SOCKET")" = 600 ] || e2e_fail "control socket mode $(stat -c %a "$CTL_SOCKET")"

# 1. non-root: refused by the socket's mode, and by peer credentials when the mode is opened
status=0; out=$(as_nobody "$CTL" status 2>&1) || status=$?
[ $status = 4 ] && grep -q "permission denied" <<<"$out" || e2e_fail "non-root: exit $status: $out"
chmod 711 "$WORK"; chmod 666 "$CTL_SOCKET"
status=0; out=$(as_nobody "$CTL" status 2>&1) || status=$?
chmod 700 "$WORK"; chmod 600 "$CTL_SOCKET"
[ $status = 4 ] && grep -q "only root" <<<"$out" || e2e_fail "peer check: exit $status: $out"
grep -q "refused a client with uid 65534" "$WORK/collector.log" || e2e_fail "refusal not logged"

# 2. tail shows events live, 3. a process started after the collector is found
"$CTL" tail >"$WORK/tail.jsonl" 2>"$WORK/tail.log" &
TAIL_PID=$!
PIDS+=($TAIL_PID)
sleep 0.3
"$AGENT" --steps 60 --rate 100 --quiet --wait-enabled 10 2>"$WORK/agent.log" &
AGENT_PID=$!
PIDS+=($AGENT_PID)
agent_listed() { "$CTL" --json status | grep -q "\"processes\":\[[0-9,]*\b$AGENT_PID\b"; }
wait_until 5 agent_listed || e2e_fail "status never listed the new process $AGENT_PID"

# 4. reload while events flow: endpoint b joins, endpoint a loses nothing
wait_until 5 have_lines "$WORK/a.jsonl" 20 || e2e_fail "events did not start flowing"
simple_config "$WORK/config.json" "$(endpoint a "$a_PORT")" "$(endpoint b "$b_PORT")"
"$CTL" reload >/dev/null || e2e_fail "reload failed"
wait "$AGENT_PID" || e2e_fail "agent failed"
fired=$(sed -n 's/.*(\([0-9]*\) while enabled).*/\1/p' "$WORK/agent.log")
wait_until 10 have_lines "$WORK/a.jsonl" "$fired" || e2e_fail "a got $(count_lines "$WORK/a.jsonl") of $fired"
got_b=$(count_lines "$WORK/b.jsonl")
[ "$got_b" -gt 0 ] && [ "$got_b" -lt "$fired" ] || e2e_fail "b got $got_b of $fired (want some, not all)"
python3 "$E2E_DIR/check_events.py" "$WORK/a.jsonl" --expect-count "$fired" || e2e_fail "a's events"
python3 "$E2E_DIR/check_events.py" "$WORK/b.jsonl" --expect-count "$got_b" || e2e_fail "b's events"
tail_types=$(python3 -c 'import json,sys; print(len({json.loads(l)["type"] for l in open(sys.argv[1])}))' "$WORK/tail.jsonl")
[ "$(count_lines "$WORK/tail.jsonl")" -ge "$fired" ] && [ "$tail_types" = 8 ] ||
	e2e_fail "tail showed $(count_lines "$WORK/tail.jsonl") lines of $tail_types types"

# a broken config on reload (SIGHUP) keeps the running one
echo '{"targets": [' >"$WORK/config.json"
kill -HUP "$COLLECTOR_PID"
wait_until 5 grep -q "still running the previous config" "$WORK/collector.log" || e2e_fail "bad reload not reported"
"$CTL" status >/dev/null || e2e_fail "collector unresponsive after a bad reload"

# 5. probes PATH lists the 8 probes with semaphores, like tplist
"$CTL" --json probes "$AGENT" | python3 -c '
import json, sys
probes = [p for p in json.load(sys.stdin) if p["provider"] == "probehook"]
assert len({p["name"] for p in probes}) == 8 and all(p["semaphore"].startswith("0x") for p in probes), probes
' || e2e_fail "probes PATH"
status=0; "$CTL" probes /etc/hostname 2>/dev/null || status=$?
[ $status = 1 ] || e2e_fail "probes on a non-ELF file: exit $status"

stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
e2e_pass "non-root refused twice; tail live; new process discovered; reload lost nothing ($fired to a, $got_b to b)"
