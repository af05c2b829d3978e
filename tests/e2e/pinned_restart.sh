#!/usr/bin/env bash
# Restarts without gaps (pin_dir): the ring buffer, the counters, the
# sequence numbers and the probe links live in bpffs.  While the collector is
# gone (SIGKILL, or a clean SIGTERM stop) the probes stay enabled and the
# kernel records into the pinned ring; the next collector adopts the links
# (no second attachment: every firing is counted once) and delivers what was
# recorded meanwhile, each event once.  A second collector on the same pins
# is refused; a probe disabled at runtime is unpinned (its semaphore drops);
# a pinned map of another shape, or a pin_dir off bpffs, is refused with a
# message naming it.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
mount_bpffs
start_receiver hooks --secret "$SECRET"
endpoint="{\"id\": \"ops\", \"url\": \"http://127.0.0.1:$hooks_PORT/hooks\", \"secret\": \"$SECRET\",
	\"allow_private_networks\": true}"
simple_config "$WORK/config.json" "$endpoint"
start_collector "$WORK/config.json" --pin-dir "$PIN_DIR"
[ -p "$PIN_DIR/events" ] || [ -e "$PIN_DIR/events" ] || e2e_fail "the ring buffer is not pinned"
links=$(ls "$PIN_DIR/links" | wc -l)
[ "$links" -ge 8 ] || e2e_fail "$links pinned links, want one per probe site (>= 8)"

# expect_refused WHAT CONFIG PIN_DIR MESSAGE: a collector started so exits 1
# at once with MESSAGE (a fixed string) in its log
expect_refused() {
	local log="$WORK/refused-$RANDOM.log" status=0
	timeout 20 "$BUILD/probehookd" --config "$2" --pin-dir "$3" --control-socket "$WORK/ctl2.sock" \
		--spool-dir "$WORK/spool2" 2>"$log" || status=$?
	[ "$status" = 1 ] || e2e_fail "$1: exit $status, want 1"
	grep -qF -- "$4" "$log" || e2e_fail "$1: no clear error: $(cat "$log")"
}

# semaphores: "1" for every probe of the agent binary, from its own memory
all_enabled() {
	local line
	line=$("$AGENT" --print-enabled --steps 1)
	! sed 's/"t_ms":[0-9]*,//' <<<"$line" | grep -q ':0'
}

# 1. SIGKILL: the probes stay on and the kernel records into the pinned ring
kill -KILL "$COLLECTOR_PID"
wait "$COLLECTOR_PID" 2>/dev/null || true
mv "$WORK/collector.log" "$WORK/collector-1.log"
all_enabled || e2e_fail "probes went off with the collector: $("$AGENT" -p -n 1)"
run_agent --steps 30
fired=$FIRED
[ "$(count_lines "$WORK/hooks.jsonl")" = 0 ] || e2e_fail "a delivery with no collector running"
start_collector "$WORK/config.json" --pin-dir "$PIN_DIR"
log_has "8 probes kept recording while the collector was away" ||
	e2e_fail "the pinned links were not adopted"
wait_until 20 have_lines "$WORK/hooks.jsonl" "$fired" ||
	e2e_fail "after SIGKILL: $(count_lines "$WORK/hooks.jsonl") of $fired events recorded while down"
e2e_log "SIGKILL: $fired events fired while no collector ran, all delivered after the restart"

# 2. a clean stop (an upgrade, a systemd restart): the same
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"
log_has "pinned probes record on" || e2e_fail "shutdown does not say the probes record on"
mv "$WORK/collector.log" "$WORK/collector-2.log"
run_agent --steps 30
fired=$((fired + FIRED))
start_collector "$WORK/config.json" --pin-dir "$PIN_DIR"
wait_until 20 have_lines "$WORK/hooks.jsonl" "$fired" ||
	e2e_fail "after SIGTERM: $(count_lines "$WORK/hooks.jsonl") of $fired"
[ "$(ls "$PIN_DIR/links" | wc -l)" = "$links" ] || e2e_fail "pinned links changed: $(ls "$PIN_DIR/links")"

# a second collector on the same pinned ring is refused (each would read part of it)
expect_refused "a second collector on the same pin_dir" "$WORK/config.json" "$PIN_DIR" \
	"pin_dir $PIN_DIR: in use by another probehookd"

# every event once, signed, none lost (no gap), and each firing counted once
sleep 0.5
"$BUILD/probehookctl" --json status >"$WORK/status.json" || e2e_fail "probehookctl status failed"
python3 - "$WORK/hooks.jsonl" "$WORK/status.json" "$fired" "$PIN_DIR" <<'PY' || e2e_fail "wrong deliveries"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
status = json.load(open(sys.argv[2]))
fired = int(sys.argv[3])
assert status["pin_dir"] == sys.argv[4], status["pin_dir"]
ids = {r["webhook_id"] for r in got}
assert len(got) == len(ids) == fired, (len(got), len(ids), fired)
assert all(r["signature"] == "valid" for r in got)
assert not [r for r in got if r["body"]["type"] == "probehook.gap"], "a gap was reported"
hits = sum(p["hits"] for p in status["probes"])
drops = sum(p["drops"] for p in status["probes"])
assert hits == fired and drops == 0, f"kernel counted {hits} hits, {drops} drops for {fired} fired"
by_pid = {}
for r in got:
    by_pid.setdefault(r["body"]["source"]["pid"], []).append(r["body"]["source"]["seq"])
for pid, seqs in by_pid.items():  # one agent process per run
    assert sorted(seqs) == list(range(1, len(seqs) + 1)), f"pid {pid}: a gap in 1..{len(seqs)}"
print(f"{fired} fired across two restarts: {len(ids)} delivered once each, {hits} kernel hits")
PY

# 3. disabling a probe at runtime unpins it: its semaphore drops
"$BUILD/probehookctl" disable agent.step.completed >/dev/null || e2e_fail "disable failed"
! ls "$PIN_DIR/links" | grep -q '^agent__step__completed-' ||
	e2e_fail "agent.step.completed is still pinned after disable"
wait_until 5 sh -c "'$AGENT' -p -n 1 | grep -q '\"agent.step.completed\":0'" ||
	e2e_fail "agent.step.completed still enabled: $("$AGENT" -p -n 1)"
stop_collector

# 4. a pinned ring of another size is refused, naming the map
sed 's/"default_agent"/"ring_buffer_bytes": 65536, "default_agent"/' "$WORK/config.json" \
	>"$WORK/config-small.json"
expect_refused "a pinned ring of another size" "$WORK/config-small.json" "$PIN_DIR" \
	"$PIN_DIR/events was pinned by another probehook build or config"
# a pin_dir that is not on a bpf file system is refused, and nothing is made there
expect_refused "a pin_dir off bpffs" "$WORK/config.json" "$WORK/not-bpffs" \
	"pin_dir $WORK/not-bpffs: not on a bpf file system"
[ ! -e "$WORK/not-bpffs" ] || e2e_fail "a pin_dir off bpffs was created"
e2e_pass "restarts with pinning: every event fired while the collector was down delivered once"
