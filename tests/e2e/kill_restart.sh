#!/usr/bin/env bash
# At-least-once under fire: the demo agent streams ~50,000 events while the
# collector is killed with SIGKILL 5 times at random moments and restarted
# each time (pin_dir on, a small ring so that some records are lost while no
# collector reads it).  The receiver deduplicates on webhook-id; at the end:
#   accepted   = records the kernel put in the ring (probe hits - ring drops),
#                every one of which a collector read and spooled
#   delivered  = distinct webhook-ids received
#   duplicates = requests beyond the first per webhook-id
#   lost       = accepted - delivered, which must be 0
#   kernel drops, which must equal the gaps in the sequence numbers received
# plus the probehook.gap events that reported those drops.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
mount_bpffs
start_receiver hooks --secret "$SECRET"
cat >"$WORK/config.json" <<JSON
{
  "targets": [ {"path": "$AGENT"} ],
  "endpoints": [ {"id": "ops", "url": "http://127.0.0.1:$hooks_PORT/hooks", "secret": "$SECRET",
                  "allow_private_networks": true, "max_attempts": 100,
                  "retry": {"schedule_ms": [0, 200, 500]}} ],
  "default_agent": {"webhook_enabled": true},
  "ring_buffer_bytes": 262144,
  "pin_dir": "$PIN_DIR"
}
JSON
start_collector "$WORK/config.json"

# ~2.77 events per step: 18,050 steps are ~50,000 events, 6,000 a second
"$AGENT" --steps 18050 --rate 6000 --wait-enabled 10 --quiet 2>"$WORK/agent.log" &
agent_pid=$!
PIDS+=("$agent_pid")
# random_ms MIN MAX: a random duration in seconds, for sleep
random_ms() { local ms=$(($1 + RANDOM % ($2 - $1))); printf '%d.%03d' $((ms / 1000)) $((ms % 1000)); }
for i in 1 2 3 4 5; do
	sleep "$(random_ms 400 1200)"
	kill -0 "$agent_pid" 2>/dev/null || e2e_fail "the stream ended before kill $i"
	kill -KILL "$COLLECTOR_PID"
	wait "$COLLECTOR_PID" 2>/dev/null || true
	mv "$WORK/collector.log" "$WORK/collector-$i.log"
	sleep "$(random_ms 50 400)"
	start_collector "$WORK/config.json"
	e2e_log "kill $i: restarted"
done
wait "$agent_pid" || e2e_fail "demo agent failed"
fired=$(sed -n 's/.*(\([0-9]*\) while enabled).*/\1/p' "$WORK/agent.log")
e2e_log "the agent fired $fired events"

# the kernel's counters are pinned: they span every collector
kernel() {
	"$BUILD/probehookctl" --json status | python3 -c '
import json, sys
probes = json.load(sys.stdin)["probes"]
print(sum(p["hits"] for p in probes), sum(p["drops"] for p in probes))'
}
read -r hits drops < <(kernel) || e2e_fail "probehookctl status failed"
accepted=$((hits - drops))
delivered() {
	grep -v '"probehook.gap"' "$WORK/hooks.jsonl" | grep -o '"webhook_id":"msg_[0-9a-f]*"' |
		sort -u | wc -l
}
deadline=$((SECONDS + 120))
while [ "$(delivered)" -lt "$accepted" ] && [ $SECONDS -lt $deadline ]; do sleep 1; done
sleep 1 # a late duplicate or a stray event would arrive now
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"

python3 - "$WORK/hooks.jsonl" "$fired" "$hits" "$drops" <<'PY' || e2e_fail "events were lost"
import collections, json, sys
fired, hits, drops = map(int, sys.argv[2:5])
requests = ids = 0
seen, seqs = set(), collections.defaultdict(set)
gap_events, gap_reported = set(), 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    body, wid = r["body"], r["webhook_id"]
    assert r["signature"] == "valid", wid
    if body["type"] == "probehook.gap":
        if wid not in gap_events:
            gap_events.add(wid)
            gap_reported += body["data"]["lost"]
        continue
    requests += 1
    seen.add(wid)
    seqs[body["source"]["pid"]].add(body["source"]["seq"])
accepted = hits - drops
delivered = len(seen)
gaps = sum(max(s) - len(s) for s in seqs.values())  # numbers 1..max never received
tail = hits - sum(max(s) for s in seqs.values())     # dropped after the last record received
print(f"fired {fired}, kernel hits {hits}; accepted {accepted}, delivered {delivered}, "
      f"duplicates {requests - delivered}, lost {accepted - delivered}; kernel drops {drops}, "
      f"sequence gaps {gaps + tail}; {len(gap_events)} probehook.gap events reported "
      f"{gap_reported} lost records")
problems = []
if hits != fired:
    problems.append(f"the kernel counted {hits} hits for {fired} events fired")
if accepted != delivered:
    problems.append(f"lost {accepted - delivered}")
if len(seqs) != 1:
    problems.append(f"events from {len(seqs)} processes, want 1")
if gaps + tail != drops:
    problems.append(f"sequence gaps {gaps + tail} != kernel drops {drops}")
if gap_reported > drops or (drops and not gap_reported):
    problems.append(f"probehook.gap reported {gap_reported} of {drops} drops")
for p in problems:
    print("kill_restart:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
node "$E2E_DIR/check_schemas.js" "$WORK/hooks.jsonl" "$E2E_DIR/../../docs/schemas" \
	>"$WORK/schemas.log" || e2e_fail "bodies do not match docs/schemas: $(tail -5 "$WORK/schemas.log")"
[ "$drops" = 0 ] || grep -q "probehook.gap: [1-9][0-9]* valid" "$WORK/schemas.log" ||
	e2e_fail "no probehook.gap body checked"
e2e_pass "5 SIGKILLs during a $fired-event stream: nothing accepted was lost"
