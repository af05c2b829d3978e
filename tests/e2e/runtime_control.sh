#!/usr/bin/env bash
# Runtime control through probehookctl, against a real collector and a probed
# program that prints its _ENABLED() semaphores every 100 ms:
# - only subscribed event types are attached (semaphores 0 for the rest);
# - disable / enable / --for flip the semaphore in the running program;
# - a disabled event produces no webhook; status --json matches the receiver;
# - the collector runs with the reduced capability set.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
CTL="$BUILD/probehookctl"

start_receiver hooks --secret "$SECRET"
# the endpoint only wants step events: nothing else may be attached
simple_config "$WORK/config.json" "{\"id\": \"ops\", \"url\": \"http://127.0.0.1:$hooks_PORT/\",
	\"secret\": \"$SECRET\", \"events\": [\"agent.step.*\"], \"allow_private_networks\": true}"
start_collector "$WORK/config.json"

"$AGENT" --print-enabled --steps 0 >"$WORK/enabled.jsonl" &
PIDS+=($!)

# semaphore EVENT: the last value the probed program printed (grep: polled often)
semaphore() { tail -n 1 "$WORK/enabled.jsonl" | grep -o "\"$1\":[01]" | cut -d: -f2; }
# t_ms of the program's last line, on its own clock
program_ms() { tail -n 1 "$WORK/enabled.jsonl" | grep -o '^{"t_ms":[0-9]*' | cut -d: -f2; }
semaphore_is() { [ "$(semaphore "$1" 2>/dev/null)" = "$2" ]; }
# expect_semaphore EVENT VALUE TIMEOUT_S
expect_semaphore() {
	wait_until "$3" semaphore_is "$1" "$2" ||
		e2e_fail "$1: semaphore $(semaphore "$1") in the probed program, want $2"
}
wait_until 5 test -s "$WORK/enabled.jsonl" || e2e_fail "probed program printed nothing"
expect_semaphore agent.step.completed 1 2
expect_semaphore agent.step.failed 1 2
for ev in agent.tool.attached agent.run.completed tool.execution.completed; do
	[ "$(semaphore $ev)" = 0 ] || e2e_fail "$ev is attached though no endpoint wants it"
done

# how long until the program sees it, on the program's clock: from its last line
# before the command to its first line showing 0 (at most 100 ms late)
before_ms=$(program_ms)
start=$(date +%s%N)
"$CTL" disable agent.step.completed >/dev/null || e2e_fail "disable failed"
replied_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_semaphore agent.step.completed 0 3
seen_ms=$(awk -v from="$before_ms" -F'[:,]' '$2 > from && /"agent.step.completed":0/ {print $2 - from; exit}' \
	"$WORK/enabled.jsonl")
e2e_log "disable: collector replied after ${replied_ms} ms; the program read 0 within ${seen_ms} ms"
[ "${seen_ms:-99999}" -le 1000 ] || e2e_fail "the probed program saw the disable only after ${seen_ms} ms"
"$CTL" enable agent.step.completed >/dev/null || e2e_fail "enable failed"
expect_semaphore agent.step.completed 1 2
"$CTL" disable agent.step.completed --for 3s >/dev/null || e2e_fail "timed disable failed"
expect_semaphore agent.step.completed 0 2
"$CTL" --json status | python3 -c '
import json, sys
s = json.load(sys.stdin)
p = [p for p in s["probes"] if p["event"] == "agent.step.completed"][0]
assert p["mode"] == "off" and p["reverts_to"] == "on" and 0 < p["reverts_in_ms"] <= 3000, p
' || e2e_fail "status does not show the timed disable"
expect_semaphore agent.step.completed 1 6 # the --for ran out
"$CTL" auto agent.step.completed >/dev/null || e2e_fail "auto failed"

# a disabled event produces no webhook; the others still arrive
"$CTL" disable agent.step.completed >/dev/null
"$AGENT" --steps 10 --fail-every 3 --wait-enabled 10 >"$WORK/agent.out" 2>"$WORK/agent.log" ||
	e2e_fail "demo agent failed"
failed=$(grep -c '^agent.step.failed' "$WORK/agent.out" || true)
[ "$failed" -gt 0 ] || e2e_fail "the demo agent failed no step"
wait_until 10 have_lines "$WORK/hooks.jsonl" "$failed" || e2e_fail "step.failed webhooks missing"
sleep 0.5
python3 - "$WORK/hooks.jsonl" "$failed" <<'PY' || e2e_fail "wrong webhooks while disabled"
import collections, json, sys
types = collections.Counter(json.loads(l)["body"]["type"] for l in open(sys.argv[1]))
assert types == {"agent.step.failed": int(sys.argv[2])}, types
PY

# status --json parses and its counters match what the receiver saw
"$CTL" --json status >"$WORK/status.json" || e2e_fail "status failed"
python3 - "$WORK/status.json" "$(count_lines "$WORK/hooks.jsonl")" "$AGENT" <<'PY' || e2e_fail "status does not match"
import json, sys
s = json.load(open(sys.argv[1]))
received = int(sys.argv[2])
ep = s["endpoints"][0]
assert ep["delivered"] == received and s["counters"]["delivered"] == received, (ep, received)
assert "secret" not in json.dumps(s) and "whsec_" not in json.dumps(s)
assert s["targets"][0]["path"] == sys.argv[3]
assert s["targets"][0]["processes"], "the running probed program was not discovered"
PY

# the collector keeps only the reduced capability set
caps=$(awk '/^CapEff/ {print $2}' "/proc/$COLLECTOR_PID/status")
[ "$caps" = 000000c000080004 ] || e2e_fail "effective capabilities $caps, want 000000c000080004"

stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
e2e_pass "semaphores follow subscriptions, disable/enable/--for; status matches; caps reduced"
