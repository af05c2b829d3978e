#!/usr/bin/env bash
# max_payload_bytes holds for events resumed from the spool too: with both
# receivers down, events are spooled for a "capped" endpoint whose cap is
# far above every body and for a "full" one without a cap; the collector is
# killed with SIGKILL and restarted with the capped endpoint's cap lowered
# to 600.  Every resumed body over 600 bytes reaches it cut as a live event
# is (at most the cap, valid JSON, signed, the cut fields in
# flags.truncated, agent_id intact), every other body unchanged, each under
# the webhook-id the first collector gave it; the full endpoint gets every
# body whole, to compare against.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
CAP=600
AGENT_ID=agent-$(printf "x%.0s" $(seq 1 121))
CAPPED_PORT=$(free_port)
FULL_PORT=$(free_port)

# config CAP: both endpoints, the capped one with max_payload_bytes CAP
config() {
	local retry='"max_attempts": 100, "retry": {"schedule_ms": [0, 300]},
		"breaker": {"window": 1000, "min_attempts": 1000}, "allow_private_networks": true'
	simple_config "$WORK/config.json" \
		"{\"id\": \"capped\", \"url\": \"http://127.0.0.1:$CAPPED_PORT/\", \"secret\": \"$SECRET\",
		  \"max_payload_bytes\": $1, $retry}" \
		"{\"id\": \"full\", \"url\": \"http://127.0.0.1:$FULL_PORT/\", \"secret\": \"$SECRET\", $retry}"
}

# 1. receivers down, a cap no body reaches: every event is spooled whole
config $((1 << 20))
start_collector "$WORK/config.json"
run_agent --steps 6 --agent-id "$AGENT_ID"
fired=$FIRED
wait_until 10 have_log_count "will retry" $((2 * fired)) || e2e_fail "not every delivery was attempted"
kill -KILL "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null || true
mv "$WORK/collector.log" "$WORK/collector-1.log"
! grep -q "cut to max_payload_bytes [1-9]" "$WORK/collector-1.log" || e2e_fail "the first collector cut bodies"

# 2. the cap lowered, receivers up: the resumed bodies are cut for the capped endpoint
config "$CAP"
for r in capped full; do
	port_var=${r^^}_PORT
	"$BUILD/probehook-receiver" --listen "127.0.0.1:${!port_var}" --secret "$SECRET" --raw-body \
		--out "$WORK/$r.jsonl" 2>"$WORK/$r.log" &
	PIDS+=($!)
done
start_collector "$WORK/config.json"
grep -q "resuming $fired events" "$WORK/collector.log" ||
	e2e_fail "want 'resuming $fired events': $(grep resuming "$WORK/collector.log")"
for r in capped full; do
	wait_until 20 have_lines "$WORK/$r.jsonl" "$fired" || e2e_fail "$r got $(count_lines "$WORK/$r.jsonl") of $fired"
done
recovered_cut=$("$BUILD/probehookctl" --json status |
	python3 -c 'import json, sys; print(json.load(sys.stdin)["spool"]["recovered_cut_to_fit"])') ||
	e2e_fail "probehookctl status failed"
sleep 0.3
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"

python3 - "$WORK/capped.jsonl" "$WORK/full.jsonl" "$WORK/collector-1.log" "$AGENT_ID" "$CAP" \
	"$recovered_cut" <<'PY' || e2e_fail "resumed bodies wrong"
import json, re, sys
capped = [json.loads(l) for l in open(sys.argv[1])]
full = {l["webhook_id"]: l for l in map(json.loads, open(sys.argv[2]))}
first = set(re.findall(r"event (msg_[0-9a-f]+) to endpoint capped: attempt 1 failed",
                       open(sys.argv[3]).read()))
agent, cap, counted = sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
ids = [c["webhook_id"] for c in capped]
assert len(ids) == len(set(ids)), "an event arrived twice"
assert set(ids) == first == full.keys(), "not the first collector's webhook-ids"
cut = 0
for c in capped:
    raw, whole = c["body_raw"].encode(), full[c["webhook_id"]]["body_raw"].encode()
    assert c["signature"] == "valid", c["signature_error"]
    assert c["body_encoding"] == "json", "not JSON"
    body = json.loads(raw)
    assert body["data"]["agent_id"] == agent, "agent_id was cut"
    if len(whole) <= cap:
        assert raw == whole, "a body under the cap was changed"
        continue
    cut += 1
    assert len(raw) <= cap, f"{len(raw)} bytes over the cap of {cap}"
    fields = body.get("flags", {}).get("truncated", [])
    assert fields, "no flags.truncated on a cut body"
    orig = json.loads(whole)
    for f in fields:
        assert isinstance(body["data"][f], str), f"{f} not a string"
        text = orig["data"][f]
        if not isinstance(text, str):
            text = json.dumps(text, separators=(",", ":"))
        assert len(body["data"][f]) < len(text), f"{f} flagged but not shorter"
    # what was not cut is as it was
    for k in ("type", "timestamp", "source"):
        assert body[k] == orig[k], f"{k} changed"
    for f, v in orig["data"].items():
        assert f in fields or body["data"][f] == v, f"data.{f} changed but is not flagged"
print(f"{cut} of {len(capped)} resumed bodies were over {cap} bytes and cut")
assert cut > 0, "nothing was over the cap: the test proves nothing"
assert counted == cut, f"status says {counted} recovered bodies cut, {cut} were"
PY
grep -q "resuming $fired events not delivered before the last stop ([1-9][0-9]* bodies cut" \
	"$WORK/collector.log" || e2e_fail "the resume line does not count cut bodies"
e2e_pass "$fired events resumed after SIGKILL, cut to a max_payload_bytes lowered to $CAP as live events are"
