#!/usr/bin/env bash
# A full disk under the spool: with spool_dir on a 256 KiB tmpfs and the
# receiver down, events pile up in the spool until the disk, not
# spool_max_bytes, fills.  The collector stays up, logs the failed write,
# counts write_errors and in_memory_only, and keeps every event in memory.
# Once the tmpfs grows again and the receiver comes up, every event the agent
# fired arrives exactly once, and new events are written to the spool again.
source "$(dirname "$0")/lib.sh" "$1"
e2e_setup
TINY="$WORK/tiny"
SPOOL="$TINY/spool"
mkdir "$TINY"
# chained to lib.sh's cleanup: a lazy unmount first, so that rm -rf never
# walks into the tmpfs, which goes once the killed collector lets go of it
spool_disk_full_cleanup() {
	mountpoint -q "$TINY" && umount -l "$TINY"
	e2e_cleanup
}
trap spool_disk_full_cleanup EXIT
mount -t tmpfs -o size=256k,mode=0700 tmpfs "$TINY" || e2e_fail "cannot mount a tmpfs on $TINY"

# spool_stat KEY: the collector's status .spool.KEY
spool_stat() {
	"$BUILD/probehookctl" --json status |
		python3 -c 'import json, sys; print(json.load(sys.stdin)["spool"][sys.argv[1]])' "$1" ||
		e2e_fail "probehookctl status failed"
}
# spool_stat_ge KEY N, spool_stat_is KEY N: .spool.KEY >= N, = N (for wait_until)
spool_stat_ge() { [ "$(spool_stat "$1")" -ge "$2" ]; }
spool_stat_is() { [ "$(spool_stat "$1")" = "$2" ]; }
# accepted_is N: N events were written to the spool or held in memory only
accepted_is() { [ $(($(spool_stat appended) + $(spool_stat in_memory_only))) = "$1" ]; }

# run_agent_to LOG [demo agent flags]: like lib.sh's run_agent, into LOG; sets FIRED
run_agent_to() {
	local log=$1; shift
	"$AGENT" --wait-enabled 10 --quiet "$@" 2>"$log" || e2e_fail "demo agent failed"
	FIRED=$(sed -n 's/.*(\([0-9]*\) while enabled).*/\1/p' "$log")
	[ "${FIRED:-0}" -gt 0 ] || e2e_fail "the demo agent fired nothing while enabled"
}

"$BUILD/probehookd" --help | grep -q -- --spool-dir || e2e_fail "probehookd has no --spool-dir"

PORT=$(free_port)
simple_config "$WORK/config.json" "{\"id\": \"ops\", \"url\": \"http://127.0.0.1:$PORT/\",
	\"secret\": \"$SECRET\", \"max_attempts\": 100, \"retry\": {\"schedule_ms\": [0, 500]},
	\"breaker\": {\"cooldown_ms\": 1000}, \"allow_private_networks\": true}"
# a 64 MiB bound: the disk is what fills, not the spool's own limit
python3 - "$WORK/config.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["spool_max_bytes"] = 64 << 20
json.dump(cfg, open(sys.argv[1], "w"), indent=2)
PY
# getopt takes the last --spool-dir: ours, after lib.sh's
start_collector "$WORK/config.json" --spool-dir "$SPOOL"
[ "$(spool_stat max_bytes)" = $((64 << 20)) ] || e2e_fail "spool_max_bytes is not 64 MiB"
[ "$(spool_stat dir)" = "$SPOOL" ] || e2e_fail "the spool is $(spool_stat dir), not on the tmpfs"

# 1. the receiver is down: the spool fills the tmpfs
run_agent_to "$WORK/agent-1.log" --steps 400
fired1=$FIRED
wait_until 10 accepted_is "$fired1" ||
	e2e_fail "of $fired1 events $(spool_stat appended) were spooled, $(spool_stat in_memory_only) held in memory only"
kill -0 "$COLLECTOR_PID" || e2e_fail "the collector died when the disk filled"
grep -qaE "spool $SPOOL: writing [0-9]+\.seg: No space left on device" "$WORK/collector.log" ||
	e2e_fail "no error about the failed spool write in the log"
appended1=$(spool_stat appended)
errors1=$(spool_stat write_errors)
in_memory=$(spool_stat in_memory_only)
[ "$errors1" -gt 0 ] || e2e_fail "spool.write_errors is $errors1 with the disk full"
[ "$in_memory" -gt 0 ] || e2e_fail "spool.in_memory_only is $in_memory with the disk full"
[ "$appended1" -gt 0 ] || e2e_fail "nothing reached the spool before the disk filled"
avail=$(df --output=avail -B1 "$TINY" | tail -n 1 | tr -d ' ')
e2e_log "fired $fired1: $appended1 spooled, $in_memory in memory only, $errors1 failed writes; $avail bytes free on the tmpfs"

# 2. space comes back and the receiver comes up: everything arrives once
mount -o remount,size=64m "$TINY" || e2e_fail "cannot grow the tmpfs"
"$BUILD/probehook-receiver" --listen "127.0.0.1:$PORT" --secret "$SECRET" \
	--out "$WORK/hooks.jsonl" 2>"$WORK/receiver.log" &
PIDS+=($!)
wait_until 20 have_lines "$WORK/hooks.jsonl" "$fired1" ||
	e2e_fail "after the disk had room again: $(count_lines "$WORK/hooks.jsonl") of $fired1 arrived"
wait_until 10 spool_stat_is pending 0 || e2e_fail "spooled events are still pending: $(spool_stat pending)"
errors2=$(spool_stat write_errors)
appended2=$(spool_stat appended)
[ "$appended2" = "$appended1" ] || e2e_fail "appended moved from $appended1 to $appended2 with no new event"

# 3. new events go to the spool again.  Small records may fit in the tmpfs's
# last page while it is full, so one write that succeeds does not end the
# failing episode: the first after 5 s without a failure (EPISODE_SETTLE_MS) does
sleep 5.2
run_agent_to "$WORK/agent-2.log" --steps 20
fired2=$FIRED
total=$((fired1 + fired2))
wait_until 20 have_lines "$WORK/hooks.jsonl" "$total" ||
	e2e_fail "new events: $(count_lines "$WORK/hooks.jsonl") of $total arrived"
wait_until 10 spool_stat_ge appended $((appended2 + fired2)) ||
	e2e_fail "spool.appended is $(spool_stat appended), want $((appended2 + fired2))"
[ "$(spool_stat appended)" = $((appended2 + fired2)) ] || e2e_fail "spool.appended overshot"
[ "$(spool_stat write_errors)" = "$errors2" ] ||
	e2e_fail "write_errors grew from $errors2 to $(spool_stat write_errors) with room on the disk"
[ "$(spool_stat in_memory_only)" = "$in_memory" ] || e2e_fail "in_memory_only grew with room on the disk"
wait_until 10 spool_stat_is pending 0 || e2e_fail "new events are still pending: $(spool_stat pending)"
# one episode, however often the full tmpfs took a small record: one line
# when writing failed, one when it works again, and that is the last word
words=$(grep -aoE "spool $SPOOL: writing (works again|[0-9]+\.seg: No space left on device)" \
	"$WORK/collector.log")
[ "$(grep -c "No space" <<<"$words")/$(grep -c "works again" <<<"$words")" = 1/1 ] ||
	e2e_fail "the spool's words on writing: $words"
case $(tail -n 1 <<<"$words") in *"works again") ;; *) e2e_fail "the spool's last word on writing: $words" ;; esac
grep -qaE "spool $SPOOL: writing works again \(none failed for 5 s\): $errors2 writes failed" \
	"$WORK/collector.log" || e2e_fail "the failed writes are not counted in the 'works again' line"
sleep 0.3
kill -0 "$COLLECTOR_PID" || e2e_fail "the collector died"
stop_collector
[ "$COLLECTOR_STATUS" = 0 ] || e2e_fail "collector exited with $COLLECTOR_STATUS"

# every event fired while enabled, each exactly once, correctly signed
python3 - "$WORK/hooks.jsonl" "$total" <<'PY' || e2e_fail "wrong deliveries"
import collections, json, sys
got = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ids = collections.Counter(r["webhook_id"] for r in got)
dups = [i for i, n in ids.items() if n > 1]
assert not dups, f"{len(dups)} ids delivered more than once, e.g. {dups[:3]}"
assert len(ids) == int(sys.argv[2]), f"{len(ids)} unique ids, want {sys.argv[2]}"
assert all(r["signature"] == "valid" for r in got), "a signature is not valid"
PY
e2e_pass "$fired1 events filled a 256 KiB spool disk ($in_memory held in memory only, $errors1 failed writes), all delivered once; $fired2 more spooled after it grew"
