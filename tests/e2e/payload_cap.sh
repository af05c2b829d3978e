#!/usr/bin/env bash
# max_payload_bytes: bodies over the cap arrive cut to at most the cap, still
# valid JSON, signed as sent, with the cut fields listed in flags.truncated
# and agent_id intact; bodies under it arrive unchanged (an uncapped
# endpoint gets the same events for comparison).
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
AGENT_ID=agent-$(printf "x%.0s" $(seq 1 121))
start_receiver capped --secret "$SECRET" --raw-body
start_receiver full --raw-body
simple_config "$WORK/config.json" \
	"{\"id\": \"capped\", \"url\": \"http://127.0.0.1:$capped_PORT/\", \"secret\": \"$SECRET\",
	  \"allow_private_networks\": true, \"max_payload_bytes\": 600}" \
	"{\"id\": \"full\", \"url\": \"http://127.0.0.1:$full_PORT/\", \"secret\": \"$SECRET\",
	  \"allow_private_networks\": true}"
start_collector "$WORK/config.json"
run_agent --steps 6 --agent-id "$AGENT_ID"
fired=$FIRED
for r in capped full; do
	wait_until 20 have_lines "$WORK/$r.jsonl" "$fired" || e2e_fail "$r got $(count_lines "$WORK/$r.jsonl") of $fired"
done
stop_collector
python3 - "$WORK/capped.jsonl" "$WORK/full.jsonl" "$AGENT_ID" <<'PY' || e2e_fail "capped bodies wrong"
import json, sys
capped = {l["webhook_id"]: l for l in map(json.loads, open(sys.argv[1]))}
full = {l["webhook_id"]: l for l in map(json.loads, open(sys.argv[2]))}
agent = sys.argv[3]
cut = 0
assert capped.keys() == full.keys(), "different events"
for wid, c in capped.items():
    raw, whole = c["body_raw"].encode(), full[wid]["body_raw"].encode()
    assert c["signature"] == "valid", c["signature_error"]
    assert c["body_encoding"] == "json", "not JSON"
    body = json.loads(raw)
    assert body["data"]["agent_id"] == agent, "agent_id was cut"
    if len(whole) <= 600:
        assert raw == whole, "a body under the cap was changed"
        continue
    cut += 1
    assert len(raw) <= 600, f"{len(raw)} bytes over the cap"
    fields = body.get("flags", {}).get("truncated", [])
    assert fields, "no flags.truncated on a cut body"
    orig = json.loads(whole)["data"]
    for f in fields:
        assert isinstance(body["data"][f], str), f"{f} not a string"
        text = orig[f] if isinstance(orig[f], str) else json.dumps(orig[f], separators=(",", ":"))
        assert len(body["data"][f]) < len(text), f"{f} flagged but not shorter"
print(f"{cut} of {len(capped)} bodies were over 600 bytes and cut")
assert cut > 0, "nothing was over the cap: the test proves nothing"
PY
log_has "cut to max_payload_bytes [1-9]" || e2e_fail "the report does not count cut bodies"
e2e_pass "bodies over max_payload_bytes cut, flagged, valid and signed; the rest unchanged"
